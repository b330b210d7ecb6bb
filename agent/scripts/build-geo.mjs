#!/usr/bin/env node
// Compacts the offline IP databases (npm packages of ip-location-db, CSV) into
// one binary file, agent/data/geo.bin, read by agent/src/enrich/geo.ts, which
// documents the format. Plain Node, no dependencies beyond the data packages.
//
//   node scripts/build-geo.mjs [--force] [--out FILE]
//
// Does nothing when the output is newer than every input (the CSV files, the
// packages' package.json and this script). Prints one line.
//
// The three sources become one range table per address family: every
// boundary of any source starts a new range, each range points at a record
// (country, ASN, organisation, AS country) and neighbours with the same record
// are merged. A lookup is then one search. The special-purpose blocks
// (SPECIAL_PURPOSE below) take part in that sweep as a fourth source that
// overrides the others: their ranges get record 0 whatever the sources say.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAGIC = 'EGEOBIN\0';
const FORMAT = 1;
const SECTION_ORDER = ['v4Starts', 'v4Recs', 'v6Starts', 'v6Recs', 'records', 'orgNames'];

const SOURCES = {
  country: { pkg: '@ip-location-db/geo-whois-asn-country', file: 'geo-whois-asn-country' },
  asn: { pkg: '@ip-location-db/asn', file: 'asn' },
  asCountry: { pkg: '@ip-location-db/asn-country', file: 'asn-country' },
};

/**
 * Blocks whose country and network the sources must not answer for: they say
 * nothing about who is at the other end (172.16.0.0/12 and 2001:db8::/32
 * come out of the sources as AU and JP). From the IANA special-purpose
 * address registries (RFC 6890, updated by RFC 8190 and later entries):
 *   https://www.iana.org/assignments/iana-ipv4-special-registry/
 *   https://www.iana.org/assignments/iana-ipv6-special-registry/
 * every entry not marked "Globally Reachable: True" (False or N/A), plus
 * multicast (224.0.0.0/4, RFC 5771; ff00::/8, RFC 4291). Entries marked True
 * keep the sources' answer (AS112 and AMT anycast: 192.31.196.0/24,
 * 192.52.193.0/24, 192.175.48.0/24, 64:ff9b::/96, 2620:4f:8000::/48 are not
 * listed at all); those nested in a blanked block are listed with keep: true.
 * The build blanks the union of the blocks minus the kept ones, splitting the
 * ranges that straddle an edge. Check the registries when updating the data.
 */
