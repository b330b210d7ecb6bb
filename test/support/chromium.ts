// Headless Chromium (the Debian package) as a live client in a network
// namespace: a fresh profile, no name resolution of its own, the test's
// self-signed certificate accepted by its key hash.

import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runInNs } from './netns.js';

/** Headless, no sandbox (root), nothing fetched or synced on its own. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Run Chromium once on a local file (--dump-dom, --screenshot, --print-to-pdf …) with a fresh profile under `dir`; its stdout. */
export function chromiumOnFile(dir: string, args: string[]): string {
  const profile = mkdtempSync(join(dir, 'chromium-'));
  const r = spawnSync('timeout', ['60', 'chromium', ...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

/** Load https://NAME/ (NAME mapped to `addr`) in namespace `ns`, a profile under `dir`; returns the DOM. */
export async function runChromium(
  started: ChildProcess[],
  ns: string,
  dir: string,
  target: { addr: string; name: string; spki: string },
  extra: string[],
): Promise<string> {
  const home = mkdtempSync(join(dir, 'chromium-'));
  const flags = [
    ...CHROMIUM_FLAGS,
    `--user-data-dir=${join(home, 'profile')}`,
    // Chromium resolves nothing itself: no DNS packet, no other destination.
    `--host-resolver-rules=MAP ${target.name} ${target.addr}, MAP * ~NOTFOUND`,
    `--ignore-certificate-errors-spki-list=${target.spki}`,
    ...extra,
    '--dump-dom',
    `https://${target.name}/`,
  ];
  const r = await runInNs(started, ns, 'timeout', ['45', 'chromium', ...flags], 60_000, { HOME: home });
  expect(r.code, r.output).toBe(0);
  return r.output;
}
