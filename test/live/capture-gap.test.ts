// A gap in the live capture is an event (issue 15 part 3; DESIGN.md
// `capture_gap`): `egress run` captures a veth in a namespace pair this test
// creates, with its embedded broker and dashboard. Real drops are induced: tcpdump
// gets a small kernel buffer (-B 64) and is paused (SIGSTOP) while a real
// client floods the link, so the kernel drops what it cannot queue; later
// tcpdump is killed (SIGKILL) and the agent must restart it. Each must come
// out as a `capture_gap` (kernel_drop with a count; capture_restart with an
// unknown count) in `egress tail --status --json`'s NDJSON (checked by the
// contract script), in the stats message, in the flight's evidence log, and
// as "capture incomplete" in the retained status and the dashboard banner
// (real Chromium, screenshot) — until a clean interval has passed, when the
// status is ONLINE again. Nothing leaves the namespaces and loopback; every
// process is stopped by PID. Needs root, as CI has.

import { type ChildProcess, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkChain } from '../../agent/src/evidence/chain.js';
import { VIEWER_USER } from '../../agent/src/mqtt/broker.js';
import type { egress } from '../../agent/src/mqtt/codec.js';
import { decodeStatus } from '../../agent/src/mqtt/codec-decode.js';
import { artifactsDir, ensureDashboardBuilt, freePort, launchChromium } from '../support/browser.js';
import { ROOT, spawnEgress } from '../support/cli.js';
import { deleteNamespace, makeNamespacePair, stop, tcpdumpIn, waitFor } from '../support/netns.js';

const NS_CTL = `egress-gctl-${process.pid}`;
const NS_GW = `egress-ggw-${process.pid}`;
const CLIENT = '192.0.2.2';
const GATEWAY = '192.0.2.1';
const GW = `gap-${process.pid}`;
const CLEAN_S = 20;
const FLOOD = 30_000;
const dir = mkdtempSync(join(tmpdir(), 'egress-gap-live-'));
const dataDir = join(dir, 'data');
const started: ChildProcess[] = [];
/** tcpdump in the gateway namespace, for --tcpdump. */
let tcpdumpGw = '';
let mqttPort = 0;
const brokerUrl = () => `mqtt://127.0.0.1:${mqttPort}`;
let agent: ChildProcess;
let agentErr = '';
/** When the agent was started: no gap can open before its first tcpdump listened. */
let agentStartedAt = 0;
let tail: ChildProcess;
let tailOut = '';
let httpPort = 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The NDJSON capture_gap events `egress tail --json` printed so far. */
function gaps(): Record<string, unknown>[] {
  return tailOut
    .split('\n')
    .filter((l) => l.includes('"event_type":"capture_gap"'))
    .map((l) => JSON.parse(l));
}

/** The retained status a new subscriber gets. */
async function retainedStatus(): Promise<egress.v1.Status> {
  const client = await connectAsync(brokerUrl(), {
    protocolVersion: 4,
    reconnectPeriod: 0,
    username: VIEWER_USER,
    password: token(),
  });
  try {
    const got = new Promise<Buffer>((resolve) => client.once('message', (_t, payload) => resolve(payload)));
    await client.subscribeAsync(`egress/v1/${GW}/status`, { qos: 1 });
    return decodeStatus(await Promise.race([got, sleep(5000).then(() => Promise.reject(new Error('no status')))]));
  } finally {
    await client.endAsync(true);
  }
}

/** The dashboard and viewer token the agent printed. */
function token(): string {
  return /token=([^\s&]+)/.exec(agentErr)?.[1] ?? '';
}

function tcpdumpPid(): number {
  const pids = [...agentErr.matchAll(/tcpdump pid (\d+)/g)];
  return Number(pids[pids.length - 1][1]);
}

/** A real client: FLOOD UDP datagrams to the gateway's discard port as fast as Python sends them. */
function flood(): void {
  const py = `import socket\ns=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor i in range(${FLOOD}):\n    s.sendto(b'x'*64, ('${GATEWAY}', 9))\n`;
  execFileSync('ip', ['netns', 'exec', NS_CTL, 'python3', '-c', py], { timeout: 60_000 });
}