const SPECIAL_PURPOSE = {
  v4: [
    ['0.0.0.0/8', '"this network" (RFC 791)'],
    ['10.0.0.0/8', 'private use (RFC 1918)'],
    ['100.64.0.0/10', 'shared address space (RFC 6598)'],
    ['127.0.0.0/8', 'loopback (RFC 1122)'],
    ['169.254.0.0/16', 'link local (RFC 3927)'],
    ['172.16.0.0/12', 'private use (RFC 1918)'],
    ['192.0.0.0/24', 'IETF protocol assignments (RFC 6890)'],
    ['192.0.0.9/32', 'port control protocol anycast (RFC 7723)', { keep: true }],
    ['192.0.0.10/32', 'TURN anycast (RFC 8155)', { keep: true }],
    ['192.0.2.0/24', 'documentation, TEST-NET-1 (RFC 5737)'],
    ['192.88.99.0/24', 'deprecated 6to4 relay anycast (RFC 7526)'],
    ['192.168.0.0/16', 'private use (RFC 1918)'],
    ['198.18.0.0/15', 'benchmarking (RFC 2544)'],
    ['198.51.100.0/24', 'documentation, TEST-NET-2 (RFC 5737)'],
    ['203.0.113.0/24', 'documentation, TEST-NET-3 (RFC 5737)'],
    ['224.0.0.0/4', 'multicast (RFC 5771)'],
    ['240.0.0.0/4', 'reserved (RFC 1112)'],
    ['255.255.255.255/32', 'limited broadcast (RFC 919)'], // inside 240/4, listed as the registry does
  ],
  v6: [
    ['::/128', 'unspecified (RFC 4291)'],
    ['::1/128', 'loopback (RFC 4291)'],
    // Never read from this table: geo.ts answers ::ffff:a.b.c.d from the IPv4 table.
    ['::ffff:0:0/96', 'IPv4-mapped (RFC 4291)'],
    ['64:ff9b:1::/48', 'IPv4/IPv6 translation, local use (RFC 8215)'],
    ['100::/64', 'discard only (RFC 6666)'],
    ['100:0:0:1::/64', 'dummy prefix (RFC 9780)'],
    ['2001::/23', 'IETF protocol assignments (RFC 2928); includes Teredo 2001::/32, benchmarking, ORCHID'],
    ['2001:1::1/128', 'port control protocol anycast (RFC 7723)', { keep: true }],
    ['2001:1::2/128', 'TURN anycast (RFC 8155)', { keep: true }],
    ['2001:1::3/128', 'DNS-SD service registration protocol anycast (RFC 9665)', { keep: true }],
    ['2001:3::/32', 'AMT (RFC 7450)', { keep: true }],
    ['2001:4:112::/48', 'AS112-v6 (RFC 7535)', { keep: true }],
    ['2001:20::/28', 'ORCHIDv2 (RFC 7343)', { keep: true }],
    ['2001:30::/28', 'drone remote ID protocol entity tags (RFC 9374)', { keep: true }],
    ['2001:db8::/32', 'documentation (RFC 3849)'],
    ['2002::/16', '6to4 (RFC 3056): the IPv4 address inside says who it is, not the relay'],
    ['3fff::/20', 'documentation (RFC 9637)'],
    ['5f00::/16', 'segment routing SIDs (RFC 9602)'],
    ['fc00::/7', 'unique local (RFC 4193)'],
    ['fe80::/10', 'link-local unicast (RFC 4291)'],
    ['ff00::/8', 'multicast (RFC 4291)'],
  ],
};

const agentDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const force = args.includes('--force');
const outIndex = args.indexOf('--out');
const outPath = outIndex >= 0 ? args[outIndex + 1] : join(agentDir, 'data', 'geo.bin');

const require = createRequire(join(agentDir, 'package.json'));
const started = performance.now();

const inputs = [fileURLToPath(import.meta.url)];
const packages = {};
for (const [key, src] of Object.entries(SOURCES)) {
  const pkgJson = require.resolve(`${src.pkg}/package.json`);
  const dir = dirname(pkgJson);
  const version = JSON.parse(readFileSync(pkgJson, 'utf8')).version;
  packages[key] = {
    ...src,
    dir,
    version,
    v4: join(dir, `${src.file}-ipv4-num.csv`),
    v6: join(dir, `${src.file}-ipv6-num.csv`),
  };
  inputs.push(pkgJson, packages[key].v4, packages[key].v6);
}

const shown = relative(process.cwd(), outPath) || outPath;
if (!force && isFresh(outPath, inputs)) {
  console.log(`geo: ${shown} is up to date`);
  process.exit(0);
}

// Records: index 0 is "nothing known" and covers every gap.
const countries = [''];
const countryIndex = new Map([['', 0]]);
const orgs = [''];
const orgIndex = new Map([['', 0]]);
const recCountry = [0];
const recAsCountry = [0];
const recAsn = [0];
const recOrg = [0];
const recordIndex = new Map([['0,0,0,0', 0]]);
let overlapCount = 0;

const v4 = buildFamily(false);
const v6 = buildFamily(true);

