// Offline country and network of an address: the ip-location-db packages
// (geo-whois-asn-country: country of the IP; asn: AS number and organisation;
// asn-country: country where the AS is registered), compacted by
// agent/scripts/build-geo.mjs into agent/data/geo.bin.
//
// geo.bin, all integers little-endian:
//   0   8 bytes  magic "EGEOBIN\0"
//   8   u32      format version (1)
//   12  u32      H, byte length of the header JSON (padded with spaces so the body starts 8-aligned)
//   16  H bytes  header JSON: format, built (ISO date), sources {package: version}, v4Ranges, v6Ranges,
//                records, orgs, countries (["", "AD", …]), sections [{name, offset, length}] (offsets from
//                the body start, each 8-aligned), sha256 (hex, of the whole body)
//   16+H body, the sections:
//     v4Starts     u32[v4Ranges]     first address of each range, ascending, first = 0.0.0.0
//     v4Recs       u32[v4Ranges]     record of each range
//     v6Starts     u32[4*v6Ranges]   first address of each range as 4 words, most significant first; first = ::
//     v6Recs       u32[v6Ranges]
//     records      u32[3*records]    per record: country | asCountry << 8 (indexes into countries,
//                                    0 = unknown), AS number (0 = unknown; AS0 is never routed,
//                                    RFC 7607), index into the organisation names (0 = unknown)
//     orgNames     UTF-8             organisation names joined by "\n", the first one empty
//
// The ranges of each family tile the whole address space: a range ends where
// the next begins, and gaps point at record 0 (all unknown). The three sources
// are merged into that one table at build time, so a lookup is one binary
// search (O(log n)) and fills the caller's GeoAnswer with strings from tables
// built at load: no allocation per lookup.
//
// IPv4 and IPv6 have separate tables: IPv4 data never answers an IPv6 query.
// The one exception is the IPv4-mapped block ::ffff:0:0/96 (RFC 4291 §2.5.5.2),
// which is the IPv4 address a.b.c.d itself and is looked up as IPv4.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EgressError, ErrorCode } from '../errors.js';
import { type GeoTables, parseGeoFile } from './geo-file.js';

export interface GeoAnswer {
  country: string | null;
  asn: number | null;
  asOrg: string | null;
  asCountry: string | null;
}

export function emptyGeoAnswer(): GeoAnswer {
  return { country: null, asn: null, asOrg: null, asCountry: null };
}

/** agent/data/geo.bin, from agent/src/enrich or agent/dist/enrich alike. */
export const DEFAULT_GEO_PATH = fileURLToPath(new URL('../../data/geo.bin', import.meta.url));

// The range tables (2.4 MiB IPv4, 5.3 MiB IPv6) outgrow the CPU's L2 cache,
// so a plain binary search waits on memory at almost every step. At load two
// sampled levels are built above each table, every FANOUT-th start of the
// level below (an implicit static B-tree): the top levels stay in cache and a
// lookup reads only one or two lines of the big table.
const FANOUT = 16;

export class GeoDb {
  private readonly v4Starts: Uint32Array;
  private readonly v4Recs: Uint32Array;
  private readonly v6Starts: Uint32Array;
  private readonly v6Recs: Uint32Array;
  private readonly records: Uint32Array;
  private readonly countries: (string | null)[];
  private readonly orgs: (string | null)[];
  private readonly v4Mid: Uint32Array;
  private readonly v4Top: Uint32Array;
  private readonly v6Mid: Uint32Array;
  private readonly v6Top: Uint32Array;

  private constructor(private readonly tables: GeoTables) {
    this.v4Starts = tables.v4Starts;
    this.v4Recs = tables.v4Recs;
    this.v6Starts = tables.v6Starts;
    this.v6Recs = tables.v6Recs;
    this.records = tables.records;
    this.countries = tables.countries;
    this.orgs = tables.orgs;
    this.v4Mid = sample(this.v4Starts, 1);
    this.v4Top = sample(this.v4Mid, 1);
    this.v6Mid = sample(this.v6Starts, 4);
    this.v6Top = sample(this.v6Mid, 4);
  }

