// Export and verify, end to end: a replayed flight with China-bound traffic
// is exported to a bundle that `egress verify` calls intact and that the
// standard tools named in the bundle's README (unzip, openssl, sha256sum)
// accept too; then every kind of tampering — a byte altered in each file, a
// log record dropped, two records swapped, the log cut mid-record, another
// key's signature, an extra or missing file — is caught with its own message.

import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { egress } from '../support/cli.js';
import { recordFlight } from './flight.js';

let dataDir: string;
let id: string;
let bundle: string;
let files: Record<string, Uint8Array>;
let pubkey: string;

/** Write a bundle made of `files` with `change` applied; `egress verify` on it. */
function verifyAltered(name: string, change: (f: Record<string, Uint8Array>) => void, extra: string[] = []) {
  const copy: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(files)) copy[k] = new Uint8Array(v);
  change(copy);
  const out = join(dataDir, `${name}.zip`);
  writeFileSync(out, zipSync(copy));
  return egress(['verify', out, ...extra]);
}

function flipByte(b: Uint8Array, at: number): void {
  // A different printable byte, so a text file stays text.
  b[at] = b[at] === 0x41 ? 0x42 : 0x41;
}

function lines(b: Uint8Array): string[] {
  return Buffer.from(b).toString('utf8').split('\n');
}

beforeAll(() => {
  ({ dataDir, id } = recordFlight('Flight with China-bound traffic'));
  bundle = join(dataDir, 'bundle.zip');
  const r = egress(['export', id, '--out', bundle, '--data-dir', dataDir]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^exported .* 10 files, \d+ records, signed by [0-9a-f]{64}\n$/);
  files = unzipSync(readFileSync(bundle));
  const k = egress(['key', 'export', '--data-dir', dataDir]);
  expect(k.code).toBe(0);
  pubkey = join(dataDir, 'gateway.pem');
  writeFileSync(pubkey, k.stdout);
});

describe('an exported flight', () => {
  it('holds the files of the bundle, the China-bound destinations and a chained log', () => {
    expect(Object.keys(files).sort()).toEqual([
      'README.txt',
      'SHA256SUMS',
      'SHA256SUMS.sig',
      'events.ndjson',
      'flagged.pcapng',
      'flows.csv',
      'manifest.json',
      'manifest.sig',
      'public-key.pem',
      'report.html',
    ]);
    const csv = Buffer.from(files['flows.csv']).toString();
    // The Chinese resolver (CN by geo) and the Chinese cloud in Germany (AS registered in CN).
    expect(csv).toMatch(
      /\n\d+,[^\n]*,203\.0\.113\.53,53,UDP,dns,[^\n]*,CN,4134,China Telecom \(test\),CN,high,deny_country deny_as_country deny_asn,/,
    );
    expect(csv).toMatch(/,198\.51\.100\.40,443,[^\n]*,DE,45102,Alibaba \(test\),CN,high,/);
    const m = JSON.parse(Buffer.from(files['manifest.json']).toString());
    expect(m.statement).toMatchObject({ kind: 'egress_observed' });
    expect(m.files.map((f: { name: string }) => f.name)).toContain('flagged.pcapng');
  });

  it('verifies with egress verify: exit 0, records, files and the key fingerprint', () => {
    const fp = egress(['key', 'export', '--data-dir', dataDir]).stderr.match(/[0-9a-f]{64}/)?.[0];
    const records = lines(files['events.ndjson']).filter((l) => l !== '').length;
    const r = egress(['verify', bundle, '--pubkey', pubkey]);
    expect([r.code, r.stdout]).toEqual([0, `intact: ${records} records, 10 files, signed by ${fp}\n`]);
    const own = egress(['verify', bundle]);
    expect(own.code).toBe(0);
    expect(own.stdout).toContain(`signed by ${fp} (the key in the bundle`);
  });

  it('verifies with the standard commands its README documents (unzip, openssl, sha256sum)', () => {
    const dir = join(dataDir, 'unzipped');
    const readme = Buffer.from(files['README.txt']).toString();
    // Run exactly the documented command lines, with bundle.zip standing for our file.
    const documented = readme
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^(unzip -d|openssl pkey|sha256sum -c)/.test(l));
    expect(documented).toHaveLength(5);
    mkdirSync(dir);
    const run = (cmd: string) => spawnSync('sh', ['-c', cmd], { cwd: dir, encoding: 'utf8' });
    const unzip = run(documented[0].replace('unzip -d bundle bundle.zip && cd bundle', `unzip -q -d . ${bundle}`));
    expect(unzip.status, unzip.stderr).toBe(0);
    const fingerprint = run(documented[1]);
    expect(fingerprint.stdout.split(' ')[0]).toBe(
      JSON.parse(Buffer.from(files['manifest.json']).toString()).key_fingerprint,
    );
    for (const cmd of documented.slice(2, 4)) {
      const r = run(cmd);
      expect([r.status, r.stdout.trim()], cmd).toEqual([0, 'Signature Verified Successfully']);
    }
    const sums = run(documented[4]);
    expect(sums.status, sums.stderr).toBe(0);
    expect(sums.stdout.trim().split('\n')).toHaveLength(7);
    expect(sums.stdout).not.toMatch(/FAILED/);
    // And the standard tools catch an altered file too.
    const report = join(dir, 'report.html');
    writeFileSync(report, readFileSync(report, 'utf8').replace('HOOG', 'HOOF'));
    const bad = run(documented[4]);
    expect([bad.status, bad.stdout]).toEqual([1, expect.stringContaining('report.html: FAILED')]);
    // The chained log's first link, by hand, as the README shows.
    const ev = lines(files['events.ndjson']);
    const link = execFileSync('sh', ['-c', `sed -n "1p" events.ndjson | tr -d '\\n' | sha256sum`], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(link.split(' ')[0]).toBe(JSON.parse(ev[1]).prev);
  });
});