const sections = {
  v4Starts: u32Bytes(v4.starts),
  v4Recs: u32Bytes(v4.recs),
  v6Starts: u32Bytes(v6.starts),
  v6Recs: u32Bytes(v6.recs),
  // One record = 3 words, so a lookup reads one cache line: countries, ASN, organisation.
  records: u32Bytes(recAsn.flatMap((asn, r) => [recCountry[r] | (recAsCountry[r] << 8), asn, recOrg[r]])),
  orgNames: new TextEncoder().encode(orgs.join('\n')),
};

const buildDate = process.env.SOURCE_DATE_EPOCH ? new Date(Number(process.env.SOURCE_DATE_EPOCH) * 1000) : new Date();
const header = {
  format: FORMAT,
  built: buildDate.toISOString(),
  sources: Object.fromEntries(Object.values(packages).map((p) => [p.pkg, p.version])),
  v4Ranges: v4.recs.length,
  v6Ranges: v6.recs.length,
  records: recAsn.length,
  orgs: orgs.length,
  countries,
  sections: [],
  sha256: '',
};

// Section offsets are relative to the body (which starts 8-aligned after the header).
let offset = 0;
for (const name of SECTION_ORDER) {
  header.sections.push({ name, offset, length: sections[name].byteLength });
  offset = align8(offset + sections[name].byteLength);
}
const body = new Uint8Array(offset);
for (const s of header.sections) body.set(sections[s.name], s.offset);
header.sha256 = createHash('sha256').update(body).digest('hex');

const headerStart = 16;
const headerJson = Buffer.from(JSON.stringify(header), 'utf8');
const padded = align8(headerStart + headerJson.length) - headerStart; // spaces after the JSON: the body starts 8-aligned
const prefix = Buffer.alloc(headerStart);
prefix.write(MAGIC, 0, 'latin1');
prefix.writeUInt32LE(FORMAT, 8);
prefix.writeUInt32LE(padded, 12);
const padding = Buffer.alloc(padded - headerJson.length, ' ');

mkdirSync(dirname(outPath), { recursive: true });
const tmp = `${outPath}.${process.pid}.tmp`;
writeFileSync(tmp, Buffer.concat([prefix, headerJson, padding, body]));
renameSync(tmp, outPath);

const size = statSync(outPath).size;
const secs = ((performance.now() - started) / 1000).toFixed(1);
console.log(
  `geo: built ${shown} (${(size / 1048576).toFixed(1)} MiB; IPv4 ${v4.recs.length} ranges, IPv6 ${v6.recs.length} ranges, ` +
    `${recAsn.length} records, ${orgs.length - 1} organisations; ${overlapCount} overlapping rows resolved) in ${secs} s`,
);

// --- helpers ---

function isFresh(out, deps) {
  let outTime;
  try {
    outTime = statSync(out).mtimeMs;
  } catch {
    return false;
  }
  return deps.every((dep) => statSync(dep).mtimeMs <= outTime);
}

function align8(n) {
  return (n + 7) & ~7;
}

function u32Bytes(values) {
  const words = Uint32Array.from(values);
  // geo.bin is little-endian whatever the build host.
  const bytes = new Uint8Array(words.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < words.length; i++) view.setUint32(i * 4, words[i], true);
  return bytes;
}

function intern(map, list, value) {
  let index = map.get(value);
  if (index === undefined) {
    index = list.length;
    list.push(value);
    map.set(value, index);
  }
  return index;
}

function countryCode(value, where) {
  if (!/^[A-Z]{2}$/.test(value)) throw new Error(`${where}: not a country code: ${JSON.stringify(value)}`);
  const index = intern(countryIndex, countries, value);
  if (index > 255) throw new Error('more than 255 country codes');
  return index;
}

function record(country, asn, org, asCountry) {
  const key = `${country},${asn},${org},${asCountry}`;
  let index = recordIndex.get(key);
  if (index === undefined) {
    index = recAsn.length;
    recCountry.push(country);
    recAsn.push(asn);
    recOrg.push(org);
    recAsCountry.push(asCountry);
    recordIndex.set(key, index);
  }
  return index;
}

