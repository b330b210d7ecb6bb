// The offline geo/ASN database (agent/data/geo.bin, built from the
// ip-location-db packages) checked against the packages' own CSV files, read
// here independently of the build script (text addresses, not the numeric
// files): random rows, their first and last address, the address just
// outside, gaps; then well-known anchors, the IPv4/IPv6 separation and
// damaged files.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GEO_PATH, emptyGeoAnswer, type GeoAnswer, GeoDb } from '../../agent/src/enrich/geo.js';
import { EgressError, ErrorCode, exitCodeFor } from '../../agent/src/errors.js';
import { ROOT } from '../support/cli.js';

const requireFromAgent = createRequire(`${ROOT}agent/package.json`);
const SEED = 0x6e0_db;
const ROWS_PER_FILE = 300;

let db: GeoDb;

beforeAll(() => {
  // `pnpm build` makes it; the script returns at once when it is up to date.
  execFileSync(process.execPath, [`${ROOT}agent/scripts/build-geo.mjs`], { cwd: `${ROOT}agent`, stdio: 'pipe' });
  db = GeoDb.load();
});

// --- addresses as BigInt, to step one address past either end of a range ---

function parseV4(text: string): bigint {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(text);
  return BigInt(((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0);
}

function parseV6(text: string): bigint {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  if (groups.length !== 8) throw new Error(text);
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}

function look(db: GeoDb, v6: boolean, a: bigint, out: GeoAnswer = emptyGeoAnswer()): GeoAnswer {
  if (v6) {
    const w = [96n, 64n, 32n, 0n].map((s) => Number((a >> s) & 0xffffffffn) | 0);
    db.lookupV6(w[0], w[1], w[2], w[3], out);
  } else {
    db.lookupV4(Number(a) | 0, out);
  }
  return out;
}

function v4(text: string): number {
  return Number(parseV4(text)) | 0;
}

// --- rows of the packages' CSV files ---

interface Row {
  start: bigint;
  end: bigint;
  fields: string[];
  /** No other row of the file covers any of its addresses. */
  alone: boolean;
  /** The address before start / after end is in no row of the file. */
  gapBefore: boolean;
  gapAfter: boolean;
}

const rowCache = new Map<string, Row[]>();

function readRows(pkg: string, file: string, v6: boolean): Row[] {
  const cached = rowCache.get(file);
  if (cached !== undefined) return cached;
  const text = readFileSync(requireFromAgent.resolve(`${pkg}/${file}`), 'utf8');
  const rows: Row[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [a, b, ...fields] = line.split(',');
    const parse = v6 ? parseV6 : parseV4;
    rows.push({ start: parse(a), end: parse(b), fields, alone: true, gapBefore: true, gapAfter: true });
  }
  // Rows are sorted by start; some nest inside earlier wide rows.
  let maxEnd = -1n;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const next = rows[i + 1];
    r.alone = maxEnd < r.start && (next === undefined || next.start > r.end);
    r.gapBefore = maxEnd < r.start - 1n;
    r.gapAfter = next === undefined || next.start > r.end + 1n;
    if (r.end > maxEnd) maxEnd = r.end;
  }
  rowCache.set(file, rows);
  return rows;
}

function pick<T>(items: T[], count: number, seed: number): T[] {
  let s = seed >>> 0 || 1;
  const out: T[] = [];
  for (let i = 0; i < count; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out.push(items[(s >>> 0) % items.length]);
  }
  return out;
}

type Field = (a: GeoAnswer) => unknown;

const SOURCES: { name: string; pkg: string; file: string; field: Field; expected: (fields: string[]) => unknown }[] = [
  {
    name: 'country of the IP',
    pkg: '@ip-location-db/geo-whois-asn-country',
    file: 'geo-whois-asn-country',
    field: (a) => a.country,
    expected: (f) => f[0],
  },
  {
    name: 'AS number and organisation',
    pkg: '@ip-location-db/asn',
    file: 'asn',
    field: (a) => [a.asn, a.asOrg],
    expected: (f) => {
      const org = f.slice(1).join(',');
      return [Number(f[0]), org.startsWith('"') ? org.slice(1, -1).replaceAll('""', '"') : org];
    },
  },
  {
    name: 'country of the AS',
    pkg: '@ip-location-db/asn-country',
    file: 'asn-country',
    field: (a) => a.asCountry,
    expected: (f) => f[0],
  },
];

describe('geo database against the CSV files it was built from', () => {
  for (const src of SOURCES) {
    for (const v6 of [false, true]) {
      const file = `${src.file}-ipv${v6 ? 6 : 4}.csv`;
      it(`${src.name}: ${file}, first/middle/last address of random rows, and the gaps beside them`, () => {
        const rows = readRows(src.pkg, file, v6);
        const alone = rows.filter((r) => r.alone);
        expect(alone.length).toBeGreaterThan(rows.length * 0.9);
        let gaps = 0;
        for (const r of pick(alone, ROWS_PER_FILE, SEED)) {
          const want = src.expected(r.fields);
          const where = `${file} row ${r.start}-${r.end}`;
          expect(src.field(look(db, v6, r.start)), `${where} first`).toEqual(want);
          expect(src.field(look(db, v6, (r.start + r.end) / 2n)), `${where} middle`).toEqual(want);
          expect(src.field(look(db, v6, r.end)), `${where} last`).toEqual(want);
          const unknown = Array.isArray(want) ? [null, null] : null;
          if (r.gapBefore && r.start > 0n) {
            expect(src.field(look(db, v6, r.start - 1n)), `${where} address before`).toEqual(unknown);
            gaps++;
          }
          if (r.gapAfter) {
            expect(src.field(look(db, v6, r.end + 1n)), `${where} address after`).toEqual(unknown);
            gaps++;
          }
        }
        expect(gaps).toBeGreaterThan(0);
      });
    }
  }

  it('resolves nested rows the way a longest-prefix match would: the narrowest row wins', () => {
    // A wide whois block with a geofeed entry inside it (both in the CSV).
    const rows = readRows('@ip-location-db/geo-whois-asn-country', 'geo-whois-asn-country-ipv4.csv', false);
    let checked = 0;
    for (let i = 0; i + 1 < rows.length && checked < 50; i++) {
      const outer = rows[i];
      const inner = rows[i + 1];
      const nested = inner.start > outer.start && inner.end < outer.end && inner.fields[0] !== outer.fields[0];
      const innerAlone = i + 2 >= rows.length || rows[i + 2].start > inner.end;
      if (!nested || !innerAlone) continue;
      expect(look(db, false, inner.start).country).toBe(inner.fields[0]);
      expect(look(db, false, inner.end).country).toBe(inner.fields[0]);
      expect(look(db, false, outer.start).country).toBe(outer.fields[0]);
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
  });
});

describe('well-known addresses', () => {
  it('8.8.8.8 is Google, AS15169, in the US', () => {
    const a = look(db, false, parseV4('8.8.8.8'));
    expect(a).toMatchObject({ country: 'US', asn: 15169, asCountry: 'US' });
    expect(a.asOrg).toMatch(/Google/);
  });

  it('2001:4860:4860::8888 is Google, AS15169', () => {
    const a = look(db, true, parseV6('2001:4860:4860::8888'));
    expect(a).toMatchObject({ asn: 15169, asCountry: 'US' });
    expect(a.asOrg).toMatch(/Google/);
  });

  it('114.114.114.114 (a public resolver in China) is on a network registered in China', () => {
    expect(look(db, false, parseV4('114.114.114.114'))).toMatchObject({ country: 'CN', asCountry: 'CN' });
  });

  it('223.5.5.5 (AliDNS) is an Alibaba AS registered in China', () => {
    // This data routes 223.5.5.0/24 from AS45102 (the anycast AS of AliDNS);
    // the rest of 223.4.0.0/15 is AS37963. Both are Alibaba.
    const a = look(db, false, parseV4('223.5.5.5'));
    expect([37963, 45102]).toContain(a.asn);
    expect(a.asOrg).toMatch(/Alibaba/);
    expect(a.asCountry).toBe('CN');
    expect(look(db, false, parseV4('223.4.0.1')).asn).toBe(37963);
  });

  it('1.1.1.1 is Cloudflare, AS13335', () => {
    const a = look(db, false, parseV4('1.1.1.1'));
    expect(a.asn).toBe(13335);
    expect(a.asOrg).toMatch(/Cloudflare/);
  });
});

describe('IPv4 and IPv6 stay apart', () => {
  const samples = ['8.8.8.8', '1.1.1.1', '223.5.5.5', '145.100.1.1', '114.114.114.114'];

  it('IPv4-mapped ::ffff:a.b.c.d is answered as the IPv4 address a.b.c.d (documented)', () => {
    for (const text of samples) {
      const asV4 = emptyGeoAnswer();
      expect(db.lookupV4(v4(text), asV4)).toBe(true);
      const mapped = emptyGeoAnswer();
      expect(db.lookupV6(0, 0, 0xffff, v4(text), mapped)).toBe(true);
      expect(mapped).toEqual(asV4);
    }
  });

  it('no other IPv6 address is answered from IPv4 data', () => {
    for (const text of samples) {
      const w = v4(text);
      const out = emptyGeoAnswer();
      // ::a.b.c.d (deprecated IPv4-compatible), 64:ff9b::a.b.c.d (NAT64), a.b.c.d:: (the words up front)
      expect(db.lookupV6(0, 0, 0, w, out)).toBe(false);
      expect(out).toEqual(emptyGeoAnswer());
      expect(db.lookupV6(0x0064ff9b, 0, 0, w, out)).toBe(false);
      expect(db.lookupV6(w, 0, 0, 0, out)).toBe(false);
      expect(db.lookupV6(0, 0, 0xfffe, w, out)).toBe(false);
    }
  });
});

describe('lookups', () => {
  it('fill the caller’s object in place and clear every field on a miss', () => {
    const out: GeoAnswer = { country: 'XX', asn: 1, asOrg: 'stale', asCountry: 'XX' };
    expect(db.lookupV6(0x3fff0000, 0, 0, 1, out)).toBe(false); // 3fff::/20 is reserved for documentation
    expect(out).toEqual(emptyGeoAnswer());
    expect(db.lookupV4(v4('8.8.8.8'), out)).toBe(true);
    expect(out.asn).toBe(15169);
    expect(db.lookupV4(v4('10.0.0.1'), out)).toBe(false);
    expect(out).toEqual(emptyGeoAnswer());
  });

  it('treat the words as unsigned: the top and bottom of both address spaces', () => {
    const out = emptyGeoAnswer();
    expect(db.lookupV4(-1, out)).toBe(false); // 255.255.255.255
    expect(db.lookupV4(0, out)).toBe(false); // 0.0.0.0
    expect(db.lookupV6(-1, -1, -1, -1, out)).toBe(false);
    expect(db.lookupV6(0, 0, 0, 0, out)).toBe(false);
    expect(db.lookupV4(v4('223.5.5.5'), out)).toBe(true); // above 2^31
  });

  it('versions name the source packages as installed, the build date and the format', () => {
    const v = db.versions();
    for (const src of SOURCES) {
      const installed = JSON.parse(readFileSync(requireFromAgent.resolve(`${src.pkg}/package.json`), 'utf8')).version;
      expect(v[src.pkg]).toBe(installed);
    }
    expect(v.format).toBe('1');
    expect(new Date(v.built).toISOString()).toBe(v.built);
    expect(v.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('a missing or damaged geo.bin', () => {
  const good = () => readFileSync(DEFAULT_GEO_PATH);
  const dir = mkdtempSync(join(tmpdir(), 'egress-geo-'));

  function expectInvalid(bytes: Uint8Array | null, message: RegExp) {
    const path = join(dir, 'geo.bin');
    if (bytes !== null) writeFileSync(path, bytes);
    const err = (() => {
      try {
        GeoDb.load(bytes === null ? join(dir, 'absent.bin') : path);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(EgressError);
    const e = err as EgressError;
    expect(e.code).toBe(ErrorCode.GEO_DB_INVALID);
    expect(e.message).toMatch(message);
    expect(e.toLine()).toMatch(/^EGRESS_GEO_DB_INVALID .*of .*\.bin: /);
    expect(exitCodeFor(e)).toBe(1);
  }

  /** The header JSON, and a way to write a changed one back at the same length. */
  function header(bytes: Buffer) {
    const length = bytes.readUInt32LE(12);
    const json = JSON.parse(bytes.subarray(16, 16 + length).toString('utf8'));
    const put = (h: unknown) => {
      const text = JSON.stringify(h).padEnd(length, ' ');
      expect(text.length).toBe(length);
      bytes.write(text, 16, 'utf8');
    };
    return { json, put, bodyStart: 16 + length };
  }

  it('missing', () => expectInvalid(null, /cannot read the geo database \(ENOENT\)/));
  it('empty', () => expectInvalid(new Uint8Array(0), /too short \(0 bytes\)/));
  it('shorter than its prefix', () => expectInvalid(good().subarray(0, 10), /too short/));
  it('not a geo database', () => expectInvalid(Buffer.from('PK\x03\x04 this is a zip file, not geo.bin'), /bad magic/));
  it('cut inside the header', () => expectInvalid(good().subarray(0, 100), /header cut short/));
  it('cut inside the tables', () => {
    const b = good();
    expectInvalid(b.subarray(0, b.length >> 1), /cut short in section/);
  });
  it('one byte changed in the tables', () => {
    const b = good();
    b[b.length - 1000] ^= 0x40;
    expectInvalid(b, /SHA-256 mismatch/);
  });
  it('another format version', () => {
    const b = good();
    b.writeUInt32LE(2, 8);
    expectInvalid(b, /format 2, this agent reads format 1/);
  });
  it('a header that is not JSON', () => {
    const b = good();
    b.write('{{{{', 16, 'latin1');
    expectInvalid(b, /header is not valid JSON/);
  });
  it('well formed and checksummed, but with ranges out of order', () => {
    const b = good();
    const h = header(b);
    const v4Starts = h.json.sections.find((s: { name: string }) => s.name === 'v4Starts');
    b.writeUInt32LE(0xffffffff, h.bodyStart + v4Starts.offset + 4 * 1000);
    const body = b.subarray(h.bodyStart);
    h.put({ ...h.json, sha256: createHash('sha256').update(body).digest('hex') });
    expectInvalid(b, /IPv4 range \d+ out of order/);
  });
});
