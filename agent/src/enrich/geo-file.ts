// Reads and checks a geo.bin image (format: see geo.ts) into typed-array
// views of its tables. Every failure is an EgressError EGRESS_GEO_DB_INVALID
// with the file and, where it helps, the byte offset.

import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { EgressError, ErrorCode, type ErrorCodeValue } from '../errors.js';

export const GEO_MAGIC = 'EGEOBIN\0';
export const GEO_FORMAT = 1;
const PREFIX_BYTES = 16;
const LITTLE_ENDIAN = endianness() === 'LE';

export interface GeoHeader {
  format: number;
  built: string;
  sources: Record<string, string>;
  v4Ranges: number;
  v6Ranges: number;
  records: number;
  orgs: number;
  countries: string[];
  sections: { name: string; offset: number; length: number }[];
  sha256: string;
  /** Which source answers which field, its version and data date (ISO); absent in files built before it was added. */
  tables?: GeoTableSource[];
  /** The oldest of the tables' data dates (ISO): how old the answers may be. */
  dataDate?: string | null;
}

export interface GeoTableSource {
  fields: string;
  source: string;
  version: string;
  date: string | null;
}

export interface GeoTables {
  header: GeoHeader;
  v4Starts: Uint32Array;
  v4Recs: Uint32Array;
  v6Starts: Uint32Array;
  v6Recs: Uint32Array;
  /** 3 words per record: country | asCountry << 8, ASN, organisation. */
  records: Uint32Array;
  /** Index 0 is null (unknown). */
  countries: (string | null)[];
  /** Index 0 is null (unknown). */
  orgs: OrgNames;
}

/**
 * Checks a whole geo.bin image and returns views of its tables. `code` and
 * `hint` say what a fault is reported as: the agent's own database (rebuild
 * it), or a data bundle being installed (geo-bundle.ts).
 */
export function parseGeoFile(
  bytes: Uint8Array,
  file: string,
  code: ErrorCodeValue = ErrorCode.GEO_DB_INVALID,
  hint = '; rebuild it with `pnpm build`',
): GeoTables {
  const fail = (why: string, offset?: number): never => {
    throw new EgressError(code, `${why}${hint}`, {
      file,
      ...(offset === undefined ? {} : { offset }),
    });
  };
  const latin1 = new TextDecoder('latin1');
  if (bytes.byteLength < PREFIX_BYTES) fail(`geo database too short (${bytes.byteLength} bytes)`);
  if (latin1.decode(bytes.subarray(0, 8)) !== GEO_MAGIC) fail('not a geo database (bad magic)', 0);
  const prefix = new DataView(bytes.buffer, bytes.byteOffset, PREFIX_BYTES);
  const format = prefix.getUint32(8, true);
  if (format !== GEO_FORMAT) fail(`geo database format ${format}, this agent reads format ${GEO_FORMAT}`, 8);
  const headerLength = prefix.getUint32(12, true);
  const bodyStart = PREFIX_BYTES + headerLength;
  if (headerLength % 8 !== 0 || bodyStart > bytes.byteLength) fail('geo database header cut short', 12);
  let header: GeoHeader;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(PREFIX_BYTES, bodyStart)));
  } catch {
    return fail('geo database header is not valid JSON', PREFIX_BYTES);
  }
  if (!isHeader(header)) return fail('geo database header lacks fields', PREFIX_BYTES);
  const body = bytes.subarray(bodyStart);
  const part = (name: string, length: number | null): Uint8Array => {
    const s = header.sections.find((x) => x.name === name);
    if (s === undefined || (length !== null && s.length !== length) || s.offset % 8 !== 0) {
      return fail(`geo database section ${name} missing or of the wrong size`, PREFIX_BYTES);
    }
    if (s.offset + s.length > body.byteLength) fail(`geo database cut short in section ${name}`, bytes.byteLength);
    return body.subarray(s.offset, s.offset + s.length);
  };
  const { v4Ranges: n4, v6Ranges: n6, records: nr } = header;
  const v4Starts = u32(part('v4Starts', 4 * n4));
  const v4Recs = u32(part('v4Recs', 4 * n4));
  const v6Starts = u32(part('v6Starts', 16 * n6));
  const v6Recs = u32(part('v6Recs', 4 * n6));
  const records = u32(part('records', 12 * nr));
  const orgText = part('orgNames', null);

  if (createHash('sha256').update(body).digest('hex') !== header.sha256)
    fail('geo database damaged (SHA-256 mismatch)');

  // The checksum catches damage; these catch a file that is well formed but
  // inconsistent, so a lookup can never read outside a table.
  const orgs = new OrgNames(orgText);
  if (orgs.length !== header.orgs || !orgs.firstIsEmpty()) fail('geo database organisation table inconsistent');
  const countries: (string | null)[] = header.countries.slice();
  if (countries[0] !== '' || !countries.slice(1).every((c) => /^[A-Z]{2}$/.test(c as string))) {
    fail('geo database country table inconsistent');
  }
  countries[0] = null;
  for (let r = 0; r < nr; r++) {
    const cc = records[3 * r];
    if ((cc & 0xff) >= countries.length || cc >>> 8 >= countries.length || records[3 * r + 2] >= orgs.length) {
      fail(`geo database record ${r} points outside its tables`);
    }
  }
  if (n4 === 0 || v4Starts[0] !== 0 || n6 === 0 || (v6Starts[0] | v6Starts[1] | v6Starts[2] | v6Starts[3]) !== 0) {
    fail('geo database range tables do not start at address 0');
  }
  for (let i = 1; i < n4; i++) if (v4Starts[i] <= v4Starts[i - 1]) fail(`geo database IPv4 range ${i} out of order`);
  for (let i = 1; i < n6; i++) if (compare6(v6Starts, i, i - 1) <= 0) fail(`geo database IPv6 range ${i} out of order`);
  if (!allBelow(v4Recs, nr) || !allBelow(v6Recs, nr)) fail('geo database range points past the records');

  return { header, v4Starts, v4Recs, v6Starts, v6Recs, records, countries, orgs };
}