describe('egress verify catches every tampering', () => {
  it.each([
    ['report.html', 'altered: report.html (sha256 differs from the manifest)'],
    ['flows.csv', 'altered: flows.csv (sha256 differs from the manifest)'],
    ['flagged.pcapng', 'altered: flagged.pcapng (sha256 differs from the manifest)'],
    ['README.txt', 'altered: README.txt (sha256 differs from the manifest)'],
    ['public-key.pem', 'altered: public-key.pem'],
    ['events.ndjson', 'altered: events.ndjson (sha256 differs from the manifest)'],
    ['manifest.json', 'manifest.sig: the signature does not verify with key'],
    ['manifest.sig', 'manifest.sig: the signature does not verify with key'],
    ['SHA256SUMS', 'altered: SHA256SUMS or SHA256SUMS.sig (the signature does not verify with key'],
    ['SHA256SUMS.sig', 'altered: SHA256SUMS or SHA256SUMS.sig (the signature does not verify with key'],
  ])('one byte altered in %s', (name, message) => {
    const r = verifyAltered(`byte-${name}`, (f) => flipByte(f[name], Math.floor(f[name].length / 2)));
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).toContain(message);
    expect(r.stderr).toMatch(/EGRESS_BUNDLE_TAMPERED of .*: \d+ problems?\n$/);
  });

  it('one byte altered in a log record: the record is named', () => {
    const ev = lines(files['events.ndjson']);
    const r = verifyAltered('byte-record', (f) => {
      const l = lines(f['events.ndjson']);
      l[5] = l[5].replace('"verdict":"high"', '"verdict":"higi"').replace('"severity":"high"', '"severity":"higi"');
      f['events.ndjson'] = Buffer.from(l.join('\n'));
    });
    expect(ev[5]).toMatch(/"(verdict|severity)":"high"/);
    expect(r.stdout).toContain('events.ndjson: record 5 was altered: record 6 does not chain to it');
  });

  it('a record dropped', () => {
    const r = verifyAltered('dropped', (f) => {
      const l = lines(f['events.ndjson']);
      l.splice(7, 1);
      f['events.ndjson'] = Buffer.from(l.join('\n'));
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'events.ndjson: record at line 8 has seq 8, expected 7: a record is missing or out of order',
    );
  });

  it('two records swapped', () => {
    const r = verifyAltered('reordered', (f) => {
      const l = lines(f['events.ndjson']);
      [l[9], l[10]] = [l[10], l[9]];
      f['events.ndjson'] = Buffer.from(l.join('\n'));
    });
    expect(r.stdout).toContain(
      'events.ndjson: record at line 10 has seq 10, expected 9: a record is missing or out of order',
    );
  });

  it('the log cut mid-record', () => {
    const ev = Buffer.from(files['events.ndjson']);
    const lastStart = ev.lastIndexOf(0x0a, ev.length - 2) + 1;
    const cut = lastStart + 20;
    const n = lines(files['events.ndjson']).filter((l) => l !== '').length;
    const r = verifyAltered('truncated', (f) => {
      f['events.ndjson'] = f['events.ndjson'].subarray(0, cut);
    });
    expect(r.stdout).toContain(`events.ndjson: truncated mid-record at byte ${lastStart}, after record ${n - 2}`);
    expect(r.stdout).toContain('altered: events.ndjson (size');
  });

  it("another key's signature swapped in", () => {
    const other = generateKeyPairSync('ed25519');
    const r = verifyAltered('other-key', (f) => {
      f['manifest.sig'] = sign(null, f['manifest.json'], other.privateKey);
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /manifest\.sig: the signature does not verify with key [0-9a-f]{64} \(manifest\.json altered, or another key signed it\)/,
    );
  });

  it('everything re-signed with another key: caught when the gateway key is given', () => {
    const other = generateKeyPairSync('ed25519');
    const pem = other.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const r = verifyAltered(
      'resigned',
      (f) => {
        f['public-key.pem'] = Buffer.from(pem);
        f['manifest.sig'] = sign(null, f['manifest.json'], other.privateKey);
        f['SHA256SUMS.sig'] = sign(null, f.SHA256SUMS, other.privateKey);
      },
      ['--pubkey', pubkey],
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('manifest.sig: the signature does not verify with key');
    expect(r.stdout).toContain('altered: public-key.pem (sha256 differs from the manifest)');
  });

  it('an extra file, and a missing one', () => {
    const extra = verifyAltered('extra', (f) => {
      f['notes.txt'] = Buffer.from('added later\n');
    });
    expect([extra.code, extra.stdout]).toEqual([1, 'extra: notes.txt (not in the manifest)\n']);
    const missing = verifyAltered('missing', (f) => {
      delete f['flows.csv'];
    });
    expect([missing.code, missing.stdout]).toEqual([1, 'missing: flows.csv\n']);
  });

  it('not a bundle: exit 2', () => {
    const notZip = join(dataDir, 'not-a-zip.zip');
    writeFileSync(notZip, 'hello\n');
    const a = egress(['verify', notZip]);
    expect([a.code, a.stderr]).toEqual([
      2,
      expect.stringMatching(/^egress: EGRESS_BUNDLE_INVALID of .*: not a bundle: not a zip file/),
    ]);
    const noManifest = join(dataDir, 'no-manifest.zip');
    writeFileSync(noManifest, zipSync({ 'report.html': Buffer.from('<p>hi</p>') }));
    const b = egress(['verify', noManifest]);
    expect([b.code, b.stderr]).toEqual([2, expect.stringContaining('not a bundle: no manifest.json in the zip')]);
  });

  it('export refuses an unknown session and usage errors', () => {
    const a = egress(['export', 'nope', '--out', join(dataDir, 'x.zip'), '--data-dir', dataDir]);
    expect([a.code, a.stderr]).toEqual([1, expect.stringContaining('EGRESS_SESSION_UNKNOWN')]);
    const b = egress(['export', id, '--data-dir', dataDir]);
    expect([b.code, b.stderr]).toEqual([2, expect.stringContaining('EGRESS_USAGE')]);
  });
});
