// InfluxDB goes away in the middle of a replay and comes back: influxd (real,
// started here) is stopped by PID while `egress replay --influx` runs,
// then started again on the same port and data. The agent keeps replaying,
// reports EGRESS_HISTORY_UNAVAILABLE once, drops the oldest queued points
// when its (small) queue is full and counts them in the stats message
// (history.dropped) and in /api/history, then writes again once influxd is
// back. Every point is accounted for: added = written + dropped, and what
// InfluxDB holds is exactly what the agent says it wrote.

import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeForTopic } from '../../agent/src/mqtt/codec-decode.js';
import { ROOT, spawnEgress } from '../support/cli.js';
import { Influxd } from '../support/influxd.js';
import { freePort } from '../support/mosquitto.js';

const dir = mkdtempSync(join(tmpdir(), 'egress-influx-outage-'));
const capture = join(dir, 'many.pcap');
const influxd = new Influxd();
const TOKEN = 'outage-test-token';
const GW = 'gw-outage';
let agent: ChildProcess | null = null;
let stderr = '';

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; agent log:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function count(measurement: string): Promise<number> {
  const s = await influxd.query('egress', `SELECT count(*) FROM "egress_raw"."${measurement}"`);
  if (s.length === 0) return 0;
  return Math.max(...(s[0].values[0].slice(1) as number[]));
}

beforeAll(async () => {
  // 2,000 distinct flows in 8 ms of capture time; replayed at 1/1000 speed they take about 8 s.
  const g = spawnSync(process.execPath, [
    `${ROOT}scripts/bench-lib/generate.mjs`,
    capture,
    '--packets',
    '20000',
    `${ROOT}test/fixtures/mixed/many-flows/input.pcap`,
  ]);
  expect(g.status, g.stderr.toString()).toBe(0);
  writeFileSync(join(dir, 'policy.yaml'), 'deny:\n  countries: [CN]\n');
  await influxd.start();
}, 60_000);

afterAll(async () => {
  if (agent && agent.exitCode === null) agent.kill('SIGKILL');
  await influxd.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('InfluxDB outage during a replay', () => {
  it('keeps replaying, drops oldest-first and counts it, and writes again once influxd is back', async () => {
    const [http, mqtt] = [await freePort(), await freePort()];
    agent = spawnEgress(
      [
        'replay',
        capture,
        '--speed',
        '0.001',
        '--policy',
        join(dir, 'policy.yaml'),
        '--influx',
        influxd.url('egress'),
        '--influx-queue',
        '100',
        '--gateway',
        GW,
        '--stats-interval',
        '1',
        '--data-dir',
        join(dir, 'data'),
        '--http',
        `127.0.0.1:${http}`,
        '--mqtt-port',
        String(mqtt),
        '--linger',
        '10',
        '--quiet',
      ],
      { env: { ...process.env, EGRESS_DASHBOARD_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    agent.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    agent.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const exited = new Promise<number | null>((r) => agent?.once('exit', (code) => r(code)));

    // The stats messages, as a dashboard gets them.
    await until('the broker', () => /viewer login/.test(stderr));
    const sub = await connectAsync(`mqtt://127.0.0.1:${mqtt}`, {
      username: 'egress-viewer',
      password: TOKEN,
      reconnectPeriod: 0,
    });
    const statsDropped: number[] = [];
    sub.on('message', (topic, payload) => {
      const m = decodeForTopic(topic, payload)?.message as { counters?: Record<string, unknown> } | undefined;
      if (m?.counters?.['history.dropped'] !== undefined) statsDropped.push(Number(m.counters['history.dropped']));
    });
    await sub.subscribeAsync(`egress/v1/${GW}/stats`);

    await until('the first alerts in InfluxDB', async () => (await count('alert')) > 0);
    await influxd.stop();
    await until('the outage reported', () => /EGRESS_HISTORY_UNAVAILABLE/.test(stderr));

    // The dashboard's endpoint says so too, with the drops.
    expect((await fetch(`http://127.0.0.1:${http}/api/history`)).status).toBe(401); // behind the login
    const login = await fetch(`http://127.0.0.1:${http}/?token=${TOKEN}`, { redirect: 'manual' });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    let answer: { code?: string; writer?: { connected: boolean; counters: { dropped: number } } } = {};
    await until('drops while InfluxDB is away', async () => {
      const r = await fetch(`http://127.0.0.1:${http}/api/history`, { headers: { cookie } });
      expect(r.status).toBe(503);
      answer = (await r.json()) as typeof answer;
      return (answer.writer?.counters.dropped ?? 0) > 0;
    });
    expect(answer.code).toBe('EGRESS_HISTORY_UNAVAILABLE');
    expect(answer.writer?.connected).toBe(false);
    await until('drops in a stats message', () => statsDropped.some((n) => n > 0));

    await influxd.start();
    await until('writes again', () => /history: InfluxDB takes points again/.test(stderr));
    const code = await exited;
    await sub.endAsync(true);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^replayed 20000 packets; flows: 2000 to the internet/m);
    expect(stderr.match(/EGRESS_HISTORY_UNAVAILABLE/g)).toHaveLength(1);

    const m = /history: (\d+) points, (\d+) written, (\d+) dropped, (\d+) rejected/.exec(stderr);
    expect(m, stderr).not.toBeNull();
    const [added, written, dropped, rejected] = (m as RegExpExecArray).slice(1).map(Number);
    expect(dropped).toBeGreaterThan(0);
    expect(rejected).toBe(0);
    expect(written + dropped).toBe(added);
    const held = (await Promise.all(['flow', 'alert', 'capture', 'status'].map(count))).reduce((a, b) => a + b, 0);
    expect(held).toBe(written);
    // Flows end when the replay does, after the outage: they are in InfluxDB (as many as the queue of 100 held).
    expect(await count('flow')).toBeGreaterThan(0);
  }, 120_000);
});