/**
 * The header of a geo.bin file alone (a few kilobytes read), or null when the
 * file is missing or its header is not readable: enough to compare data
 * dates before loading. parseGeoFile still checks everything on load.
 */
export function readGeoHeader(path: string): GeoHeader | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const prefix = Buffer.alloc(PREFIX_BYTES);
    if (readSync(fd, prefix, 0, PREFIX_BYTES, 0) !== PREFIX_BYTES) return null;
    if (prefix.toString('latin1', 0, 8) !== GEO_MAGIC || prefix.readUInt32LE(8) !== GEO_FORMAT) return null;
    const length = prefix.readUInt32LE(12);
    if (length > 16 * 1024 * 1024) return null;
    const text = Buffer.alloc(length);
    if (readSync(fd, text, 0, length, PREFIX_BYTES) !== length) return null;
    const header: unknown = JSON.parse(text.toString('utf8'));
    return isHeader(header) ? header : null;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

function allBelow(values: Uint32Array, limit: number): boolean {
  for (let i = 0; i < values.length; i++) if (values[i] >= limit) return false;
  return true;
}

/**
 * The "\n"-separated UTF-8 organisation names, each decoded when first asked
 * for (a scan meets a few hundred of the 80,000): the text stays in the
 * file's buffer, and the ones met are kept. One by one, the ASCII names
 * (nearly all) are one byte per character, where one decode of the whole
 * text and a split would keep it all as UTF-16. Name 0 (empty) is null.
 */
export class OrgNames {
  readonly length: number;
  private readonly buf: Buffer;
  /** Where name i starts; starts[length] is one past the end of the text. */
  private readonly starts: Uint32Array;
  private readonly decoded: (string | null | undefined)[];

  constructor(text: Uint8Array) {
    this.buf = Buffer.from(text.buffer, text.byteOffset, text.byteLength);
    let n = 1;
    for (let at = this.buf.indexOf(0x0a); at >= 0; at = this.buf.indexOf(0x0a, at + 1)) n++;
    this.length = n;
    this.starts = new Uint32Array(n + 1);
    for (let i = 1, at = this.buf.indexOf(0x0a); at >= 0; at = this.buf.indexOf(0x0a, at + 1))
      this.starts[i++] = at + 1;
    this.starts[n] = this.buf.length + 1;
    this.decoded = new Array(n);
  }

  firstIsEmpty(): boolean {
    return this.starts[1] === 1;
  }

  get(i: number): string | null {
    let name = this.decoded[i];
    if (name === undefined) {
      const from = this.starts[i];
      const to = this.starts[i + 1] - 1;
      name = i === 0 ? null : this.buf.toString('utf8', from, to);
      this.decoded[i] = name;
    }
    return name;
  }
}

/** A u32 view of a section: shares memory when aligned on a little-endian host, else a converted copy. */
function u32(bytes: Uint8Array): Uint32Array {
  const count = bytes.byteLength >>> 2;
  if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getUint32(i * 4, true);
  return out;
}

/** Compares the IPv6 starts at entries i and j. */
function compare6(s: Uint32Array, i: number, j: number): number {
  for (let w = 0; w < 4; w++) {
    const d = s[4 * i + w] - s[4 * j + w];
    if (d !== 0) return d;
  }
  return 0;
}

function isIsoDate(v: unknown): boolean {
  return typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v) && !Number.isNaN(Date.parse(v));
}

function isHeader(h: unknown): h is GeoHeader {
  if (typeof h !== 'object' || h === null) return false;
  const x = h as Record<string, unknown>;
  const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  return (
    x.format === GEO_FORMAT &&
    typeof x.built === 'string' &&
    typeof x.sha256 === 'string' &&
    typeof x.sources === 'object' &&
    x.sources !== null &&
    Object.values(x.sources).every((v) => typeof v === 'string') &&
    count(x.v4Ranges) &&
    count(x.v6Ranges) &&
    count(x.records) &&
    (x.records as number) > 0 &&
    count(x.orgs) &&
    Array.isArray(x.countries) &&
    x.countries.every((c) => typeof c === 'string') &&
    (x.tables === undefined ||
      (Array.isArray(x.tables) &&
        x.tables.every(
          (t) =>
            typeof t === 'object' &&
            t !== null &&
            typeof t.fields === 'string' &&
            typeof t.source === 'string' &&
            typeof t.version === 'string' &&
            (t.date === null || isIsoDate(t.date)),
        ))) &&
    (x.dataDate === undefined || x.dataDate === null || isIsoDate(x.dataDate)) &&
    Array.isArray(x.sections) &&
    x.sections.every(
      (s) => typeof s === 'object' && s !== null && typeof s.name === 'string' && count(s.offset) && count(s.length),
    )
  );
}
