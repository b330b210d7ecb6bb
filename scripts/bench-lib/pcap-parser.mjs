#!/usr/bin/env node

// pcap-parser (the library named when the product was asked for) against our
// reader: records/s on the same file, and what each does with the formats and
// faults our users' captures have. Prints a table; run after `pnpm build`.
//
//   node scripts/bench-lib/pcap-parser.mjs BENCH.pcap [FIXTURE...]

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CaptureReader, fileChunks, readCapture } from '../../agent/dist/capture/reader.js';

const require = createRequire(new URL('../../agent/package.json', import.meta.url));
const pcapParser = require('pcap-parser');

function viaPcapParser(file) {
  return new Promise((resolve) => {
    const t = process.hrtime.bigint();
    let packets = 0;
    let error = null;
    const p = pcapParser.parse(file);
    p.on('packet', () => packets++);
    p.on('error', (e) => {
      error = e.message;
    });
    p.on('end', () => resolve({ packets, error, secs: Number(process.hrtime.bigint() - t) / 1e9 }));
  });
}

async function viaEgress(file) {
  const t = process.hrtime.bigint();
  let packets = 0;
  const reader = new CaptureReader({ packet: () => packets++ }, undefined, file);
  const err = await readCapture(reader, fileChunks(file));
  return { packets, error: err ? err.code : null, secs: Number(process.hrtime.bigint() - t) / 1e9 };
}

const [bench, ...fixtures] = process.argv.slice(2);
if (!bench) {
  console.error('usage: pcap-parser.mjs BENCH.pcap [FIXTURE...]');
  process.exit(2);
}
const a = await viaPcapParser(bench);
const b = await viaEgress(bench);
const mpps = (r) => (r.packets / r.secs / 1e6).toFixed(2);
console.log(`read-only, ${bench}:`);
console.log(`  pcap-parser 0.2.1  ${a.packets} records  ${a.secs.toFixed(2)} s  ${mpps(a)} M records/s`);
console.log(
  `  egress reader      ${b.packets} records  ${b.secs.toFixed(2)} s  ${mpps(b)} M records/s  (${(a.secs / b.secs).toFixed(1)}× faster)`,
);
if (fixtures.length) {
  console.log('\nper fixture: records (error)  pcap-parser | egress');
  for (const f of fixtures) {
    const size = readFileSync(f).length;
    const x = await viaPcapParser(f);
    const y = await viaEgress(f);
    const show = (r) => `${r.packets}${r.error ? ` (${r.error})` : ''}`;
    console.log(`  ${f} [${size} B]: ${show(x)} | ${show(y)}`);
  }
}
