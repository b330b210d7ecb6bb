#!/usr/bin/env node
// Alert latency from the files of the live benchmark: the client's log of
// connections it opened (`src_port send_us`, wall clock just before
// connect()) and the subscriber's log of alerts (alert-sub.mjs). Each
// connection is matched to its alert by source address and port,
// destination and a capture time no earlier than the send. Prints p50, p99
// and max of:
//   capture → subscriber   alert arrival minus ts_us (the kernel's capture
//                          timestamp of the deciding packet, here the SYN)
//   client → subscriber    alert arrival minus the client's send time
//   client → capture       ts_us minus the send time (the cross-check)
//
//   node scripts/bench-lib/latency.mjs SENT ALERTS SRC_IP DEST_IP DEST_PORT [--skip N]

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { skip: { type: 'string', default: '0' } },
});
const [sentFile, alertFile, srcIp, destIp, destPort] = positionals;
if (!destPort) {
  console.error('usage: latency.mjs SENT ALERTS SRC_IP DEST_IP DEST_PORT [--skip N]');
  process.exit(2);
}
const lines = (f) =>
  readFileSync(f, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
const sent = lines(sentFile)
  .map((l) => l.split(' ').map(Number))
  .slice(Number(values.skip));
/** src_port → alerts of that port to the destination, as [recv_us, ts_us]. */
const alerts = new Map();
for (const l of lines(alertFile)) {
  const [recv, ts, src, sport, dst, dport] = l.split(' ');
  if (src !== srcIp || dst !== destIp || dport !== destPort) continue;
  const list = alerts.get(Number(sport)) ?? [];
  list.push([Number(recv), Number(ts)]);
  alerts.set(Number(sport), list);
}
const capToSub = [];
const cliToSub = [];
const cliToCap = [];
let missing = 0;
for (const [port, sendUs] of sent) {
  const a = (alerts.get(port) ?? []).find(([, ts]) => ts >= sendUs && ts < sendUs + 5e6);
  if (!a) {
    missing++;
    continue;
  }
  capToSub.push((a[0] - a[1]) / 1000);
  cliToSub.push((a[0] - sendUs) / 1000);
  cliToCap.push((a[1] - sendUs) / 1000);
}
const q = (xs, p) => {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
};
const row = (name, xs) =>
  xs.length === 0
    ? `${name}: no samples`
    : `${name}: p50 ${q(xs, 0.5).toFixed(2)} ms, p99 ${q(xs, 0.99).toFixed(2)} ms, max ${q(xs, 1).toFixed(2)} ms`;
console.log(`flows: ${sent.length} measured, ${capToSub.length} alerts matched, ${missing} missing`);
console.log(row('  capture -> subscriber', capToSub));
console.log(row('  client  -> subscriber', cliToSub));
console.log(row('  client  -> capture   ', cliToCap));
