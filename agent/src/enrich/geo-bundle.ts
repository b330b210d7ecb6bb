// A geo data bundle: one file that carries a geo.bin (format: geo.ts) from
// a machine with internet, where `egress db build` made it, to a gateway
// without, where `egress db update` installs it. All integers little-endian:
//
//   0    8 bytes  magic "EGEOBNDL"
//   8    u32      bundle format (1)
//   12   u32      M, byte length of the manifest JSON
//   16   M bytes  manifest: { kind: "egress-geo-bundle", format: 1, created (ISO),
//                 seal: "sha256", files: [{ name: "geo.bin", length, sha256 }],
//                 data: { dataDate, sources {package: version}, sha256 (the geo.bin body hash) } }
//   16+M          the files, in manifest order, back to back
//   end-S S bytes the seal over every byte before it (geo-seal.ts; SHA-256: S = 32)
//
// openBundle() checks all of it before anything is installed: exact length,
// seal, every file's length and SHA-256, then the geo tables themselves
// (parseGeoFile: header, section bounds, body hash, ranges sorted, indexes
// in bounds). A fault is EGRESS_GEO_BUNDLE_INVALID with the byte offset.

import { createHash } from 'node:crypto';
import { EgressError, ErrorCode } from '../errors.js';
import { type GeoHeader, parseGeoFile } from './geo-file.js';
import { checkSeal, isSealKind, SEAL_BYTES, type SealKind, sealBundle } from './geo-seal.js';

export const BUNDLE_MAGIC = 'EGEOBNDL';
export const BUNDLE_FORMAT = 1;
const PREFIX_BYTES = 16;
/** No real manifest comes near this; a larger length field is damage. */
const MAX_MANIFEST_BYTES = 1024 * 1024;

export interface BundleManifest {
  kind: 'egress-geo-bundle';
  format: number;
  created: string;
  seal: SealKind;
  files: { name: string; length: number; sha256: string }[];
  data: { dataDate: string | null; sources: Record<string, string>; sha256: string };
}

export interface OpenedBundle {
  manifest: BundleManifest;
  /** The geo.bin image, checked. */
  geoBin: Uint8Array;
  header: GeoHeader;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Packs a geo.bin image (checked first) into a sealed bundle. */
export function packBundle(geoBin: Uint8Array, created: Date, file = '<geo.bin>'): Buffer {
  const { header } = parseGeoFile(geoBin, file);
  const manifest: BundleManifest = {
    kind: 'egress-geo-bundle',
    format: BUNDLE_FORMAT,
    created: created.toISOString(),
    seal: 'sha256',
    files: [{ name: 'geo.bin', length: geoBin.byteLength, sha256: sha256(geoBin) }],
    data: { dataDate: header.dataDate ?? null, sources: header.sources, sha256: header.sha256 },
  };
  const json = Buffer.from(JSON.stringify(manifest), 'utf8');
  const prefix = Buffer.alloc(PREFIX_BYTES);
  prefix.write(BUNDLE_MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(BUNDLE_FORMAT, 8);
  prefix.writeUInt32LE(json.byteLength, 12);
  const signed = Buffer.concat([prefix, json, geoBin]);
  return Buffer.concat([signed, sealBundle(signed, manifest.seal)]);
}

/** Checks a whole bundle; throws EGRESS_GEO_BUNDLE_INVALID naming the fault. */
export function openBundle(bytes: Uint8Array, file: string): OpenedBundle {
  const fail = (why: string, offset?: number): never => {
    throw new EgressError(ErrorCode.GEO_BUNDLE_INVALID, why, { file, ...(offset === undefined ? {} : { offset }) });
  };
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.byteLength < PREFIX_BYTES) fail(`not a geo data bundle: only ${buf.byteLength} bytes`, 0);
  if (buf.toString('latin1', 0, 8) !== BUNDLE_MAGIC) fail('not a geo data bundle (bad magic)', 0);
  const format = buf.readUInt32LE(8);
  if (format !== BUNDLE_FORMAT) fail(`geo data bundle format ${format}, this agent reads format ${BUNDLE_FORMAT}`, 8);
  const m = buf.readUInt32LE(12);
  if (m > MAX_MANIFEST_BYTES || PREFIX_BYTES + m > buf.byteLength)
    fail('geo data bundle cut short in its manifest', 12);
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(PREFIX_BYTES, PREFIX_BYTES + m)),
    );
  } catch {
    return fail('geo data bundle manifest is not valid JSON', PREFIX_BYTES);
  }
  if (!isManifest(manifest))
    return fail('geo data bundle manifest lacks fields or names an unknown seal', PREFIX_BYTES);
  const filesBytes = manifest.files.reduce((n, f) => n + f.length, 0);
  const sealAt = PREFIX_BYTES + m + filesBytes;
  const expected = sealAt + SEAL_BYTES[manifest.seal];
  if (buf.byteLength < expected)
    fail(`geo data bundle cut short: ${buf.byteLength} of ${expected} bytes`, buf.byteLength);
  if (buf.byteLength > expected) fail(`geo data bundle has ${buf.byteLength - expected} bytes after its end`, expected);
  checkSeal(manifest.seal, buf.subarray(0, sealAt), buf.subarray(sealAt), file);
  let at = PREFIX_BYTES + m;
  let geoBin: Uint8Array | null = null;
  for (const f of manifest.files) {
    const content = buf.subarray(at, at + f.length);
    if (sha256(content) !== f.sha256) fail(`geo data bundle file ${f.name} fails its SHA-256 check`, at);
    if (f.name === 'geo.bin') geoBin = content;
    at += f.length;
  }
  if (geoBin === null) return fail('geo data bundle carries no geo.bin', PREFIX_BYTES);
  // Damage the checksums cannot see (a bundle built from a broken geo.bin): the tables' own checks.
  const { header } = parseGeoFile(geoBin, `${file}: geo.bin`, ErrorCode.GEO_BUNDLE_INVALID, '');
  if (header.sha256 !== manifest.data.sha256)
    fail('geo data bundle manifest does not describe its geo.bin', PREFIX_BYTES);
  return { manifest, geoBin, header };
}

function isManifest(x: unknown): x is BundleManifest {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<string, unknown>;
  const data = o.data as Record<string, unknown> | null | undefined;
  return (
    o.kind === 'egress-geo-bundle' &&
    o.format === BUNDLE_FORMAT &&
    typeof o.created === 'string' &&
    isSealKind(o.seal) &&
    Array.isArray(o.files) &&
    o.files.length > 0 &&
    o.files.every(
      (f) =>
        typeof f === 'object' &&
        f !== null &&
        typeof f.name === 'string' &&
        Number.isSafeInteger(f.length) &&
        f.length >= 0 &&
        typeof f.sha256 === 'string',
    ) &&
    typeof data === 'object' &&
    data !== null &&
    typeof data.sha256 === 'string' &&
    typeof data.sources === 'object'
  );
}