beforeAll(async () => {
  makeNamespacePair({
    ctl: NS_CTL,
    ifCtl: 'veth-ctl',
    gw: NS_GW,
    ifGw: 'veth-gw',
    client: CLIENT,
    gateway: GATEWAY,
    internet: [],
  });
  tcpdumpGw = tcpdumpIn(dir, NS_GW);
  ensureDashboardBuilt();
  httpPort = await freePort();
  mqttPort = await freePort();
  const common = ['--gateway', GW, '--data-dir', dataDir];
  agentStartedAt = Date.now();
  agent = spawnEgress(
    [
      'run',
      '--interface',
      'veth-gw',
      '--tcpdump',
      tcpdumpGw,
      '--capture-buffer',
      '64',
      '--stats-interval',
      '1',
      '--clean-interval',
      String(CLEAN_S),
      '--session',
      'gap flight',
      '--http',
      `127.0.0.1:${httpPort}`,
      '--mqtt-port',
      String(mqttPort),
      '--quiet',
      // The gateway's lights (simulated): a gap must show on them too, not only in the status.
      '--gpio',
      'sim',
      '--gpio-sim-socket',
      join(dir, 'gpio.sock'),
      ...common,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  started.push(agent);
  agent.stderr?.on('data', (c: Buffer) => (agentErr += c));
  await waitFor('the capture to start', () => /capturing on veth-gw/.test(agentErr), 30_000);
  // A viewer, as an operator would run it: the token comes from the agent's data directory.
  tail = spawnEgress(['tail', '--status', '--json', '--broker', brokerUrl(), ...common], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(tail);
  tail.stdout?.on('data', (c: Buffer) => (tailOut += c));
  await sleep(2000);
}, 90_000);

afterAll(async () => {
  for (const child of started.reverse()) await stop(child);
  for (const ns of [NS_CTL, NS_GW]) deleteNamespace(ns);
  rmSync(dir, { recursive: true, force: true });
});

describe('capture gaps on a live gateway', () => {
  it('reports kernel drops while tcpdump cannot keep up as a kernel_drop gap, and the status says capture incomplete', async () => {
    const pid = tcpdumpPid();
    process.kill(pid, 'SIGSTOP');
    try {
      flood();
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitFor('a kernel_drop gap', () => gaps().some((g) => g.cause === 'kernel_drop'), 20_000);
    const gap = gaps().find((g) => g.cause === 'kernel_drop') as Record<string, string | number>;
    // The kernel dropped some of the flood, never more than was sent.
    expect(gap.packets_dropped).toBeGreaterThan(0);
    expect(gap.packets_dropped).toBeLessThanOrEqual(FLOOD + 200); // and the link's own ARP / neighbour discovery
    // The window opens at tcpdump's last statistics report before the drops
    // (or when it began listening, if none came since: that can be well
    // before this test began on a busy machine) and ends when tcpdump
    // reported them.
    expect(Date.parse(gap.start as string)).toBeGreaterThanOrEqual(agentStartedAt);
    expect(Date.parse(gap.end as string)).toBeGreaterThanOrEqual(Date.parse(gap.start as string));
    expect(Date.parse(gap.end as string)).toBeLessThanOrEqual(Date.now());

    const status = await retainedStatus();
    expect(status.capture_incomplete).toBe(true);
    expect(status.state).toBe(3); // DEGRADED
    expect(status.text).toMatch(/capture incomplete: \d+ packets? dropped by the kernel/);
    expect(status.last_capture_gap?.cause).toBe('kernel_drop');
    // The same problem as an id and its count, for a page to say in its language.
    const incomplete = status.problems.find((p) => p.id === 'capture_incomplete');
    expect(Number(incomplete?.count)).toBe(Number(status.last_capture_gap?.packets_dropped));
    // The green light warns (it blinks) and the banner's problems say why.
    expect(status.preflight).toMatch(/^(warn|fail)$/);
    expect(status.preflight_problems.some((p) => p.startsWith('capture: capture incomplete'))).toBe(true);
    // The drops of one flood can be reported over several statistics reports,
    // so several gaps: the status names the latest, which tail prints too.
    const latest = Number(status.last_capture_gap?.packets_dropped);
    await waitFor(
      'the status gap in tail',
      () => gaps().some((g) => g.cause === 'kernel_drop' && g.packets_dropped === latest),
      10_000,
    );
    const dropped = gaps()
      .filter((g) => g.cause === 'kernel_drop')
      .reduce((n, g) => n + Number(g.packets_dropped), 0);
    expect(dropped).toBeLessThanOrEqual(FLOOD + 200);
  }, 90_000);

  it('reports a killed tcpdump as a capture_restart gap once a new one listens', async () => {
    const before = gaps().length;
    const old = tcpdumpPid();
    const killedAt = Date.now();
    process.kill(old, 'SIGKILL');
    await waitFor('a capture_restart gap', () => gaps().some((g) => g.cause === 'capture_restart'), 20_000);
    expect(tcpdumpPid()).not.toBe(old);
    const gap = gaps().find((g) => g.cause === 'capture_restart') as Record<string, unknown>;
    expect(gaps().length).toBeGreaterThan(before);
    expect(gap.packets_dropped).toBeNull();
    expect(Date.parse(gap.start as string)).toBeGreaterThanOrEqual(killedAt - 5);
    expect(Date.parse(gap.end as string)).toBeGreaterThan(Date.parse(gap.start as string));
    const status = await retainedStatus();
    expect(status.capture_incomplete).toBe(true);
    expect(status.last_capture_gap?.cause).toBe('capture_restart');
    expect(status.text).toMatch(/capture incomplete: capture restarted, blind between/);
    // A restart drops an unknown number of packets: count 0.
    expect(status.problems.map((p) => [p.id, Number(p.count)])).toContainEqual(['capture_incomplete', 0]);
  }, 60_000);

  it('prints the gaps as NDJSON that follows the event contract', () => {
    // Only the events: a status line names the capture_gap fix too (its fix_id).
    const lines = tailOut.split('\n').filter((l) => l.includes('"event_type":"capture_gap"'));
    // The contract wants a stats event last: the gaps, then a stats line of the run's totals.
    const input = `${lines.join('\n')}\n{"timestamp":"${new Date().toISOString().replace('Z', '000Z')}","event_type":"stats","packets":0,"bytes":0,"truncated":false}\n`;
    const c = spawnSync('python3', [join(ROOT, 'test/contract/check-ndjson.py')], { input, encoding: 'utf8' });
    expect(c.status, c.stdout).toBe(0);
    expect(c.stdout).toMatch(new RegExp(`${lines.length + 2} passed, 0 failed`));
  });

  it('shows capture incomplete in the dashboard banner, in words and with a sign', async () => {
    expect(token()).not.toBe('');
    const browser = await launchChromium();
    try {
      for (const [locale, lang, words, problem] of [
        ['en-GB', 'en', /CAPTURE INCOMPLETE/, 'capture incomplete, see Capture'],
        ['nl-NL', 'nl', /VASTLEGGING ONVOLLEDIG/, 'vastlegging onvolledig, zie Vastleggen'],
      ] as const) {
        const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, locale });
        const page = await context.newPage();
        // A fresh gap for each language: a killed tcpdump, restarted by the agent.
        const n = gaps().length;
        process.kill(tcpdumpPid(), 'SIGKILL');
        await waitFor('the restart gap', () => gaps().length > n, 20_000);
        await page.goto(`http://127.0.0.1:${httpPort}/?token=${token()}`);
        const line = page.getByTestId('capture-incomplete');
        await line.waitFor({ timeout: 20_000 });
        const text = (await line.textContent()) ?? '';
        expect(text).toMatch(words);
        expect(text).toContain('⚠');
        expect(['kernel_drop', 'capture_restart']).toContain(await line.getAttribute('data-cause'));
        // Under the banner's word, why, in the page's language (not the agent's English sentence).
        const why = await page.getByTestId('problem').allTextContents();
        expect(why).toContain(problem);
        expect(await page.locator('.banner-state').textContent()).not.toMatch(/capture incomplete:|blind between/);
        // "What to do" is said in the page's language too: no line falls back to the gateway's English.
        await expect.poll(() => page.locator('[data-testid="preflight"] li').count()).toBeGreaterThan(0);
        expect(await page.locator('[data-testid="preflight"] [lang="en"]').count()).toBe(0);
        expect(await page.locator('[data-testid="preflight"] li[data-fix-id]').count()).toBeGreaterThan(0);
        // No alert is not "nothing left" while the capture was blind.
        expect(await page.getByTestId('no-alerts').textContent()).toMatch(/missed packets|miste pakketten/);
        await page.screenshot({ path: join(artifactsDir(), `capture-incomplete-${lang}.png`) });
        await context.close();
      }
    } finally {
      await browser.close();
    }
  }, 90_000);

  it('says the capture is complete again once a clean interval has passed', async () => {
    const deadline = Date.now() + (CLEAN_S + 40) * 1000;
    let status = await retainedStatus();
    while (status.capture_incomplete && Date.now() < deadline) {
      await sleep(1000);
      status = await retainedStatus();
    }
    expect(status.capture_incomplete).toBe(false);
    expect(status.state).toBe(1); // ONLINE
    expect(status.text).toBe('ready');
    expect(status.preflight_problems.filter((p) => p.startsWith('capture:'))).toEqual([]);
    // The last gap is still there for who wants to know.
    expect(status.last_capture_gap?.cause).toMatch(/^(kernel_drop|capture_restart)$/);
  }, 90_000);

  it('records every gap in the flight evidence log', async () => {
    await stop(agent);
    const sessions = join(dataDir, 'sessions');
    const id = readdirSync(sessions).find((d) => existsSync(join(sessions, d, 'events.ndjson'))) as string;
    const records = checkChain(readFileSync(join(sessions, id, 'events.ndjson')), null).records;
    const logged = records.filter((r) => r.type === 'capture_gap').map((r) => r.data as Record<string, unknown>);
    const seen = gaps();
    // Every gap a viewer saw is in the log, in the same order. The log may hold more: a gap
    // reported after tail's last stats message (the agent stopping), or in a stats message a
    // busy viewer missed (stats go out at QoS 0).
    const key = (g: Record<string, unknown>) => `${g.cause} ${g.start} ${g.packets_dropped}`;
    const loggedKeys = logged.map(key);
    let at = 0;
    for (const k of seen.map(key)) {
      at = loggedKeys.indexOf(k, at);
      expect(at, `${k} in the evidence log after position ${at}: ${loggedKeys.join(', ')}`).toBeGreaterThanOrEqual(0);
      at++;
    }
    expect(seen.length).toBeGreaterThanOrEqual(3);
  }, 30_000);
});
