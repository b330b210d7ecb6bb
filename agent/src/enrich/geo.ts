// Offline country and network of an address: the ip-location-db packages
// (geo-whois-asn-country: country of the IP; asn: AS number and organisation;
// iptoasn-country-mmdb: registry country of the AS's owner), compacted by
// agent/scripts/build-geo.mjs into agent/data/geo.bin.
//
// geo.bin, all integers little-endian:
//   0   8 bytes  magic "EGEOBIN\0"
//   8   u32      format version (1)
//   12  u32      H, byte length of the header JSON (padded with spaces so the body starts 8-aligned)
//   16  H bytes  header JSON: format, built (ISO date), sources {package: version}, v4Ranges, v6Ranges,
//                records, orgs, countries (["", "AD", …]), sections [{name, offset, length}] (offsets from
//                the body start, each 8-aligned), sha256 (hex, of the whole body); optional:
//                tables [{fields, source, version, date}] (which source answers which field, the
//                date of its data) and dataDate (the oldest of those dates)
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
// are merged into that one table at build time, so a lookup is one search,
// O(log n) (a radix index built at load, then a binary search: geo-index.ts),
// and fills the caller's GeoAnswer with strings from tables
// built at load: no allocation per lookup.
//
// IPv4 and IPv6 have separate tables: IPv4 data never answers an IPv6 query.
// The one exception is the IPv4-mapped block ::ffff:0:0/96 (RFC 4291 §2.5.5.2),
// which is the IPv4 address a.b.c.d itself and is looked up as IPv4.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EgressError, ErrorCode } from '../errors.js';
import { dataDateOf } from './geo-age.js';
import { type GeoHeader, type GeoTables, type OrgNames, parseGeoFile } from './geo-file.js';
import { buildRangeIndex, findV4, findV6, type RangeIndex } from './geo-index.js';

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

export class GeoDb {
  private readonly v4Starts: Uint32Array;
  private readonly v4Recs: Uint32Array;
  private readonly v6Starts: Uint32Array;
  private readonly v6Recs: Uint32Array;
  private readonly records: Uint32Array;
  private readonly countries: (string | null)[];
  private readonly orgs: OrgNames;
  private readonly v4Index: RangeIndex;
  private readonly v6Index: RangeIndex;

  private constructor(private readonly tables: GeoTables) {
    this.v4Starts = tables.v4Starts;
    this.v4Recs = tables.v4Recs;
    this.v6Starts = tables.v6Starts;
    this.v6Recs = tables.v6Recs;
    this.records = tables.records;
    this.countries = tables.countries;
    this.orgs = tables.orgs;
    this.v4Index = buildRangeIndex(this.v4Starts, 1);
    this.v6Index = buildRangeIndex(this.v6Starts, 4);
  }

  /** Reads and checks geo.bin; throws EgressError EGRESS_GEO_DB_INVALID when it is missing or damaged. */
  static load(path: string = DEFAULT_GEO_PATH): GeoDb {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      const message = `cannot read the geo database (${why}); build it with \`pnpm build\``;
      throw new EgressError(ErrorCode.GEO_DB_INVALID, message, { file: path });
    }
    return new GeoDb(parseGeoFile(bytes, path));
  }

  /** Checks and opens a geo.bin image already in memory (the tables share its memory when aligned). */
  static fromBytes(bytes: Uint8Array, file = '<memory>'): GeoDb {
    return new GeoDb(parseGeoFile(bytes, file));
  }

  /** Looks up an IPv4 address (word as stored in an Int32Array, read as unsigned). True when anything is known. */
  lookupV4(word: number, out: GeoAnswer): boolean {
    return this.fill(this.v4Recs[findV4(this.v4Index, this.v4Starts, word >>> 0)], out);
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
    const j = findV6(this.v6Index, this.v6Starts, k0, k1, k2, k3);
    return this.fill(this.v6Recs[j], out);
  }

  /**
   * What the answers depend on: the source packages' versions, the hash of
   * the table they were compacted into, and the date of the data
   * (`data_date`, YYYY-MM-DD). Not the local build time, so the same data
   * gives the same record on every machine. Its age at a moment:
   * geoDataHealth(db.header, now) in geo-age.ts.
   */
  versions(): Record<string, string> {
    const h = this.tables.header;
    const date = dataDateOf(h);
    return { format: String(h.format), sha256: h.sha256, ...h.sources, ...(date === null ? {} : { data_date: date }) };
  }

  /** The file's header: sources, tables with their dates, build time. */
  get header(): GeoHeader {
    return this.tables.header;
  }

  private fill(rec: number, out: GeoAnswer): boolean {
    const r = 3 * rec;
    const countries = this.records[r];
    out.country = this.countries[countries & 0xff];
    out.asCountry = this.countries[countries >>> 8];
    const asn = this.records[r + 1];
    out.asn = asn === 0 ? null : asn;
    out.asOrg = this.orgs.get(this.records[r + 2]);
    return rec !== 0;
  }
}
