#!/usr/bin/env node
// Builds the benchmark capture: the packets of real fixture captures,
// repeated with shifted addresses, ports and times so that each copy is a
// distinct set of flows. Copies are interleaved in batches, so thousands of
// flows are open at once as on a busy gateway.
//
//   node scripts/bench-lib/generate.mjs OUT.pcap [--packets N] [--batch N] SEED.pcap...
//
// Only classic little-endian microsecond pcaps with Ethernet link type are
// used as seeds (the others are skipped with a note).

import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { packets: { type: 'string', default: '1000000' }, batch: { type: 'string', default: '2000' } },
});
const [out, ...seeds] = positionals;
if (!out || seeds.length === 0) {
  console.error('usage: generate.mjs OUT.pcap [--packets N] [--batch N] SEED.pcap...');
  process.exit(2);
}
const target = Number(values.packets);
const batch = Number(values.batch);

/** Packets of one seed: { tsUs (relative), data } */
function readSeed(file) {
  const b = readFileSync(file);
  if (b.length < 24 || b.readUInt32LE(0) !== 0xa1b2c3d4 || b.readUInt32LE(20) !== 1) return null;
  const pkts = [];
  let t0 = null;
  for (let o = 24; o + 16 <= b.length; ) {
    const ts = b.readUInt32LE(o) * 1e6 + b.readUInt32LE(o + 4);
    const cap = b.readUInt32LE(o + 8);
    const orig = b.readUInt32LE(o + 12);
    if (o + 16 + cap > b.length) break;
    t0 ??= ts;
    pkts.push({ rel: ts - t0, orig, data: Buffer.from(b.subarray(o + 16, o + 16 + cap)) });
    o += 16 + cap;
  }
  return pkts;
}

const seedPackets = [];
for (const s of seeds) {
  const p = readSeed(s);
  if (p === null) console.error(`skipping ${s}: not a little-endian microsecond Ethernet pcap`);
  else seedPackets.push(...p.map((x) => ({ ...x, rel: x.rel })));
}
if (seedPackets.length === 0) {
  console.error('no usable seed packets');
  process.exit(1);
}
seedPackets.sort((a, b) => a.rel - b.rel);
const span = seedPackets[seedPackets.length - 1].rel + 1000;

/** Give copy `i` its own addresses and ports: XOR into the low bytes of both addresses, and of both ports. */
function shift(data, i) {
  const d = Buffer.from(data);
  let off = 12;
  let type = d.readUInt16BE(off);
  while (type === 0x8100 || type === 0x88a8) {
    off += 4;
    type = d.readUInt16BE(off);
  }
  const ip = off + 2;
  const hi = (i >> 8) & 0xff;
  const lo = i & 0xff;
  let l4 = -1;
  let proto = 0;
  if (type === 0x0800) {
    d[ip + 14] ^= hi;
    d[ip + 15] ^= lo;
    d[ip + 18] ^= hi;
    d[ip + 19] ^= lo;
    d[ip + 13] ^= (i >> 16) & 0xff;
    d[ip + 17] ^= (i >> 16) & 0xff;
    proto = d[ip + 9];
    if ((d.readUInt16BE(ip + 6) & 0x1fff) === 0) l4 = ip + (d[ip] & 0x0f) * 4;
  } else if (type === 0x86dd) {
    d[ip + 22] ^= hi;
    d[ip + 23] ^= lo;
    d[ip + 38] ^= hi;
    d[ip + 39] ^= lo;
    d[ip + 21] ^= (i >> 16) & 0xff;
    d[ip + 37] ^= (i >> 16) & 0xff;
    proto = d[ip + 6];
    l4 = ip + 40;
  }
  // Ports stay as they were for server ports; the client port moves so even equal addresses differ.
  if ((proto === 6 || proto === 17) && l4 >= 0 && l4 + 4 <= d.length) {
    const sp = d.readUInt16BE(l4);
    const dp = d.readUInt16BE(l4 + 2);
    if (sp > dp) d.writeUInt16BE(1024 + ((sp + i) % 60000), l4);
    else d.writeUInt16BE(1024 + ((dp + i) % 60000), l4 + 2);
  }
  return d;
}

const fd = openSync(out, 'w');
const header = Buffer.alloc(24);
header.writeUInt32LE(0xa1b2c3d4, 0);
header.writeUInt16LE(2, 4);
header.writeUInt16LE(4, 6);
header.writeUInt32LE(262144, 16);
header.writeUInt32LE(1, 20);
writeSync(fd, header);
const start = 1_767_225_600 * 1e6; // 2026-01-01T00:00:00Z
let written = 0;
let copies = 0;
let chunks = [];
let chunkBytes = 0;
for (let b = 0; written < target; b++) {
  const base = start + b * span;
  for (const p of seedPackets) {
    for (let k = 0; k < batch && written < target; k++) {
      const i = b * batch + k;
      const data = shift(p.data, i);
      const ts = base + p.rel + k;
      const rec = Buffer.alloc(16);
      rec.writeUInt32LE(Math.floor(ts / 1e6), 0);
      rec.writeUInt32LE(ts % 1e6, 4);
      rec.writeUInt32LE(data.length, 8);
      rec.writeUInt32LE(p.orig, 12);
      chunks.push(rec, data);
      chunkBytes += 16 + data.length;
      written++;
      if (chunkBytes > 4 << 20) {
        writeSync(fd, Buffer.concat(chunks));
        chunks = [];
        chunkBytes = 0;
      }
    }
  }
  copies += batch;
}
writeSync(fd, Buffer.concat(chunks));
closeSync(fd);
console.error(`wrote ${written} packets (${seedPackets.length} seed packets × up to ${copies} copies) to ${out}`);