/**
 * Reads one `start,end,value…` CSV (numeric addresses), sorted by start. Some
 * rows overlap (a wide whois block, then the geofeed entries inside it): the
 * narrowest row covering an address wins, like a longest-prefix match; of two
 * equally wide rows, the later one.
 */
function readRanges(path, isV6, parseValue) {
  const lines = readFileSync(path, 'utf8').split('\n');
  const name = relative(agentDir, path);
  const rows = [];
  const toNum = isV6 ? BigInt : Number;
  let prevStart = isV6 ? -1n : -1;
  let prevEnd = prevStart;
  let overlaps = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') continue;
    const c1 = line.indexOf(',');
    const c2 = line.indexOf(',', c1 + 1);
    const start = toNum(line.slice(0, c1));
    const end = toNum(line.slice(c1 + 1, c2));
    const where = `${name}:${i + 1}`;
    if (!(start <= end) || start < prevStart) throw new Error(`${where}: range empty or out of order`);
    if (start <= prevEnd) overlaps++;
    prevStart = start;
    if (end > prevEnd) prevEnd = end;
    rows.push({ start, end, value: parseValue(line.slice(c2 + 1), where), order: rows.length });
  }
  overlapCount += overlaps;
  return overlaps === 0 ? rows : flatten(rows, isV6 ? 1n : 1);
}

/** Non-overlapping pieces of rows sorted by start: a sweep keeping the covering rows in a heap, narrowest on top. */
function flatten(rows, one) {
  const heap = [];
  const before = (a, b) => {
    const wa = a.end - a.start;
    const wb = b.end - b.start;
    return wa < wb || (wa === wb && a.order > b.order);
  };
  const push = (row) => {
    let i = heap.push(row) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  };
  const pop = () => {
    const last = heap.pop();
    if (heap.length === 0) return;
    heap[0] = last;
    for (let i = 0; ; ) {
      let best = i;
      for (const child of [2 * i + 1, 2 * i + 2])
        if (child < heap.length && before(heap[child], heap[best])) best = child;
      if (best === i) return;
      [heap[i], heap[best]] = [heap[best], heap[i]];
      i = best;
    }
  };
  const out = [];
  let i = 0;
  let pos = rows[0].start;
  for (;;) {
    while (i < rows.length && rows[i].start <= pos) push(rows[i++]);
    while (heap.length > 0 && heap[0].end < pos) pop();
    if (heap.length === 0) {
      if (i === rows.length) return out;
      pos = rows[i].start;
      continue;
    }
    const top = heap[0];
    let next = top.end + one;
    if (i < rows.length && rows[i].start < next) next = rows[i].start;
    out.push({ start: pos, end: next - one, value: top.value });
    pos = next;
  }
}

function parseAsn(rest, where) {
  const comma = rest.indexOf(',');
  const asn = Number(rest.slice(0, comma));
  if (!Number.isInteger(asn) || asn <= 0 || asn > 0xffffffff) throw new Error(`${where}: bad ASN`);
  let org = rest.slice(comma + 1).replace(/\r$/, '');
  if (org.startsWith('"')) {
    if (!org.endsWith('"')) throw new Error(`${where}: unterminated quoted organisation`);
    org = org.slice(1, -1).replaceAll('""', '"');
  }
  if (org.includes('\n')) throw new Error(`${where}: newline in organisation`);
  return { asn, org: org === '' ? 0 : intern(orgIndex, orgs, org) };
}

