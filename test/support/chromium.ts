// Headless Chromium (the Debian package) as a live client in a network
// namespace: a fresh profile, no name resolution of its own, the test's
// self-signed certificate accepted by its key hash.

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runInNs } from './netns.js';

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
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
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
