// The self-test's evidence key check on a real data directory: missing (the
// agent makes it on first start) is a warning, a good 0600 key passes with
// the fingerprint bundles are signed by, a key others can read or a damaged
// key fails.

import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keyDir, loadOrCreateKey, PRIVATE_KEY_FILE } from '../../agent/src/evidence/keys.js';
import { evidenceKeyCheck } from '../../agent/src/selftest/evidence.js';

const dir = mkdtempSync(join(tmpdir(), 'egress-selftest-key-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('selftest: evidence key', () => {
  it('warns when there is no key yet, passes with the fingerprint once made, fails when exposed or damaged', () => {
    const missing = evidenceKeyCheck(dir);
    expect(missing).toMatchObject({ id: 'evidence_key', status: 'warn', facts: { present: false } });
    expect(missing.fix).toMatch(/egress run/);

    const key = loadOrCreateKey(dir);
    expect(evidenceKeyCheck(dir)).toMatchObject({
      status: 'pass',
      fix: null,
      facts: { present: true, fingerprint: key.fingerprint },
    });

    const file = join(keyDir(dir), PRIVATE_KEY_FILE);
    chmodSync(file, 0o644);
    const exposed = evidenceKeyCheck(dir);
    expect(exposed).toMatchObject({ status: 'fail', facts: { mode: '644' } });
    expect(exposed.fix).toBe(`chmod 600 ${file}`);

    chmodSync(file, 0o600);
    writeFileSync(file, '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n');
    const damaged = evidenceKeyCheck(dir);
    expect(damaged.status).toBe('fail');
    expect(damaged.summary).toMatch(/is not an Ed25519 private key/);
  });
});