/** An address block "a.b.c.d/n" or "x:…/n" as [first, last] (BigInt, whatever the family). */
function parseCidr(text, isV6) {
  const [address, lengthText] = text.split('/');
  const bits = isV6 ? 128 : 32;
  const length = Number(lengthText);
  let value = 0n;
  if (isV6) {
    const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
    const left = head === '' ? [] : head.split(':');
    const right = tail === undefined || tail === '' ? [] : tail.split(':');
    const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
    if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) throw new Error(`bad block ${text}`);
    for (const g of groups) value = (value << 16n) | BigInt(Number.parseInt(g, 16));
  } else {
    const parts = address.split('.');
    if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255))
      throw new Error(`bad block ${text}`);
    for (const p of parts) value = (value << 8n) | BigInt(p);
  }
  if (!Number.isInteger(length) || length < 0 || length > bits) throw new Error(`bad block ${text}`);
  const size = 1n << BigInt(bits - length);
  if (value % size !== 0n) throw new Error(`block ${text}: host bits set`);
  return [value, value + size - 1n];
}

/**
 * The addresses to blank, as sorted disjoint { start, end, value: true } ranges
 * (Number for IPv4, BigInt for IPv6, like readRanges): the union of the
 * blocks minus the union of those marked keep.
 */
function blankRanges(blocks, isV6) {
  const union = (list) => {
    const out = [];
    for (const [start, end] of list.toSorted((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
      const last = out[out.length - 1];
      if (last !== undefined && start <= last[1] + 1n) {
        if (end > last[1]) last[1] = end;
      } else {
        out.push([start, end]);
      }
    }
    return out;
  };
  const blank = union(blocks.filter((b) => !b[2]?.keep).map((b) => parseCidr(b[0], isV6)));
  const keep = union(blocks.filter((b) => b[2]?.keep).map((b) => parseCidr(b[0], isV6)));
  const toNum = isV6 ? (x) => x : Number;
  const out = [];
  for (let [start, end] of blank) {
    for (const [ks, ke] of keep) {
      if (ke < start || ks > end) continue;
      if (ks > start) out.push({ start: toNum(start), end: toNum(ks - 1n), value: true });
      start = ke + 1n;
    }
    if (start <= end) out.push({ start: toNum(start), end: toNum(end), value: true });
  }
  return out;
}

/** The merged range table of one family: starts (v6: 4 words each, most significant first) and record indexes. */
function buildFamily(isV6) {
  const family = isV6 ? 'v6' : 'v4';
  const cc = (rest, where) => countryCode(rest.replace(/\r$/, ''), where);
  const lists = [
    readRanges(packages.country[family], isV6, cc),
    readRanges(packages.asn[family], isV6, parseAsn),
    readRanges(packages.asCountry[family], isV6, cc),
    blankRanges(SPECIAL_PURPOSE[family], isV6),
  ];
  const one = isV6 ? 1n : 1;
  const past = isV6 ? 1n << 128n : 2 ** 32; // one past the last address
  const ptr = [0, 0, 0, 0];
  const active = [null, null, null, null];
  const starts = [];
  const recs = [];
  let pos = isV6 ? 0n : 0;
  while (pos < past) {
    let next = past;
    for (let s = 0; s < lists.length; s++) {
      const list = lists[s];
      while (ptr[s] < list.length && list[ptr[s]].end < pos) ptr[s]++;
      const r = list[ptr[s]];
      if (r === undefined) {
        active[s] = null;
      } else if (r.start <= pos) {
        active[s] = r.value;
        if (r.end + one < next) next = r.end + one;
      } else {
        active[s] = null;
        if (r.start < next) next = r.start;
      }
    }
    const asn = active[1];
    // In a special-purpose block (active[3]): nothing known, whatever the sources say.
    const rec = active[3] ? 0 : record(active[0] ?? 0, asn ? asn.asn : 0, asn ? asn.org : 0, active[2] ?? 0);
    if (recs.length === 0 || recs[recs.length - 1] !== rec) {
      if (isV6) {
        for (let w = 3; w >= 0; w--) starts.push(Number((pos >> BigInt(32 * w)) & 0xffffffffn));
      } else {
        starts.push(pos);
      }
      recs.push(rec);
    }
    pos = next;
  }
  return { starts, recs };
}
