// The offline geo/ASN database (agent/data/geo.bin, built from the
// ip-location-db packages) checked against the packages' own CSV files, read
// here independently of the build script (text addresses, not the numeric
// files): random rows, their first and last address, the address just
// outside, gaps; then well-known anchors, the special-purpose blocks the
// build blanks, the IPv4/IPv6 separation and damaged files.

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

/** [first, last] of a block "a.b.c.d/n" or "x:…/n". */
function parseBlock(text: string): [bigint, bigint] {
  const [address, length] = text.split('/');
  const v6 = address.includes(':');
  const start = v6 ? parseV6(address) : parseV4(address);
  return [start, start + (1n << BigInt((v6 ? 128 : 32) - Number(length))) - 1n];
}

/**
 * Special-purpose blocks (IANA registries, RFC 6890) the build blanks, whatever
 * the sources say. Not all of them: the ones a test reads, and those where
 * the sources have rows.
 */
const BLANKED: { v6: boolean; blocks: string[]; kind: string }[] = [
  { v6: false, kind: 'documentation', blocks: ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24'] },
  { v6: false, kind: 'private', blocks: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'] },
  { v6: false, kind: 'loopback', blocks: ['127.0.0.0/8'] },
  { v6: false, kind: 'link-local', blocks: ['169.254.0.0/16'] },
  { v6: false, kind: 'multicast', blocks: ['224.0.0.0/4'] },
  { v6: false, kind: 'other', blocks: ['0.0.0.0/8', '192.0.0.0/29', '192.88.99.0/24', '198.18.0.0/15', '240.0.0.0/4'] },
  { v6: true, kind: 'documentation', blocks: ['2001:db8::/32', '3fff::/20'] },
  { v6: true, kind: 'loopback', blocks: ['::1/128'] },
  { v6: true, kind: 'ULA', blocks: ['fc00::/7'] },
  { v6: true, kind: 'link-local', blocks: ['fe80::/10'] },
  { v6: true, kind: 'multicast', blocks: ['ff00::/8'] },
  {
    v6: true,
    kind: 'other',
    blocks: ['::/128', '64:ff9b:1::/48', '100::/64', '2001::/23', '2002::/16', '5f00::/16'],
  },
];

const BLANKED_RANGES = BLANKED.flatMap((g) => g.blocks.map((b) => ({ v6: g.v6, range: parseBlock(b) })));

/** Whether start…end meets a block of BLANKED (2001::/23 whole, with the globally reachable blocks inside it). */
function inBlanked(v6: boolean, start: bigint, end: bigint): boolean {
  return BLANKED_RANGES.some((b) => b.v6 === v6 && start <= b.range[1] && end >= b.range[0]);
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
        const alone = rows.filter((r) => r.alone && !inBlanked(v6, r.start, r.end));
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

/** What the CSV files say of one address: the narrowest row of each source, of two as wide the later (as the build). */
function csvAnswer(v6: boolean, a: bigint): GeoAnswer {
  const answer = emptyGeoAnswer();
  for (const src of SOURCES) {
    let best: Row | undefined;
    for (const r of readRows(src.pkg, `${src.file}-ipv${v6 ? 6 : 4}.csv`, v6)) {
      if (r.start > a) break;
      if (r.end >= a && (best === undefined || r.end - r.start <= best.end - best.start)) best = r;
    }
    if (best === undefined) continue;
    const want = src.expected(best.fields);
    if (src.file === 'asn') [answer.asn, answer.asOrg] = want as [number, string];
    else if (src.file === 'asn-country') answer.asCountry = want as string;
    else answer.country = want as string;
  }
  return answer;
}

describe('special-purpose blocks (IANA registries, RFC 6890) know nothing, whatever the sources say', () => {
  for (const group of BLANKED) {
    it(`IPv${group.v6 ? 6 : 4} ${group.kind}: ${group.blocks.join(', ')}`, () => {
      for (const block of group.blocks) {
        const [first, last] = parseBlock(block);
        for (const a of [first, (first + last) / 2n, last]) {
          const out: GeoAnswer = { country: 'XX', asn: 1, asOrg: 'stale', asCountry: 'XX' };
          const w = group.v6 ? [96n, 64n, 32n, 0n].map((s) => Number((a >> s) & 0xffffffffn) | 0) : [];
          const found = group.v6 ? db.lookupV6(w[0], w[1], w[2], w[3], out) : db.lookupV4(Number(a) | 0, out);
          expect(found, `${block}: ${a}`).toBe(false);
          expect(out, `${block}: ${a}`).toEqual(emptyGeoAnswer());
        }
      }
    });
  }

  it('the sources do have answers there (else the tests above prove nothing)', () => {
    for (const text of ['172.16.0.1', '192.168.1.1', '198.51.100.1', '203.0.113.1']) {
      expect(csvAnswer(false, parseV4(text)).country, text).toMatch(/^[A-Z]{2}$/);
    }
    expect(csvAnswer(true, parseV6('2001:db8::1')).country).toMatch(/^[A-Z]{2}$/);
  });

  it('IPv4-mapped addresses of those blocks know nothing either', () => {
    for (const text of ['10.1.2.3', '192.168.1.1', '203.0.113.7', '127.0.0.1', '224.0.0.251']) {
      const out = emptyGeoAnswer();
      expect(db.lookupV6(0, 0, 0xffff, v4(text), out), text).toBe(false);
      expect(out).toEqual(emptyGeoAnswer());
    }
  });

  it('the addresses just outside keep the sources’ answer', () => {
    const neighbours: [boolean, string][] = [
      [false, '9.255.255.255'],
      [false, '11.0.0.0'],
      [false, '100.63.255.255'],
      [false, '100.128.0.0'],
      [false, '126.255.255.255'],
      [false, '128.0.0.0'],
      [false, '169.253.255.255'],
      [false, '169.255.0.0'],
      [false, '172.15.255.255'],
      [false, '172.32.0.0'],
      [false, '192.0.1.255'],
      [false, '192.0.3.0'],
      [false, '192.88.98.255'],
      [false, '192.88.100.0'],
      [false, '192.167.255.255'],
      [false, '192.169.0.0'],
      [false, '198.17.255.255'],
      [false, '198.20.0.0'],
      [false, '198.51.101.0'],
      [false, '203.0.114.0'],
      [false, '223.255.255.255'],
      [true, '2001:db7:ffff:ffff:ffff:ffff:ffff:ffff'],
      [true, '2001:db9::'],
      [true, '2001:200::'],
      [true, '2003::'],
    ];
    for (const [v6, text] of neighbours) {
      const a = v6 ? parseV6(text) : parseV4(text);
      const want = csvAnswer(v6, a);
      expect(want.country ?? want.asn, `${text} has data`).not.toBeNull();
      expect(look(db, v6, a), text).toEqual(want);
    }
  });

  it('globally reachable blocks inside a blanked one keep the sources’ answer: AS112 in 2001::/23', () => {
    const a = parseV6('2001:4:112::1');
    expect(look(db, true, a)).toMatchObject({ asn: 112 });
    expect(look(db, true, a)).toEqual(csvAnswer(true, a));
    expect(look(db, true, parseV6('2001:4:111:ffff::1'))).toEqual(emptyGeoAnswer());
    expect(look(db, true, parseV6('2001:4:113::'))).toEqual(emptyGeoAnswer());
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

  it('versions name the source packages as installed, the format and the table hash, not the build time', () => {
    const v = db.versions();
    for (const src of SOURCES) {
      const installed = JSON.parse(readFileSync(requireFromAgent.resolve(`${src.pkg}/package.json`), 'utf8')).version;
      expect(v[src.pkg]).toBe(installed);
    }
    expect(v.format).toBe('1');
    expect(v.built).toBeUndefined(); // the same data must give the same record on every machine
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
