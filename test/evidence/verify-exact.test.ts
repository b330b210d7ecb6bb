// `egress verify`'s checks one by one, in process (agent/src/evidence/verify.ts):
// a real flight recorded with the session store and exported as a signed
// bundle, then each way a bundle can be wrong — not a zip, no manifest,
// another format, a file altered (same size or not), missing or added, the
// sums or a signature changed, another key, the log cut or re-signed by
// another key — gives its exact status and lines. Where a case must get past
// the signatures to reach a later check, the test re-signs the bundle with the
// gateway's own key, as an insider with the key could.

import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import { afterEach, describe, expect, it } from 'vitest';
import { checkChain, sha256Hex } from '../../agent/src/evidence/chain.js';
import { exportSessionBytes } from '../../agent/src/evidence/export.js';
import { fingerprintOf, loadOrCreateKey, type SigningKey, signBytes } from '../../agent/src/evidence/keys.js';
import { endSession, type RecorderContext, startSession } from '../../agent/src/evidence/session-store.js';
import { verifyBundle } from '../../agent/src/evidence/verify.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A closed flight with a few records, exported: the bundle's files and the gateway's key. */
function flight(): { files: Record<string, Buffer>; key: SigningKey } {
  const dataDir = mkdtempSync(join(tmpdir(), 'egress-verify-'));
  dirs.push(dataDir);
  const key = loadOrCreateKey(dataDir);
  let now = Date.parse('2026-05-01T10:00:00Z') * 1000;
  const ctx: RecorderContext = {
    gateway: 'gw-v',
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
  const s = startSession(dataDir, ctx, 'Verify flight', { unit: 'U1' });
  s.log.append('note', JSON.stringify({ text: 'one' }));
  s.log.checkpoint();
  const meta = endSession(s, ctx, {});
  const zip = unzipSync(exportSessionBytes(dataDir, meta.id));
  const files = Object.fromEntries(Object.entries(zip).map(([n, b]) => [n, Buffer.from(b)]));
  return { files, key };
}

const zip = (files: Record<string, Buffer | Uint8Array>) => Buffer.from(zipSync(files));

/** The manifest and sums made again for `files` and signed with `key` (an insider's forgery). */
function resign(files: Record<string, Buffer>, key: SigningKey): Record<string, Buffer> {
  const manifest = JSON.parse(files['manifest.json'].toString()) as {
    key_fingerprint: string;
    files: { name: string; size: number; sha256: string }[];
  };
  manifest.key_fingerprint = key.fingerprint;
  manifest.files = manifest.files.map((f) => ({
    name: f.name,
    size: files[f.name].length,
    sha256: sha256Hex(files[f.name]),
  }));
  const m = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  const listed = manifest.files.map((f) => f.name);
  const sums = Buffer.from(
    `${[...listed.map((n) => `${sha256Hex(files[n])}  ${n}`), `${sha256Hex(m)}  manifest.json`].join('\n')}\n`,
  );
  return {
    ...files,
    'manifest.json': m,
    'manifest.sig': signBytes(key, m),
    SHA256SUMS: sums,
    'SHA256SUMS.sig': signBytes(key, sums),
  };
}

function otherKey(): SigningKey {
  const dir = mkdtempSync(join(tmpdir(), 'egress-verify-other-'));
  dirs.push(dir);
  return loadOrCreateKey(dir);
}

const without = (files: Record<string, Buffer>, ...names: string[]) =>
  Object.fromEntries(Object.entries(files).filter(([n]) => !names.includes(n)));

function flip(b: Buffer, at = Math.floor(b.length / 2)): Buffer {
  const c = Buffer.from(b);
  c[at] ^= 0x01;
  return c;
}

describe('verify: an intact bundle', () => {
  it('says intact, with the record count, the file count and the fingerprint', () => {
    const { files, key } = flight();
    const r = verifyBundle(zip(files));
    const records = files['events.ndjson'].toString().trim().split('\n').length;
    expect(r).toEqual({
      status: 0,
      lines: [`intact: ${records} records, 10 files, signed by ${key.fingerprint}`],
      fingerprint: key.fingerprint,
      records,
    });
    expect(verifyBundle(zip(files), key.publicKey).status).toBe(0);
    // A directory entry is not an extra file.
    expect(verifyBundle(zip({ ...files, 'extra/': new Uint8Array() })).status).toBe(0);
  });
});

describe('verify: not a bundle (status 2)', () => {
  it.each([
    ['bytes that are not a zip', () => Buffer.from('PK\x03\x04 not really'), /^not a bundle: not a zip file \(.+\)$/],
    [
      'a zip without manifest.json',
      (f: Record<string, Buffer>) => zip(without(f, 'manifest.json')),
      /^not a bundle: no manifest\.json in the zip$/,
    ],
    [
      'a zip with neither manifest.sig nor events.ndjson',
      (f: Record<string, Buffer>) => zip(without(f, 'manifest.sig', 'events.ndjson')),
      /^not a bundle: no manifest\.sig in the zip$/,
    ],
    [
      'a manifest of another format',
      (f: Record<string, Buffer>) =>
        zip({ ...f, 'manifest.json': Buffer.from(JSON.stringify({ format: 'other/1', files: [] })) }),
      /^not a bundle: manifest\.json is not a egress-evidence-bundle\/1 manifest$/,
    ],
  ])('%s', (_what, make, line) => {
    const { files } = flight();
    const r = verifyBundle(make(files));
    expect(r.status).toBe(2);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(line);
    expect([r.fingerprint, r.records]).toEqual([null, 0]);
  });
});

describe('verify: a damaged or forged bundle (status 1), each problem on its line', () => {
  it('names a file altered without a change of size, one with, one missing and one added', () => {
    const { files, key } = flight();
    const csvSize = files['flows.csv'].length;
    const r = verifyBundle(
      zip({
        ...without(files, 'README.txt'),
        'report.html': flip(files['report.html']),
        'flows.csv': Buffer.concat([files['flows.csv'], Buffer.from('x')]),
        'notes.txt': Buffer.from('added'),
      }),
    );
    expect(r.status).toBe(1);
    expect(r.fingerprint).toBe(key.fingerprint);
    expect(r.lines).toEqual([
      'altered: report.html (sha256 differs from the manifest)',
      `altered: flows.csv (size ${csvSize + 1}, manifest says ${csvSize})`,
      'missing: README.txt',
      'extra: notes.txt (not in the manifest)',
    ]);
  });

  it.each([
    [
      'manifest.json changed',
      (f: Record<string, Buffer>) => ({
        ...f,
        'manifest.json': Buffer.from(f['manifest.json'].toString().replace('Verify flight', 'Verify fliGht')),
      }),
      (fp: string) => [
        `manifest.sig: the signature does not verify with key ${fp} (manifest.json altered, or another key signed it)`,
      ],
    ],
    [
      'manifest.sig missing',
      (f: Record<string, Buffer>) => without(f, 'manifest.sig'),
      () => ['missing: manifest.sig'],
    ],
    ['SHA256SUMS missing', (f: Record<string, Buffer>) => without(f, 'SHA256SUMS'), () => ['missing: SHA256SUMS']],
    [
      'SHA256SUMS.sig missing',
      (f: Record<string, Buffer>) => without(f, 'SHA256SUMS.sig'),
      () => ['missing: SHA256SUMS.sig'],
    ],
    [
      'SHA256SUMS changed',
      (f: Record<string, Buffer>) => ({ ...f, SHA256SUMS: flip(f.SHA256SUMS, 0) }),
      (fp: string) => [`altered: SHA256SUMS or SHA256SUMS.sig (the signature does not verify with key ${fp})`],
    ],
    [
      'SHA256SUMS.sig changed',
      (f: Record<string, Buffer>) => ({ ...f, 'SHA256SUMS.sig': flip(f['SHA256SUMS.sig'], 3) }),
      (fp: string) => [`altered: SHA256SUMS or SHA256SUMS.sig (the signature does not verify with key ${fp})`],
    ],
  ])('%s', (_what, make, want) => {
    const { files, key } = flight();
    const r = verifyBundle(zip(make(files)));
    expect(r.status).toBe(1);
    expect(r.lines).toEqual(want(key.fingerprint));
  });

  it('refuses a manifest that is not JSON, and a public key that is not one', () => {
    const { files } = flight();
    const r = verifyBundle(
      zip({ ...files, 'manifest.json': Buffer.from('{not json'), 'public-key.pem': Buffer.from('junk') }),
    );
    expect(r.status).toBe(1);
    expect(r.fingerprint).toBeNull();
    expect(r.lines).toEqual([
      'altered: manifest.json (not valid JSON)',
      'altered: public-key.pem (not an Ed25519 public key)',
      // Nothing is listed by a manifest that cannot be read: every file is extra.
      ...['README.txt', 'events.ndjson', 'flagged.pcapng', 'flows.csv', 'public-key.pem', 'report.html'].map(
        (n) => `extra: ${n} (not in the manifest)`,
      ),
    ]);
    const noPem = verifyBundle(zip(without(files, 'public-key.pem')));
    expect(noPem.lines).toContain('altered: public-key.pem (not an Ed25519 public key)');
  });

  it('a bundle re-signed by another key: its own public key says so; the gateway key given (--pubkey) says more', () => {
    const { files, key } = flight();
    const other = otherKey();
    const forged = resign({ ...files, 'public-key.pem': Buffer.from(other.publicPem) }, other);
    // With the bundle's own (other) key the signatures verify, but the log's checkpoints were signed by the gateway.
    const own = verifyBundle(zip(forged));
    expect(own.status).toBe(1);
    expect(own.fingerprint).toBe(other.fingerprint);
    expect(own.lines).toHaveLength(1);
    expect(own.lines[0]).toMatch(/^events\.ndjson: /);
    // The gateway's key given: the manifest names another key and its signatures fail (the log, signed by
    // the gateway, still verifies).
    const given = verifyBundle(zip(forged), key.publicKey);
    expect(given.fingerprint).toBe(key.fingerprint);
    expect(given.lines).toEqual([
      `manifest.json names key ${other.fingerprint}, but the key used is ${key.fingerprint}`,
      `manifest.sig: the signature does not verify with key ${key.fingerprint} (manifest.json altered, or another key signed it)`,
      `altered: SHA256SUMS or SHA256SUMS.sig (the signature does not verify with key ${key.fingerprint})`,
    ]);
  });

  it('a log cut before the session end, re-signed by the gateway key: cut off', () => {
    const { files, key } = flight();
    const lines = files['events.ndjson'].toString().trimEnd().split('\n');
    const end = lines.findIndex((l) => l.includes('"session_end"'));
    expect(end).toBeGreaterThan(0);
    const cut = Buffer.from(`${lines.slice(0, end).join('\n')}\n`);
    const r = verifyBundle(zip(resign({ ...files, 'events.ndjson': cut }, key)));
    expect(r.status).toBe(1);
    expect(r.records).toBe(end);
    expect(r.lines).toEqual([
      `events.ndjson: ends after record ${end - 1} without the session's end: records were cut off`,
    ]);
  });

  it('a log whose last records no signed checkpoint covers, re-signed by the gateway key', () => {
    const { files, key } = flight();
    const lines = files['events.ndjson'].toString().trimEnd().split('\n');
    const last = lines.length - 1;
    expect(lines[last]).toContain('"checkpoint"');
    const r = verifyBundle(
      zip(resign({ ...files, 'events.ndjson': Buffer.from(`${lines.slice(0, last).join('\n')}\n`) }, key)),
    );
    expect(r.status).toBe(1);
    expect(r.records).toBe(last);
    const signed = checkChain(Buffer.from(`${lines.slice(0, last).join('\n')}\n`), key.publicKey).signedUpTo;
    expect(signed).toBeLessThan(last - 1);
    expect(r.lines).toEqual([
      `events.ndjson: records ${signed + 1}–${last - 1} are not covered by a signed checkpoint`,
    ]);
  });

  it('a record changed in the log, re-signed by the gateway key: the chain names it', () => {
    const { files, key } = flight();
    const text = files['events.ndjson'].toString().replace('"one"', '"two"');
    const r = verifyBundle(zip(resign({ ...files, 'events.ndjson': Buffer.from(text) }, key)));
    expect(r.status).toBe(1);
    const error = checkChain(Buffer.from(text), key.publicKey).error;
    expect(error).not.toBeNull();
    expect(r.lines).toEqual([`events.ndjson: ${error}`]);
  });

  it('a key given that is not the gateway key: every signature fails', () => {
    const { files } = flight();
    const { publicKey } = generateKeyPairSync('ed25519');
    const r = verifyBundle(zip(files), publicKey);
    expect(r.fingerprint).toBe(fingerprintOf(publicKey));
    expect(r.status).toBe(1);
    expect(r.lines[0]).toMatch(/^manifest\.json names key [0-9a-f]{64}, but the key used is [0-9a-f]{64}$/);
  });
});

describe('verify: the checks that need a forged manifest or a partial bundle', () => {
  it('a manifest that gives a file the wrong size but the right hash, re-signed: altered, by size', () => {
    const { files, key } = flight();
    const forged = resign(files, key);
    const manifest = JSON.parse(forged['manifest.json'].toString()) as { files: { name: string; size: number }[] };
    const csv = manifest.files.find((f) => f.name === 'flows.csv');
    if (csv === undefined) throw new Error('no flows.csv in the manifest');
    const size = csv.size;
    csv.size += 1;
    const m = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
    const sums = Buffer.from(
      forged.SHA256SUMS.toString().replace(/^[0-9a-f]{64} {2}manifest\.json$/m, `${sha256Hex(m)}  manifest.json`),
    );
    const r = verifyBundle(
      zip({
        ...forged,
        'manifest.json': m,
        'manifest.sig': signBytes(key, m),
        SHA256SUMS: sums,
        'SHA256SUMS.sig': signBytes(key, sums),
      }),
    );
    expect(r.lines).toEqual([`altered: flows.csv (size ${size}, manifest says ${size + 1})`]);
  });

  it('a bundle with manifest.sig but no events.ndjson is a bundle with a file missing', () => {
    const { files } = flight();
    const r = verifyBundle(zip(without(files, 'events.ndjson')));
    expect([r.status, r.lines, r.records]).toEqual([1, ['missing: events.ndjson'], 0]);
    // events.ndjson but no manifest.sig: a bundle too (the signature is missing).
    const s = verifyBundle(zip(without(files, 'manifest.sig')));
    expect([s.status, s.lines]).toEqual([1, ['missing: manifest.sig']]);
  });

  it('a public key that is not one, with a readable manifest: no key to compare, the file altered', () => {
    const { files } = flight();
    const size = files['public-key.pem'].length;
    const r = verifyBundle(zip({ ...files, 'public-key.pem': Buffer.from('junk') }));
    expect([r.status, r.fingerprint, r.records]).toEqual([1, null, 0]);
    expect(r.lines).toEqual([
      'altered: public-key.pem (not an Ed25519 public key)',
      `altered: public-key.pem (size 4, manifest says ${size})`,
    ]);
  });
});
