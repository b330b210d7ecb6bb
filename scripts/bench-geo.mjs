#!/usr/bin/env node
// Geo/ASN lookup benchmark: load time, memory of the loaded tables, lookups
// per second on random addresses. Needs `pnpm build` (agent/dist and
// agent/data/geo.bin). Run with --expose-gc for a steadier memory figure:
//
//   node --expose-gc scripts/bench-geo.mjs [--seconds 2] [--path agent/data/geo.bin]
//
// Targets (issue "Country and network"): >= 5 M lookups/s mixed IPv4/IPv6,
// load <= 300 ms, <= 40 MB resident for the loaded tables.

import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { DEFAULT_GEO_PATH, emptyGeoAnswer, GeoDb } from '../agent/dist/enrich/geo.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '2' }, path: { type: 'string' } } });
const seconds = Number(values.seconds);
const path = values.path ?? DEFAULT_GEO_PATH;
const gc = globalThis.gc ?? (() => {});

gc();
const rssBefore = process.memoryUsage().rss;
const t0 = performance.now();
const db = GeoDb.load(path);
const loadMs = performance.now() - t0;
gc();
const rssAfter = process.memoryUsage().rss;

// Seeded xorshift32, so every run looks up the same addresses.
let seed = 0x9e3779b9;
function rand() {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed | 0;
}

const N = 1 << 20;
/** Addresses: kind[i] 0 = IPv4 in words[4i], 1 = IPv6 in words[4i..4i+3]. */
function makeAddresses(v6Share, v6Top) {
  const kind = new Uint8Array(N);
  const words = new Int32Array(4 * N);
  for (let i = 0; i < N; i++) {
    const isV6 = (rand() >>> 0) / 2 ** 32 < v6Share;
    kind[i] = isV6 ? 1 : 0;
    words[4 * i] = isV6 ? v6Top() : rand();
    words[4 * i + 1] = rand();
    words[4 * i + 2] = rand();
    words[4 * i + 3] = rand();
  }
  return { kind, words };
}
// Uniform over 2000::/3 (all global unicast), and over 2001:: to 2c0f:: where the allocated blocks are dense.
const globalUnicast = () => 0x20000000 | (rand() & 0x1fffffff) | 0;
const allocated = () => (0x20010000 + ((rand() >>> 0) % (0x2c100000 - 0x20010000))) | 0;

// Random IPv6 addresses are nearly all in unallocated space; these lie inside
// the routed ranges of the asn package, as real destinations do.
const require = createRequire(new URL('../agent/package.json', import.meta.url));
const v6Rows = readFileSync(require.resolve('@ip-location-db/asn/asn-ipv6-num.csv'), 'utf8')
  .split('\n')
  .filter(Boolean);
function routedV6(words, b) {
  const [start, end] = v6Rows[(rand() >>> 0) % v6Rows.length].split(',', 2).map(BigInt);
  const r =
    (BigInt(rand() >>> 0) << 96n) |
    (BigInt(rand() >>> 0) << 64n) |
    (BigInt(rand() >>> 0) << 32n) |
    BigInt(rand() >>> 0);
  const a = start + (r % (end - start + 1n));
  for (let w = 0; w < 4; w++) words[b + w] = Number((a >> BigInt(96 - 32 * w)) & 0xffffffffn) | 0;
}
function makeRouted(v6Share) {
  const addresses = makeAddresses(v6Share, globalUnicast);
  for (let i = 0; i < N; i++) if (addresses.kind[i] === 1) routedV6(addresses.words, 4 * i);
  return addresses;
}

function run(addresses) {
  const { kind, words } = addresses;
  const out = emptyGeoAnswer();
  let found = 0;
  let lookups = 0;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const until = start + seconds * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < N; i++) {
      const b = 4 * i;
      const hit =
        kind[i] === 0
          ? db.lookupV4(words[b], out)
          : db.lookupV6(words[b], words[b + 1], words[b + 2], words[b + 3], out);
      if (hit) found++;
    }
    lookups += N;
  }
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { rate: lookups / elapsed, cpuRate: lookups / cpuSeconds, hitRate: found / lookups };
}

const mixes = [
  ['IPv4 only, uniform', makeAddresses(0, globalUnicast)],
  ['IPv6 only, uniform over 2000::/3', makeAddresses(1, globalUnicast)],
  ['IPv6 only, uniform over 2001::-2c0f::', makeAddresses(1, allocated)],
  ['mixed 50/50, IPv6 over 2000::/3', makeAddresses(0.5, globalUnicast)],
  ['mixed 50/50, IPv6 over 2001::-2c0f::', makeAddresses(0.5, allocated)],
  ['IPv6 only, inside routed ranges', makeRouted(1)],
  ['mixed 50/50, IPv6 inside routed ranges', makeRouted(0.5)],
];

const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;
const v = db.versions();
console.log(`geo.bin ${path}`);
console.log(`  file size            ${mib(statSync(path).size)}`);
console.log(
  `  data                 sha256 ${v.sha256.slice(0, 16)}…; ${Object.keys(v)
    .filter((k) => k.startsWith('@'))
    .map((k) => `${k} ${v[k]}`)
    .join(', ')}`,
);
console.log(`  load                 ${loadMs.toFixed(0)} ms`);
console.log(`  RSS delta after load ${mib(rssAfter - rssBefore)} (process RSS ${mib(rssAfter)})`);
for (const [name, addresses] of mixes) {
  run(addresses); // warm-up
  const { rate, cpuRate, hitRate } = run(addresses);
  const figures = `${(rate / 1e6).toFixed(1)} M lookups/s wall, ${(cpuRate / 1e6).toFixed(1)} M per CPU-second`;
  console.log(`  ${name.padEnd(38)} ${figures} (${(hitRate * 100).toFixed(0)}% answered)`);
}
