#!/usr/bin/env node
// Traffic history (issue 16): how fast the agent's writer gets flow points
// into a real influxd, and how much CPU `--influx` adds to a live agent at
// 10,000 flows per minute. Starts its own influxd (Debian's influxdb 1.6) on
// 127.0.0.1 with temporary directories, stops it by PID. Prints figures,
// asserts nothing. Needs the built agent (pnpm build) and influxd.
//
//   node scripts/bench-history.mjs [--points N] [--flows-per-min N] [--seconds S]
//
// Part 1: N flow points (the agent's own point builder) through HistoryWriter
//   as fast as it takes them: points/s until InfluxDB acknowledged the last.
// Part 2: the same capture replayed paced (`egress replay --speed 1`) for S
//   seconds at the given flow rate, once without and once with --influx;
//   the agent's CPU time (user + system, from /proc) of each run.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseHistoryTarget } from '../agent/dist/history/config.js';
import { flowPoint } from '../agent/dist/history/points.js';
import { HistoryWriter } from '../agent/dist/history/writer.js';

const ROOT = new URL('..', import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    points: { type: 'string', default: '200000' },
    'flows-per-min': { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '60' },
  },
});
const dir = mkdtempSync(join(tmpdir(), 'egress-bench-history-'));
const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startInfluxd() {
  const [http, rpc] = [await freePort(), await freePort()];
  const d = (n) => JSON.stringify(join(dir, n));
  const conf = join(dir, 'influxd.conf');
  writeFileSync(
    conf,
    `reporting-disabled = true\nbind-address = "127.0.0.1:${rpc}"\n[meta]\n  dir = ${d('meta')}\n  logging-enabled = false\n` +
      `[data]\n  dir = ${d('data')}\n  wal-dir = ${d('wal')}\n  query-log-enabled = false\n[monitor]\n  store-enabled = false\n` +
      `[subscriber]\n  enabled = false\n[http]\n  bind-address = "127.0.0.1:${http}"\n  log-enabled = false\n  pprof-enabled = false\n` +
      `[[udp]]\n  enabled = false\n[[graphite]]\n  enabled = false\n[[collectd]]\n  enabled = false\n[[opentsdb]]\n  enabled = false\n`,
  );
  const child = spawn('influxd', ['-config', conf], { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${http}/ping`)).status === 204) return { child, port: http };
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('influxd did not start');
}

/** A FlowRecord-shaped object as the pipeline hands it over (only what flowPoint reads). */
function flow(i, endUs) {
  return {
    flowId: i,
    app: { country: ['NL', 'DE', 'US', 'CN'][i % 4], asn: 64500 + (i % 50) },
    names: [`host${i % 200}.example.net`],
    verdict: ['allowed', 'medium', 'high'][i % 3],
    proto: 'TCP',
    internet: true,
    destIp: `198.51.100.${i % 250}`,
    destPort: 443,
    bytesToServer: 1000 + (i % 5000),
    bytesToClient: 20000 + (i % 70000),
    pktsToServer: 10 + (i % 40),
    pktsToClient: 20 + (i % 90),
    startUs: endUs - 5_000_000,
    endUs,
  };
}

async function writerThroughput(port, n) {
  const target = parseHistoryTarget(`http://127.0.0.1:${port}/bench`, {}, 'INF');
  const w = new HistoryWriter({ target, log: (l) => console.error(l), maxQueued: n + 1 });
  await w.start();
  const now = Date.now() * 1000;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    w.add(flowPoint(flow(i, now - (n - i) * 1000), { gateway: 'bench', session: '' }));
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
  }
  while (w.counters.written < n && w.lastError === null) await new Promise((r) => setTimeout(r, 5));
  const s = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await w.close(1000);
  const c = w.counters;
  console.log(
    `writer: ${n} flow points in ${s.toFixed(2)} s = ${Math.round(n / s).toLocaleString('en')} points/s ` +
      `(written ${c.written}, batches ${c.batches}, dropped ${c.dropped}; ` +
      `writer process CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s)`,
  );
}

/** Flows the replay reported (internet + local). */
function flowCount(out) {
  const m = /flows: (\d+) to the internet, (\d+) local/.exec(out);
  return m ? Number(m[1]) + Number(m[2]) : 0;
}

/** CPU seconds (user + system) of a process and its children so far, from /proc. */
function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / TICKS;
}

async function replayCpu(capture, extra) {
  const args = [
    join(ROOT, 'agent/dist/cli/bin.js'),
    'replay',
    capture,
    '--speed',
    '1',
    '--no-http',
    '--mqtt-port',
    '0',
    '--data-dir',
    mkdtempSync(join(dir, 'data-')),
    '--gateway',
    'bench',
    '--quiet',
    '--linger',
    '5',
    ...extra,
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => {
    out += c;
  });
  child.stderr.on('data', (c) => {
    err += c;
  });
  let last = 0;
  const sampler = setInterval(() => {
    try {
      last = cpuSeconds(child.pid);
    } catch {}
  }, 200);
  const t0 = performance.now();
  await new Promise((r) => child.once('exit', r));
  clearInterval(sampler);
  return {
    cpu: last,
    wall: (performance.now() - t0) / 1000,
    out: out.trim(),
    history: /history: \d+ points.*/.exec(err)?.[0] ?? '',
    flows: flowCount(out),
  };
}

const { child, port } = await startInfluxd();
try {
  await writerThroughput(port, Number(values.points));

  const perMin = Number(values['flows-per-min']);
  const seconds = Number(values.seconds);
  const seed = join(ROOT, 'test/fixtures/mixed/many-flows/input.pcap');
  // The seed has 27 flows; small captures come out with fewer (the generator's copies then share some tuples).
  const flowsPerCopy = 27;
  const copies = Math.ceil((perMin * seconds) / 60 / flowsPerCopy);
  const packets = copies * 229;
  const raw = join(dir, 'raw.pcap');
  const capture = join(dir, 'paced.pcap');
  execFileSync(process.execPath, [
    join(ROOT, 'scripts/bench-lib/generate.mjs'),
    raw,
    '--packets',
    String(packets),
    seed,
  ]);
  execFileSync(process.execPath, [
    join(ROOT, 'scripts/bench-lib/restamp.mjs'),
    raw,
    capture,
    '--pps',
    String(Math.round(packets / seconds)),
  ]);
  console.log(`capture: ${packets} packets over ${seconds} s, aiming at ${perMin} flows/min`);
  const without = await replayCpu(capture, []);
  console.log(
    `without --influx: agent CPU ${without.cpu.toFixed(2)} s in ${without.wall.toFixed(1)} s; ${without.out}`,
  );
  const withInflux = await replayCpu(capture, ['--influx', `http://127.0.0.1:${port}/replay`]);
  console.log(
    `with --influx:    agent CPU ${withInflux.cpu.toFixed(2)} s in ${withInflux.wall.toFixed(1)} s; ${withInflux.out}`,
  );
  console.log(`  ${withInflux.history}`);
  console.log(`  flows: ${Math.round((withInflux.flows * 60) / seconds)} per minute`);
  const added = withInflux.cpu - without.cpu;
  console.log(
    `added by --influx: ${added.toFixed(2)} CPU s over ${seconds} s = ${((100 * added) / seconds).toFixed(1)} % of one core`,
  );
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
