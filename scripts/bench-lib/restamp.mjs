#!/usr/bin/env node
// Spreads the packets of a classic little-endian microsecond pcap evenly in
// time: packet i gets start + i / PPS seconds. The benchmark generator packs
// its copies into milliseconds; a paced replay of a restamped file gives a
// steady load for as long as the capture time says (e.g. 360,000 packets at
// 100 packets/s: one hour).
//
//   node scripts/bench-lib/restamp.mjs IN.pcap OUT.pcap --pps N

import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { pps: { type: 'string' } } });
const [input, output] = positionals;
const pps = Number(values.pps);
if (!input || !output || !(pps > 0)) {
  console.error('usage: restamp.mjs IN.pcap OUT.pcap --pps N');
  process.exit(2);
}
const b = readFileSync(input);
if (b.length < 24 || b.readUInt32LE(0) !== 0xa1b2c3d4) {
  console.error(`${input}: not a little-endian microsecond pcap`);
  process.exit(1);
}
const start = b.readUInt32LE(24) * 1e6 + b.readUInt32LE(28);
let i = 0;
for (let o = 24; o + 16 <= b.length; i++) {
  const ts = start + Math.round((i * 1e6) / pps);
  b.writeUInt32LE(Math.floor(ts / 1e6), o);
  b.writeUInt32LE(ts % 1e6, o + 4);
  o += 16 + b.readUInt32LE(o + 8);
}
const fd = openSync(output, 'w');
writeSync(fd, b);
closeSync(fd);
console.error(`restamped ${i} packets at ${pps}/s: ${(i / pps).toFixed(0)} s of capture time`);
