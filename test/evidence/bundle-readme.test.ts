// README.txt of an evidence bundle (agent/src/evidence/bundle-readme.ts) does
// what it says: the bundle of a real recorded flight, unzipped, checked by
// running the README's own "standard tools" commands (OpenSSL 3, sha256sum)
// as written; the fingerprint it prints is the key's, and each command
// succeeds on the intact bundle and fails on an altered one.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { afterEach, describe, expect, it } from 'vitest';
import { bundleReadme } from '../../agent/src/evidence/bundle-readme.js';
import { exportSessionBytes } from '../../agent/src/evidence/export.js';
import { loadOrCreateKey } from '../../agent/src/evidence/keys.js';
import { endSession, type RecorderContext, startSession } from '../../agent/src/evidence/session-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'egress-readme-'));
  dirs.push(d);
  return d;
}

/** A closed, exported flight unzipped into a folder: its path, id and key fingerprint. */
function bundle(): { dir: string; id: string; fingerprint: string; readme: string } {
  const data = tempDir();
  const key = loadOrCreateKey(data);
  let now = Date.parse('2026-05-01T10:00:00Z') * 1000;
  const ctx: RecorderContext = {
    gateway: 'gw-r',
    version: '1.0.0-test',
    policy: { source: 'policy.yaml', sha256: '0'.repeat(64) },
    databases: {},
    key,
    clock: () => ({ synchronized: true, source: 'test' }),
    now: () => {
      now += 1_000_000;
      return now;
    },
  };
  const s = startSession(data, ctx, 'Readme flight');
  const meta = endSession(s, ctx, {});
  const dir = join(data, 'bundle');
  mkdirSync(dir);
  for (const [n, b] of Object.entries(unzipSync(exportSessionBytes(data, meta.id)))) writeFileSync(join(dir, n), b);
  const readme = readFileSync(join(dir, 'README.txt'), 'utf8');
  return { dir, id: meta.id, fingerprint: key.fingerprint, readme };
}

/** The README's numbered standard-tool commands (steps 1 to 3), as written. */
function steps(readme: string): string[] {
  const part = readme.slice(readme.indexOf('CHECKING WITH STANDARD TOOLS'), readme.indexOf('# 4.'));
  return part
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('openssl ') || l.startsWith('sha256sum '));
}

const run = (dir: string, cmd: string) =>
  spawnSync('bash', ['-o', 'pipefail', '-c', cmd], { cwd: dir, encoding: 'utf8', timeout: 20_000 });

describe('bundle README.txt', () => {
  it('is the one in the bundle, names the session and the key fingerprint', () => {
    const b = bundle();
    expect(b.readme).toBe(bundleReadme(b.id, b.fingerprint));
    expect(b.readme.split('\n')[0]).toBe(`Egress Sentinel evidence bundle — session ${b.id}`);
    expect(b.readme).toContain(`fingerprint\n  ${b.fingerprint}\n`);
    expect(b.readme).toContain('CONTROLE (NEDERLANDS)');
  });

  it('its standard-tool commands, run as written, confirm an intact bundle and refuse an altered one', () => {
    const b = bundle();
    const cmds = steps(b.readme);
    expect(cmds).toHaveLength(4);
    // 1. the key's fingerprint, as sha256sum prints it
    expect(run(b.dir, cmds[0]).stdout).toBe(`${b.fingerprint}  -\n`);
    // 2. both signatures
    for (const c of cmds.slice(1, 3)) {
      const r = run(b.dir, c);
      expect([r.status, r.stdout.trim()]).toEqual([0, 'Signature Verified Successfully']);
    }
    // 3. every file OK
    const sums = run(b.dir, cmds[3]);
    expect(sums.status).toBe(0);
    expect(
      sums.stdout
        .trim()
        .split('\n')
        .every((l) => l.endsWith(': OK')),
    ).toBe(true);
    // Altered: flows.csv changed, then manifest.json — the check that covers each fails.
    writeFileSync(join(b.dir, 'flows.csv'), 'changed\r\n');
    expect(run(b.dir, cmds[3]).status).not.toBe(0);
    writeFileSync(join(b.dir, 'manifest.json'), '{}\n');
    expect(run(b.dir, cmds[1]).status).not.toBe(0);
  });
});
