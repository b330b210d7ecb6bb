#!/usr/bin/env node
// Dashboard under load (issue "Live dashboard", Benchmark): the agent's HTTP
// server (agent/dist/http) and embedded broker (agent/dist/mqtt) in this
// process, a publisher logged in as the agent, and the built dashboard in
// headless Chromium. Phase 1: 100,000 flows (up to 5,000/s, QoS 1). Phase 2: 1,000
// alerts/s for 10 s (to 5,000 destinations, so the feed dedupes and repeats)
// while the 100,000 rows stay in the table. Measured in the page: frame
// times (requestAnimationFrame deltas), input latency (Event Timing API:
// keystrokes typed into the search box every 300 ms, from the input event
// to the next paint), and the JS heap after a forced GC (CDP).
//
//   node scripts/bench-dashboard.mjs [--flows 100000] [--alerts-per-s 1000] [--seconds 10]

import { parseArgs } from 'node:util';
import { connectAsync } from 'mqtt';
import { chromium } from 'playwright-core';
import { DashboardServer } from '../agent/dist/http/server.js';
import { AGENT_USER, EmbeddedBroker } from '../agent/dist/mqtt/broker.js';
import { egress } from '../agent/proto/gen/egress.js';

const { values } = parseArgs({
  options: {
    flows: { type: 'string', default: '100000' },
    'alerts-per-s': { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
  },
});
const FLOWS = Number(values.flows);
const ALERTS_PER_S = Number(values['alerts-per-s']);
const SECONDS = Number(values.seconds);
const pb = egress.v1;
const GW = 'bench';
const TOKEN = 'bench-viewer-token-0123456789';
const AGENT_TOKEN = 'bench-agent-token-0123456789';
const COUNTRIES = ['NL', 'DE', 'US', 'CN', 'HK', 'FR', 'GB', 'SG', 'JP', 'IE'];

const http = await DashboardServer.listen({ host: '127.0.0.1', port: 0, token: TOKEN, gateway: GW });
const broker = await EmbeddedBroker.start({ port: 0, agentToken: AGENT_TOKEN, viewerToken: TOKEN });
http.mqttSocket = (ws, req) => broker.acceptWebSocket(ws, req);
const origin = `http://127.0.0.1:${http.address.port}`;
const agent = await connectAsync(broker.url, { username: AGENT_USER, password: AGENT_TOKEN, protocolVersion: 4 });
const nowUs = () => Date.now() * 1000;
await agent.publishAsync(
  `egress/v1/${GW}/status`,
  Buffer.from(
    pb.Status.encode({
      gateway: GW,
      ts_us: nowUs(),
      state: pb.Status.State.ONLINE,
      text: 'ready',
      agent_version: 'bench',
      policy: 'profile dji',
    }).finish(),
  ),
  { retain: true, qos: 1 },
);

function dest(i) {
  const c = COUNTRIES[i % COUNTRIES.length];
  return {
    names: [`host${i}.example${i % 97}.org`],
    country: c,
    asn: 64500 + (i % 50),
    as_org: `Network ${i % 50}`,
    as_country: c,
  };
}
const ip = (i) => `198.51.${(i >> 8) & 255}.${i & 255}`;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--enable-precise-memory-info',
  ],
});
const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
await page.goto(`${origin}/?token=${TOKEN}`);
await page.locator('[data-testid="broker"][data-state="connected"]').waitFor({ timeout: 20_000 });
const cdp = await page.context().newCDPSession(page);

// Frame and input recorders, started from the test harness (CDP), not from the page's code.
await page.evaluate(`(() => {
  window.__frames = []; window.__events = []; window.__rec = true;
  let last = performance.now();
  const loop = (t) => { if (window.__rec) window.__frames.push(t - last); last = t; requestAnimationFrame(loop); };
  requestAnimationFrame(loop);
  new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.name === 'keydown' || e.name === 'keyup' || e.name === 'keypress' || e.name === 'input' || e.name === 'beforeinput') window.__events.push(e.duration); })
    .observe({ type: 'event', durationThreshold: 16, buffered: true });
})()`);

async function typing(untilMs) {
  const box = page.getByTestId('filter-search');
  let n = 0;
  while (Date.now() < untilMs) {
    await box.focus();
    await page.keyboard.type('x');
    await page.waitForTimeout(150);
    await page.keyboard.press('Backspace');
    n += 2;
    await page.waitForTimeout(150);
  }
  return n;
}

async function collect() {
  const r = await page.evaluate(
    `(() => { const f = window.__frames; const e = window.__events; window.__frames = []; window.__events = []; return { f, e }; })()`,
  );
  return r;
}

