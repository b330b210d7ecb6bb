// `egress verify bundle.zip [--pubkey FILE]`: is this bundle what the gateway
// signed? Checks, in order: the manifest's Ed25519 signature (with --pubkey,
// else the bundle's public-key.pem, whose fingerprint must be the manifest's),
// every listed file's size and SHA-256, files missing or extra, SHA256SUMS
// and its signature, and the chained log record by record (chain.ts), which
// must end in a signed checkpoint after the session's end.
//   exit 0  intact: N records, M files, signed by <fingerprint>
//   exit 1  one line per problem (altered / missing / extra file, first broken record)
//   exit 2  not a bundle

import type { KeyObject } from 'node:crypto';
import { unzipSync } from 'fflate';
import { checkChain, sha256Hex } from './chain.js';
import { BUNDLE_FORMAT, SIGNATURE_FILES } from './export.js';
import { fingerprintOf, parsePublicKey, verifyBytes } from './keys.js';

export interface VerifyResult {
  status: 0 | 1 | 2;
  lines: string[];
  fingerprint: string | null;
  records: number;
}

interface ManifestFile {
  name: string;
  size: number;
  sha256: string;
}

export function verifyBundle(zip: Buffer, pubkey?: KeyObject): VerifyResult {
  const notBundle = (why: string): VerifyResult => ({
    status: 2,
    lines: [`not a bundle: ${why}`],
    fingerprint: null,
    records: 0,
  });
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip);
  } catch (err) {
    return notBundle(`not a zip file (${(err as Error).message})`);
  }
  const get = (n: string): Buffer | undefined => (files[n] === undefined ? undefined : Buffer.from(files[n]));
  const manifestBytes = get('manifest.json');
  if (manifestBytes === undefined) return notBundle('no manifest.json in the zip');
  if (get('manifest.sig') === undefined && get('events.ndjson') === undefined)
    return notBundle('no manifest.sig in the zip');
  const problems: string[] = [];
  let manifest: { format?: string; key_fingerprint?: string; files?: ManifestFile[] } | null = null;
  try {
    manifest = JSON.parse(manifestBytes.toString('utf8'));
  } catch {
    problems.push('altered: manifest.json (not valid JSON)');
  }
  if (manifest !== null && manifest.format !== BUNDLE_FORMAT)
    return notBundle(`manifest.json is not a ${BUNDLE_FORMAT} manifest`);

  // The key: given, or the bundle's own (then only as good as the fingerprint a person compares).
  let key = pubkey ?? null;
  if (key === null) {
    const pem = get('public-key.pem');
    key = pem === undefined ? null : parsePublicKey(pem);
    if (key === null) problems.push('altered: public-key.pem (not an Ed25519 public key)');
  }
  const fp = key === null ? null : fingerprintOf(key);
  if (manifest?.key_fingerprint !== undefined && fp !== null && manifest.key_fingerprint !== fp)
    problems.push(`manifest.json names key ${manifest.key_fingerprint}, but the key used is ${fp}`);

  const sig = get('manifest.sig');
  if (sig === undefined) problems.push('missing: manifest.sig');
  else if (key !== null && !verifyBytes(key, manifestBytes, sig))
    problems.push(
      `manifest.sig: the signature does not verify with key ${fp} (manifest.json altered, or another key signed it)`,
    );

  const listed = new Set<string>(SIGNATURE_FILES);
  for (const f of manifest?.files ?? []) {
    listed.add(f.name);
    const b = get(f.name);
    if (b === undefined) problems.push(`missing: ${f.name}`);
    else if (b.length !== f.size || sha256Hex(b) !== f.sha256)
      problems.push(
        `altered: ${f.name} (${b.length !== f.size ? `size ${b.length}, manifest says ${f.size}` : 'sha256 differs from the manifest'})`,
      );
  }
  for (const name of Object.keys(files).sort())
    if (!listed.has(name) && !name.endsWith('/')) problems.push(`extra: ${name} (not in the manifest)`);

  const sums = get('SHA256SUMS');
  const sumsSig = get('SHA256SUMS.sig');
  if (sums === undefined) problems.push('missing: SHA256SUMS');
  else if (sumsSig === undefined) problems.push('missing: SHA256SUMS.sig');
  else if (key !== null && !verifyBytes(key, sums, sumsSig))
    problems.push(`altered: SHA256SUMS or SHA256SUMS.sig (the signature does not verify with key ${fp})`);

  let records = 0;
  const events = get('events.ndjson');
  if (events !== undefined && key !== null) {
    const c = checkChain(events, key);
    records = c.records.length;
    if (c.error !== null) problems.push(`events.ndjson: ${c.error}`);
    else if (!c.records.some((r) => r.type === 'session_end'))
      problems.push(`events.ndjson: ends after record ${records - 1} without the session's end: records were cut off`);
    else if (c.signedUpTo !== records - 1)
      problems.push(`events.ndjson: records ${c.signedUpTo + 1}–${records - 1} are not covered by a signed checkpoint`);
  }
  if (problems.length > 0) return { status: 1, lines: problems, fingerprint: fp, records };
  return {
    status: 0,
    lines: [`intact: ${records} records, ${Object.keys(files).length} files, signed by ${fp}`],
    fingerprint: fp,
    records,
  };
}
