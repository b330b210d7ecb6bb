#!/usr/bin/env node
// An MQTT subscriber for the live benchmarks: takes every alert of one
// gateway (egress/v1/<gw>/alert, QoS 1), stamps it with the wall clock on
// arrival (microseconds) and writes one line per alert:
//
//   recv_us ts_us src_ip src_port dest_ip dest_port severity
//
// ts_us is the capture timestamp of the packet that decided the alert (the
// kernel's, when tcpdump captured it live). It also keeps the agent's last
// stats message, over a second connection: stats are QoS 0, and a broker
// without TCP_NODELAY would hold the next alert behind one (Nagle's
// algorithm against the subscriber's delayed ACK). On SIGTERM, or once --count alerts have arrived, or --idle
// seconds after the last one, it prints a one-line JSON summary (count,
// first and last arrival, rate; from the last stats: packets, alerts,
// kernel drops, publisher and spool counters) and exits.
//
//   node scripts/bench-lib/alert-sub.mjs --url mqtt://127.0.0.1:PORT --gateway GW [--out FILE] [--count N] [--idle S]

import { createWriteStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { connectAsync } from 'mqtt';
import { u64 } from '../../agent/dist/mqtt/codec.js';
import { decodeAlert, decodeStats } from '../../agent/dist/mqtt/codec-decode.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    gateway: { type: 'string' },
    out: { type: 'string' },
    count: { type: 'string', default: '0' },
    idle: { type: 'string', default: '0' },
  },
});
if (!values.url || !values.gateway) {
  console.error('usage: alert-sub.mjs --url URL --gateway GW [--out FILE] [--count N] [--idle S]');
  process.exit(2);
}
const want = Number(values.count);
const idleMs = Number(values.idle) * 1000;
const out = values.out ? createWriteStream(values.out) : null;
const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

let count = 0;
let firstUs = 0;
let lastUs = 0;
let idleTimer = null;
let done = false;
let stats = null;

const client = await connectAsync(values.url, { protocolVersion: 4, clean: true, reconnectPeriod: 200 });
client.on('message', (_topic, payload) => {
  const recv = nowUs();
  const a = decodeAlert(payload);
  count++;
  if (firstUs === 0) firstUs = recv;
  lastUs = recv;
  out?.write(`${recv} ${a.ts_us} ${a.src_ip} ${a.src_port} ${a.dest_ip} ${a.dest_port} ${a.severity}\n`);
  if (want > 0 && count >= want) finish();
  else if (idleMs > 0) {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(finish, idleMs);
  }
});
await client.subscribeAsync(`egress/v1/${values.gateway}/alert`, { qos: 1 });
const statsClient = await connectAsync(values.url, { protocolVersion: 4, clean: true, reconnectPeriod: 200 });
statsClient.on('message', (_topic, payload) => {
  stats = decodeStats(payload);
});
await statsClient.subscribeAsync(`egress/v1/${values.gateway}/stats`, { qos: 0 });
console.error('subscribed');
process.on('SIGTERM', finish);
process.on('SIGINT', finish);

function finish() {
  if (done) return;
  done = true;
  clearTimeout(idleTimer);
  const secs = (lastUs - firstUs) / 1e6;
  const summary = {
    alerts: count,
    first_us: firstUs,
    last_us: lastUs,
    seconds: secs,
    per_second: secs > 0 ? count / secs : 0,
    agent: stats && {
      packets: u64(stats.packets),
      flows: u64(stats.flows),
      alerts: u64(stats.alerts),
      kernel_drops: u64(stats.capture?.kernel_drops),
      counters: Object.fromEntries(Object.entries(stats.counters).map(([k, v]) => [k, u64(v)])),
    },
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  const end = () => statsClient.end(true, () => client.end(true, () => process.exit(0)));
  if (out) out.end(end);
  else end();
}
