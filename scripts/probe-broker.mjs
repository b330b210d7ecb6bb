#!/usr/bin/env node
// Security probe of the agent's embedded broker, command path, dashboard
// login and files (issue 12): runs the real agent (`egress replay` of a
// fixture, broker and HTTP on free 127.0.0.1 ports), attacks it with real
// clients (raw TCP, WebSocket, MQTT.js, mosquitto as an external broker, the
// `egress tail` CLI), and prints a table of what was tried and whether the
// agent held. Exit status 0 when everything held, 1 otherwise. Needs the
// built agent (pnpm build) and mosquitto.
//
//   node scripts/probe-broker.mjs [--json]
//
// The core, runProbe(), is also run by test/mqtt/hardening.test.ts.

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectAsync } from 'mqtt';
import { WebSocket } from 'ws';
import { encodeCommand } from '../agent/dist/mqtt/codec-control.js';
import { decodeCommandReply } from '../agent/dist/mqtt/codec-decode.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// EGRESS_PROBE_BIN: probe another build (e.g. an older checkout's agent/dist/cli/bin.js).
const BIN = process.env.EGRESS_PROBE_BIN ?? join(ROOT, 'agent/dist/cli/bin.js');
const FIXTURE = join(ROOT, 'test/fixtures/names/tls13/input.pcap');
const GW = 'gw-probe';
const TOKEN = 'Probe-Token-7f3K9xQ2mZ8vL4wR6tY1';
const MiB = 1024 * 1024;
/** The largest Remaining Length MQTT can announce (4 varint bytes, §2.2.3): 256 MB less one byte. */
const MAX_REMAINING = 268_435_455;
/** Bytes each attacking connection tries to push in one packet the broker should refuse. */
const ATTACK_BYTES = 16 * MiB;
/** Growth of the agent's resident memory that still counts as "held". */
const RSS_SLACK_MB = 24;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resident memory of a process in MB, from /proc/PID/status. */
export function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Start `egress replay` and wait for its broker and dashboard addresses. */
async function startAgent({ dir, env = {}, args = [] }) {
  const child = spawn(
    process.execPath,
    [BIN, 'replay', FIXTURE, '--loop', '--speed', '1', '--gateway', GW, '--data-dir', dir, '--quiet'].concat(
      ['--mqtt-port', '0', '--http', '127.0.0.1:0'],
      args,
    ),
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  const agent = { child, log: '', exit: new Promise((r) => child.once('exit', (code) => r(code))) };
  child.stderr.on('data', (c) => {
    agent.log += c.toString();
  });
  child.stdout.resume();
  const end = Date.now() + 20_000;
  while (Date.now() < end && child.exitCode === null) {
    const http = /dashboard: (http:\/\/[^/\s]+)/.exec(agent.log)?.[1];
    const broker = /broker (mqtts?:\/\/\S+)/.exec(agent.log)?.[1];
    if (http && (broker || args.includes('--broker'))) return { ...agent, http, broker };
    await sleep(50);
  }
  return agent;
}

async function stopAgent(agent) {
  if (agent.child.exitCode === null && agent.child.signalCode === null) agent.child.kill('SIGTERM');
  await Promise.race([agent.exit, sleep(10_000)]);
  if (agent.child.exitCode === null) agent.child.kill('SIGKILL');
}

async function cookieFor(http, token) {
  const res = await fetch(`${http}/?token=${encodeURIComponent(token)}`, { redirect: 'manual' });
  return (res.headers.get('set-cookie') ?? '').split(';')[0];
}

function viewer(url, extra = {}) {
  return connectAsync(url, {
    username: 'egress-viewer',
    password: TOKEN,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...extra,
  });
}

/** An MQTT fixed header announcing `length` bytes of a packet of `type` (MQTT 3.1.1 §2.2). */
function fixedHeader(type, length) {
  const out = [type];
  let n = length;
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

/** Push one packet announcing 256 MB over TCP; resolves to the bytes the agent took before it closed the socket. */
function hugeConnectTcp(port) {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1');
    let sent = 0;
    let closed = false;
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    s.on('error', () => {});
    s.on('close', () => {
      closed = true;
      resolve({ sent, closed });
    });
    s.on('connect', async () => {
      s.write(fixedHeader(0x10, MAX_REMAINING));
      while (!closed && sent < ATTACK_BYTES) {
        sent += chunk.length;
        if (!s.write(chunk)) await new Promise((r) => s.once('drain', r).once('close', r));
      }
      await sleep(2000);
      if (!closed) {
        s.destroy();
        resolve({ sent, closed: false });
      }
    });
  });
}