  /** Reads and checks geo.bin; throws EgressError EGRESS_GEO_DB_INVALID when it is missing or damaged. */
  static load(path: string = DEFAULT_GEO_PATH): GeoDb {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new EgressError(
        ErrorCode.GEO_DB_INVALID,
        `cannot read the geo database (${why}); build it with \`pnpm build\``,
        {
          file: path,
        },
      );
    }
    return new GeoDb(parseGeoFile(bytes, path));
  }

  /** Checks and opens a geo.bin image already in memory (the tables share its memory when aligned). */
  static fromBytes(bytes: Uint8Array, file = '<memory>'): GeoDb {
    return new GeoDb(parseGeoFile(bytes, file));
  }

  /** Looks up an IPv4 address (word as stored in an Int32Array, read as unsigned). True when anything is known. */
  lookupV4(word: number, out: GeoAnswer): boolean {
    const a = word >>> 0;
    const mid = this.v4Mid;
    let j = last4(this.v4Top, 0, this.v4Top.length - 1, a);
    j = last4(mid, j * FANOUT, Math.min(j * FANOUT + FANOUT - 1, mid.length - 1), a);
    j = last4(this.v4Starts, j * FANOUT, Math.min(j * FANOUT + FANOUT - 1, this.v4Recs.length - 1), a);
    return this.fill(this.v4Recs[j], out);
  }

  /**
   * Looks up an IPv6 address given as 4 words, most significant first (signed
   * Int32 as stored, read as unsigned). ::ffff:a.b.c.d is answered as IPv4;
   * every other IPv6 address only from the IPv6 table.
   */
  lookupV6(w0: number, w1: number, w2: number, w3: number, out: GeoAnswer): boolean {
    const k0 = w0 >>> 0;
    const k1 = w1 >>> 0;
    const k2 = w2 >>> 0;
    const k3 = w3 >>> 0;
    if (k0 === 0 && k1 === 0 && k2 === 0xffff) return this.lookupV4(k3, out);
    const mid = this.v6Mid;
    const midLast = (mid.length >>> 2) - 1;
    let j = last16(this.v6Top, 0, (this.v6Top.length >>> 2) - 1, k0, k1, k2, k3);
    j = last16(mid, j * FANOUT, Math.min(j * FANOUT + FANOUT - 1, midLast), k0, k1, k2, k3);
    j = last16(this.v6Starts, j * FANOUT, Math.min(j * FANOUT + FANOUT - 1, this.v6Recs.length - 1), k0, k1, k2, k3);
    return this.fill(this.v6Recs[j], out);
  }

  /** Which data this is: format, build date, SHA-256 of the tables and each source package's version. */
  versions(): Record<string, string> {
    const h = this.tables.header;
    return { format: String(h.format), built: h.built, sha256: h.sha256, ...h.sources };
  }

  private fill(rec: number, out: GeoAnswer): boolean {
    const r = 3 * rec;
    const countries = this.records[r];
    out.country = this.countries[countries & 0xff];
    out.asCountry = this.countries[countries >>> 8];
    const asn = this.records[r + 1];
    out.asn = asn === 0 ? null : asn;
    out.asOrg = this.orgs[this.records[r + 2]];
    return rec !== 0;
  }
}

/** Every FANOUT-th start of a table whose starts are `width` words each. */
function sample(starts: Uint32Array, width: number): Uint32Array {
  const count = Math.ceil(starts.length / width / FANOUT);
  const out = new Uint32Array(count * width);
  for (let i = 0; i < count; i++) {
    for (let w = 0; w < width; w++) out[i * width + w] = starts[i * FANOUT * width + w];
  }
  return out;
}

/** Index of the last start <= a among entries lo..hi, given that starts[lo] <= a. */
function last4(starts: Uint32Array, lo: number, hi: number, a: number): number {
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (starts[mid] <= a) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** As last4, for starts of 4 words each, compared most significant word first. */
function last16(s: Uint32Array, lo: number, hi: number, k0: number, k1: number, k2: number, k3: number): number {
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    const b = mid << 2;
    const x0 = s[b];
    let le = x0 < k0;
    if (x0 === k0) {
      const x1 = s[b + 1];
      le = x1 < k1;
      if (x1 === k1) {
        const x2 = s[b + 2];
        le = x2 < k2 || (x2 === k2 && s[b + 3] <= k3);
      }
    }
    if (le) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