function pct(xs, p) {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function heapMb() {
  await cdp.send('HeapProfiler.collectGarbage');
  const h = await cdp.send('Runtime.getHeapUsage');
  return h.usedSize / 1024 / 1024;
}

async function profile() {
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.start');
  await page.waitForTimeout(4000);
  const { profile } = await cdp.send('Profiler.stop');
  const self = new Map();
  const dt = profile.timeDeltas;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  profile.samples.forEach((id, i) => {
    const n = byId.get(id);
    const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`;
    self.set(k, (self.get(k) ?? 0) + (dt[i] ?? 0));
  });
  console.log(
    [...self.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 25)
      .map(([k, v]) => `${(v / 1000).toFixed(0)} ms ${k}`)
      .join('\n'),
  );
}

const heapStart = await heapMb();
await collect();

// Phase 1: flows.
const t1 = Date.now();
const flowsDone = (async () => {
  const perTick = 500;
  for (let i = 0; i < FLOWS; i += perTick) {
    const start = Date.now();
    for (let j = i; j < Math.min(FLOWS, i + perTick); j++) {
      const us = nowUs();
      const payload = pb.Flow.encode({
        gateway: GW,
        flow_id: j,
        src_ip: '10.0.0.2',
        src_port: 40000 + (j % 20000),
        dest_ip: ip(j % 60000),
        dest_port: 443,
        proto: pb.Transport.TCP,
        app_proto: 'tls',
        dest: dest(j % 60000),
        verdict: j % 10 === 3 ? pb.Severity.HIGH : j % 3 === 0 ? pb.Severity.MEDIUM : pb.Severity.ALLOWED,
        reasons: [],
        bytes_toserver: 1000 + j,
        bytes_toclient: 5000 + j,
        start_us: us - 5_000_000,
        end_us: us,
        end_reason: 'closed',
      }).finish();
      // QoS 1, so the figure is about the page and not about messages lost on the way.
      agent.publish(`egress/v1/${GW}/flow`, Buffer.from(payload), { qos: 1 });
    }
    const wait = 100 - (Date.now() - start);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
})();
const typed1 = await typing(t1 + (FLOWS / 5_000) * 1000);
await flowsDone;
const sentMs = Date.now() - t1;
// The page takes the backlog at its own pace: wait until every flow is in the table (typing on).
const total = `of ${FLOWS.toLocaleString('en-GB')} connections`;
const inTable = () =>
  page.evaluate(`document.querySelector('[data-testid="rows-shown"]')?.textContent.includes('${total}') === true`);
let typedMore = 0;
while (!(await inTable()) && Date.now() - t1 < 300_000) typedMore += await typing(Date.now() + 1000);
const ingestMs = Date.now() - t1;
const p1 = await collect();
const rowsText = await page.getByTestId('rows-shown').textContent();
// Phase 2: alerts.
const t2 = Date.now();
let alertsSent = 0;
const alertsDone = (async () => {
  for (let s = 0; s < SECONDS * 10; s++) {
    const start = Date.now();
    for (let k = 0; k < ALERTS_PER_S / 10; k++) {
      const i = alertsSent++;
      const d = i % 5000;
      const payload = pb.Alert.encode({
        id: `${GW}/run/${i}/high`,
        gateway: GW,
        ts_us: nowUs(),
        flow_id: i,
        src_ip: '10.0.0.2',
        src_port: 40000,
        dest_ip: ip(d),
        dest_port: 443,
        proto: pb.Transport.TCP,
        dest: dest(d),
        severity: d % 4 === 0 ? pb.Severity.HIGH : pb.Severity.MEDIUM,
        reasons: d % 4 === 0 ? ['deny_country'] : ['not_allowlisted'],
        text: 'bench',
      }).finish();
      agent.publish(`egress/v1/${GW}/alert`, Buffer.from(payload), { qos: 1 });
    }
    const wait = 100 - (Date.now() - start);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
})();
if (process.env.PROFILE) await profile();
const typed2 = await typing(t2 + SECONDS * 1000);
await alertsDone;
const p2 = await collect();
// How far behind the feed is when the last alert has been sent, and when it has caught up.
const received = () => page.evaluate('window.__egressStore ? window.__egressStore.alertsReceived : -1');
const atEnd = await received();
while ((await received()) < alertsSent && Date.now() - t2 < 120_000) await page.waitForTimeout(200);
const caughtUpMs = Date.now() - t2;
const alertCount = await page.locator('#alerts-h .count').textContent();
const heapEnd = await heapMb();

const line = (name, r, typed) =>
  `${name}:\n  frames ${r.f.length}, frame time p50 ${pct(r.f, 50).toFixed(1)} ms, p95 ${pct(r.f, 95).toFixed(1)} ms, max ${Math.max(0, ...r.f).toFixed(0)} ms; ` +
  `input latency (Event Timing, ${typed} keystrokes, ${r.e.length} events >= 16 ms) p95 ${pct(r.e, 95).toFixed(0)} ms, max ${Math.max(0, ...r.e).toFixed(0)} ms`;
console.log(`dashboard bench: Chromium ${browser.version()}, viewport 1440x900`);
console.log(
  line(
    `phase 1, ${FLOWS.toLocaleString('en-GB')} flows sent in ${(sentMs / 1000).toFixed(1)} s, all in the table after ${(ingestMs / 1000).toFixed(1)} s (${((FLOWS / ingestMs) * 1000).toFixed(0)}/s; ${rowsText?.trim()})`,
    p1,
    typed1 + typedMore,
  ),
);
console.log(
  line(
    `phase 2, ${ALERTS_PER_S} alerts/s for ${SECONDS} s (${alertsSent} sent; ${atEnd} taken by the page when the last was sent, all after ${(caughtUpMs / 1000).toFixed(1)} s; ${alertCount} destinations in the feed)`,
    p2,
    typed2,
  ),
);
console.log(`JS heap after GC: ${heapStart.toFixed(1)} MB at start, ${heapEnd.toFixed(1)} MB at the end`);

await browser.close();
await agent.endAsync(true);
await broker.close();
await http.close();