/** The same over MQTT-over-WebSocket on /mqtt, in frames under the 64 KiB frame limit. */
function hugeConnectWs(http, cookie) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${http.replace('http', 'ws')}/mqtt`, 'mqtt', { headers: { cookie } });
    let sent = 0;
    let closed = false;
    ws.on('error', () => {});
    ws.on('close', () => {
      closed = true;
      resolve({ sent, closed });
    });
    ws.on('open', async () => {
      ws.send(fixedHeader(0x10, MAX_REMAINING));
      const chunk = Buffer.alloc(60 * 1024, 0x41);
      while (!closed && sent < ATTACK_BYTES) {
        ws.send(chunk);
        sent += chunk.length;
        while (!closed && ws.bufferedAmount > MiB) await sleep(5);
      }
      await sleep(2000);
      if (!closed) {
        ws.terminate();
        resolve({ sent, closed: false });
      }
    });
  });
}

/** Run `attacks` while sampling the agent's RSS; the largest growth seen. */
async function underRss(pid, attacks) {
  const before = rssMb(pid);
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMb(pid));
  }, 50);
  const results = await Promise.all(attacks());
  await sleep(500);
  clearInterval(timer);
  peak = Math.max(peak, rssMb(pid));
  return { results, growth: peak - before, before };
}

/** Collect messages on `topics` for `ms`. */
async function collect(client, topics, ms) {
  const got = [];
  const on = (topic, payload, packet) => got.push({ topic, payload, retain: packet.retain });
  client.on('message', on);
  await client.subscribeAsync(topics, { qos: 1 });
  await sleep(ms);
  client.off('message', on);
  return got;
}

const command = (verb, id, token = TOKEN, args = {}) => encodeCommand({ id, verb, token, args });

/** Every check; each returns { finding, tried, held, detail }. */
export async function runProbe({ log = () => {} } = {}) {
  const rows = [];
  const row = (finding, tried, held, detail) => {
    rows.push({ finding, tried, held, detail });
    log(`${held ? 'held' : 'NOT HELD'}  ${finding}: ${tried} (${detail})`);
  };
  const base = mkdtempSync(join(tmpdir(), 'egress-probe-'));

  // 7: a data dir and secrets.json left open by an earlier version are closed at start.
  const dir = join(base, 'main');
  mkdirSync(dir, { mode: 0o755 });
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'secrets.json'), JSON.stringify({ agent: 'A'.repeat(8) + TOKEN, dashboard: TOKEN }));
  chmodSync(join(dir, 'secrets.json'), 0o644);
  const agent = await startAgent({ dir, env: { EGRESS_DASHBOARD_TOKEN: TOKEN } });
  if (!agent.http) {
    await stopAgent(agent);
    throw new Error(`agent did not start:\n${agent.log}`);
  }
  const pid = agent.child.pid;
  const port = Number(new URL(agent.broker).port);
  try {
    await sleep(1500);
    const mode = (p) => statSync(p).mode & 0o777;
    const spool = join(dir, 'spool');
    const spoolModes = readdirSync(spool).map((f) => mode(join(spool, f)));
    const perms = { dir: mode(dir), secrets: mode(join(dir, 'secrets.json')), spoolDir: mode(spool), spoolModes };
    row(
      '7 permissions',
      'data dir 0755 and secrets.json 0644 before start; spool files',
      perms.dir === 0o700 &&
        perms.secrets === 0o600 &&
        perms.spoolDir === 0o700 &&
        spoolModes.every((m) => m === 0o600),
      `dir ${perms.dir.toString(8)}, secrets ${perms.secrets.toString(8)}, spool dir ${perms.spoolDir.toString(8)}, spool files ${[...new Set(spoolModes.map((m) => m.toString(8)))].join('/')}`,
    );
    row(
      '6 start-up line',
      'EGRESS_DASHBOARD_TOKEN set: where does the line say the token is?',
      /from EGRESS_DASHBOARD_TOKEN, not stored/.test(agent.log) && !/kept in .*secrets\.json/.test(agent.log),
      /viewer login[^\n]*\(([^)]*)\)/.exec(agent.log)?.[1] ?? 'no viewer line',
    );

    // 1: 256 MB CONNECTs before logging in, over TCP and WebSocket; 10 MB commands from a viewer.
    const tcp = await underRss(pid, () => Array.from({ length: 8 }, () => hugeConnectTcp(port)));
    const tcpHeld = tcp.results.every((r) => r.closed && r.sent < ATTACK_BYTES) && tcp.growth < RSS_SLACK_MB;
    row('1 memory, TCP', '8 TCP CONNECTs announcing 256 MB, 16 MB pushed each', tcpHeld, rssDetail(tcp));
    const cookie = await cookieFor(agent.http, TOKEN);
    const ws = await underRss(pid, () => Array.from({ length: 4 }, () => hugeConnectWs(agent.http, cookie)));
    const wsHeld = ws.results.every((r) => r.closed && r.sent < ATTACK_BYTES) && ws.growth < RSS_SLACK_MB;
    row('1 memory, WebSocket', '4 CONNECTs on /mqtt announcing 256 MB, 16 MB pushed each', wsHeld, rssDetail(ws));
    const big = await underRss(pid, () =>
      Array.from({ length: 10 }, async () => {
        const v = await viewer(agent.broker);
        v.on('error', () => {});
        const closed = new Promise((r) => v.stream.once('close', () => r(true)));
        v.publish(`egress/v1/${GW}/cmd/status`, Buffer.alloc(10 * MiB, 0x41), { qos: 0 });
        const r = await Promise.race([closed, sleep(5000).then(() => false)]);
        v.end(true);
        return { closed: r, sent: 0 };
      }),
    );
    row(
      '1 memory, viewer',
      '10 logged-in viewers each publish a 10 MB cmd/status',
      big.results.every((r) => r.closed) && big.growth < RSS_SLACK_MB,
      rssDetail(big),
    );

    // 2 and 4: retained commands and retained data from a viewer.
    const watcher = await viewer(agent.broker);
    const watched = [];
    watcher.on('message', (topic, payload) => watched.push({ topic, payload }));
    await watcher.subscribeAsync([`egress/v1/${GW}/reply/+`, `egress/v1/${GW}/session`], { qos: 1 });
    const retainer = await viewer(agent.broker);
    retainer.on('error', () => {});
    const retainerClosed = new Promise((r) => retainer.stream.once('close', () => r(true)));
    retainer.publish(`egress/v1/${GW}/cmd/start_flight`, command('start_flight', 'ret-1', TOKEN, { name: 'x' }), {
      qos: 1,
      retain: true,
    });
    const refused = await Promise.race([retainerClosed, sleep(3000).then(() => false)]);
    retainer.end(true);
    const late = await viewer(agent.broker);
    const replayed = await collect(late, [`egress/v1/${GW}/cmd/#`], 1000);
    await late.endAsync(true);
    const flight = watched.some((m) => m.topic.endsWith('/session') || m.topic.endsWith('/reply/start_flight'));
    row(
      '2 retained command',
      'viewer publishes a retained cmd/start_flight with the right token',
      refused && replayed.length === 0 && !flight,
      `publish refused: ${refused}, stored for later subscribers: ${replayed.length}, flight opened: ${flight}`,
    );
    const stash = await viewer(agent.broker);
    stash.on('error', () => {});
    const stashClosed = new Promise((r) => stash.stream.once('close', () => r(true)));
    stash.publish('egress/v1/other/cmd/anything', Buffer.alloc(1024, 0x42), { qos: 1, retain: true });
    const stashRefused = await Promise.race([stashClosed, sleep(3000).then(() => false)]);
    stash.end(true);
    const reader = await viewer(agent.broker);
    const stored = (await collect(reader, ['egress/#'], 1000)).filter((m) => m.retain && m.topic.includes('/cmd/'));
    await reader.endAsync(true);
    row(
      '4 retained data',
      'viewer stores a retained 1 KiB message under egress/v1/other/cmd/anything',
      stashRefused && stored.length === 0,
      `publish refused: ${stashRefused}, retained cmd messages a new subscriber gets: ${stored.length}`,
    );

    // 3: a viewer with the agent's client id prefix.
    let kick = 'accepted';
    try {
      const k = await viewer(agent.broker, { clientId: `egress-agent-${GW}-guess` });
      await k.endAsync(true);
    } catch (err) {
      kick = err.message;
    }
    const offline = await collect(watcher, [`egress/v1/${GW}/status`], 1500);
    row(
      '3 client-id take-over',
      'viewer connects with client id egress-agent-<gateway>-guess',
      kick !== 'accepted' && !/disconnected from/.test(agent.log),
      `CONNACK: ${kick}; agent log shows a disconnect: ${/disconnected from/.test(agent.log)}; status messages since: ${offline.length}`,
    );

    // 5: amplification and flood.
    const amp = await viewer(agent.broker);
    amp.publish(`egress/v1/${GW}/cmd/ping`, command('ping', 'i'.repeat(3000), 'wrong-token'), { qos: 1 });
    await sleep(1500);
    const ampReply = watched.filter((m) => m.topic.endsWith('/reply/ping')).map((m) => decodeCommandReply(m.payload));
    await amp.endAsync(true);
    row(
      '5 reply size',
      'command with a 3,000-character id and a wrong token',
      ampReply.length === 1 && ampReply[0].id.length <= 64 && ampReply[0].message === 'wrong token',
      `replies: ${ampReply.length}, echoed id: ${ampReply[0]?.id.length ?? '-'} characters`,
    );
    watched.length = 0;
    const flooder = await viewer(agent.broker);
    flooder.on('error', () => {});
    const pinger = await viewer(agent.broker);
    const pings = new Map();
    let pingAnswered = 0;
    let slowest = 0;
    pinger.on('message', (_t, payload) => {
      const r = decodeCommandReply(payload);
      const at = pings.get(r.id);
      if (at === undefined) return;
      pingAnswered++;
      slowest = Math.max(slowest, Date.now() - at);
    });
    await pinger.subscribeAsync(`egress/v1/${GW}/reply/ping`, { qos: 1 });
    const stats = await viewer(agent.broker);
    let statsSeen = 0;
    stats.on('message', () => statsSeen++);
    await stats.subscribeAsync(`egress/v1/${GW}/stats`, { qos: 0 });
    const floodMs = 10_000;
    const until = Date.now() + floodMs;
    let flooded = 0;
    let n = 0;
    const pingTimer = setInterval(() => {
      const id = `p${n++}`;
      pings.set(id, Date.now());
      pinger.publish(`egress/v1/${GW}/cmd/ping`, command('ping', id), { qos: 1 });
    }, 500);
    const statusCmd = command('status', 'f');
    while (Date.now() < until) {
      for (let i = 0; i < 200; i++) flooder.publish(`egress/v1/${GW}/cmd/status`, statusCmd, { qos: 0 });
      flooded += 200;
      await new Promise((r) => setImmediate(r));
      while (flooder.stream.writableLength > MiB && Date.now() < until) await sleep(5);
    }
    clearInterval(pingTimer);
    await sleep(3000);
    const statusReplies = watched.filter((m) => m.topic.endsWith('/reply/status')).length;
    for (const c of [flooder, pinger, stats]) c.end(true);
    // Allowed: the broker's burst of 20 and 5/s per connection while the flood and its 3 s
    // settling last (commands queued in the client's socket still arrive), plus slack for timing.
    const bound = 20 + 5 * (floodMs / 1000 + 3) + 10;
    row(
      '5 command flood',
      `${flooded} cmd/status in ${floodMs / 1000} s from one viewer, a ping every 0.5 s from another`,
      statusReplies <= bound && statsSeen <= bound + 10 && pingAnswered >= n - 1 && slowest < 5000,
      `status replies ${statusReplies} (bound ${bound}), stats messages ${statsSeen}, pings answered ${pingAnswered}/${n}, slowest ${slowest} ms`,
    );
    await watcher.endAsync(true);

    // 8: egress tail and the token on its command line.
    const tailToken = spawnSync(process.execPath, [BIN, 'tail', '--broker', agent.broker, '--token', TOKEN], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    const tokenFile = join(base, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const tail = spawn(process.execPath, [BIN, 'tail', '--broker', agent.broker, '--token-file', tokenFile], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let tailErr = '';
    tail.stderr.on('data', (c) => {
      tailErr += c.toString();
    });
    const tEnd = Date.now() + 10_000;
    while (!/listening on/.test(tailErr) && Date.now() < tEnd && tail.exitCode === null) await sleep(50);
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${tail.pid}/cmdline`, 'utf8');
    } catch {}
    tail.kill('SIGINT');
    row(
      '8 token on the command line',
      'egress tail --token T; egress tail --token-file F',
      tailToken.status === 2 &&
        /--token-file/.test(tailToken.stderr) &&
        /listening on/.test(tailErr) &&
        !cmdline.includes(TOKEN),
      `--token: exit ${tailToken.status}; --token-file: ${/listening on/.test(tailErr) ? 'logged in' : `not logged in (${tailErr.trim().split('\n')[0]})`}, token in /proc/PID/cmdline: ${cmdline.includes(TOKEN)}`,
    );
    // 6: throttled logins on the dashboard.
    const statuses = [];
    for (let i = 0; i < 30; i++) {
      const res = await fetch(`${agent.http}/?token=wrong-${i}`, { redirect: 'manual' });
      statuses.push(res.status);
    }
    const right = (await fetch(`${agent.http}/?token=${TOKEN}`, { redirect: 'manual' })).status;
    const firstThrottled = statuses.indexOf(429);
    row(
      '6 login throttling',
      '30 wrong dashboard tokens from one address, then the right one',
      firstThrottled >= 0 && firstThrottled <= 11 && right === 429,
      `first 429 after ${firstThrottled < 0 ? 'never' : firstThrottled} failures; right token while throttled: HTTP ${right}`,
    );
  } finally {
    await stopAgent(agent);
  }

  // 6: a weak token stops the start.
  const weak = await startAgent({ dir: join(base, 'weak'), env: { EGRESS_DASHBOARD_TOKEN: 'a' } });
  const weakCode = await Promise.race([weak.exit, sleep(15_000).then(() => 'still running')]);
  await stopAgent(weak);
  row(
    '6 weak token',
    'EGRESS_DASHBOARD_TOKEN=a',
    weakCode === 2 && /EGRESS_TOKEN_WEAK/.test(weak.log),
    `exit ${weakCode}; ${/EGRESS_\w+/.exec(weak.log)?.[0] ?? 'no error code'}`,
  );

  // 2, across restarts: a retained command on an external broker is never run.
  rows.push(await retainedOnExternalBroker(base, log));
  return rows;
}

function rssDetail(r) {
  const closed = r.results.filter((x) => x.closed).length;
  return `RSS ${r.before.toFixed(0)} MB, grew ${r.growth.toFixed(1)} MB at most; ${closed}/${r.results.length} cut off`;
}

async function retainedOnExternalBroker(base, log) {
  const finding = '2 retained command, restarts';
  const tried = 'retained cmd/start_flight on mosquitto before the agent starts; agent started twice';
  const port = await freePort();
  const conf = join(base, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const mosq = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  try {
    const url = `mqtt://127.0.0.1:${port}`;
    let pub;
    for (let i = 0; i < 50 && pub === undefined; i++) {
      pub = await connectAsync(url, { reconnectPeriod: 0, protocolVersion: 4 }).catch(() => undefined);
      if (pub === undefined) await sleep(100);
    }
    if (pub === undefined) throw new Error('mosquitto did not start');
    const dir = join(base, 'external');
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(join(dir, 'secrets.json'), JSON.stringify({ agent: `agent-${TOKEN}`, dashboard: TOKEN }), {
      mode: 0o600,
    });
    await pub.publishAsync(
      `egress/v1/${GW}/cmd/start_flight`,
      command('start_flight', 'r1', TOKEN, { name: 'ghost' }),
      {
        qos: 1,
        retain: true,
      },
    );
    const seen = [];
    pub.on('message', (topic) => seen.push(topic));
    await pub.subscribeAsync([`egress/v1/${GW}/session`, `egress/v1/${GW}/reply/+`], { qos: 1 });
    for (let run = 0; run < 2; run++) {
      const a = await startAgent({ dir, args: ['--broker', url] });
      const end = Date.now() + 10_000;
      while (!/connected to/.test(a.log) && Date.now() < end) await sleep(50);
      await sleep(1500);
      await stopAgent(a);
    }
    await pub.endAsync(true);
    const held = seen.length === 0;
    log(`${held ? 'held' : 'NOT HELD'}  ${finding}`);
    return { finding, tried, held, detail: `flight sessions or replies published: ${seen.length}` };
  } finally {
    mosq.kill('SIGTERM');
  }
}

/** The table an operator reads. */
export function table(rows) {
  const w = Math.max(...rows.map((r) => r.finding.length));
  const lines = [`${'finding'.padEnd(w)} | held | tried | result`];
  for (const r of rows) lines.push(`${r.finding.padEnd(w)} | ${r.held ? 'yes ' : 'NO  '} | ${r.tried} | ${r.detail}`);
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await runProbe({ log: (l) => process.stderr.write(`${l}\n`) });
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(rows)}\n`);
  else process.stdout.write(`${table(rows)}\n`);
  process.exit(rows.every((r) => r.held) ? 0 : 1);
}
