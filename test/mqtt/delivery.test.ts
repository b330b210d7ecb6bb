// No alert is lost: `egress replay` publishing to a real mosquitto that goes
// away and comes back, and an agent killed with SIGKILL while alerts wait in
// its spool. The capture is made from the real fixture captures (the
// benchmark generator: shifted addresses and ports, so every copy is a new
// flow and, under the default profile, a new alert).

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAlert } from '../../agent/src/mqtt/codec.js';
import { EGRESS_BIN, egress, events, ROOT } from '../support/cli.js';
import { Mosquitto } from '../support/mosquitto.js';

const dir = mkdtempSync(join(tmpdir(), 'egress-delivery-'));
const capture = join(dir, 'alerts.pcap');
const quiet = join(ROOT, 'test/fixtures/tcp/handshake-only/input.pcap');
const children: ChildProcess[] = [];
const subscribers: MqttClient[] = [];
let expectedAlerts = 0;

beforeAll(() => {
  const seeds = execFileSync('find', [join(ROOT, 'test/fixtures/names'), '-name', 'input.pcap'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .sort();
  execFileSync('node', [join(ROOT, 'scripts/bench-lib/generate.mjs'), capture, '--packets', '3000', ...seeds]);
  expectedAlerts = events(egress(['scan', capture, '--format', 'ndjson']).stdout).filter(
    (e) => e.event_type === 'alert',
  ).length;
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await Promise.all(subscribers.map((s) => s.endAsync(true)));
});

/** A subscriber with a persistent session, so it misses nothing while the broker restarts. */
async function subscribe(broker: Mosquitto, gw: string): Promise<{ ids: string[]; client: MqttClient }> {
  const ids: string[] = [];
  const client = await connectAsync(broker.url, {
    clientId: `test-sub-${gw}`,
    clean: false,
    reconnectPeriod: 100,
    protocolVersion: 4,
  });
  subscribers.push(client);
  client.on('message', (_t, payload) => ids.push(decodeAlert(payload).id));
  await client.subscribeAsync(`egress/v1/${gw}/alert`, { qos: 1 });
  return { ids, client };
}

function replay(args: string[], dataDir: string): ChildProcess {
  const child = spawn('node', [EGRESS_BIN, 'replay', ...args, '--data-dir', dataDir, '--no-http'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return child;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}

/** "gw-run-N" → N; checks every id belongs to one run of one gateway. */
function sequence(ids: string[]): number[] {
  return ids.map((id) => Number(id.slice(id.lastIndexOf('-') + 1)));
}

describe('store and forward', () => {
  it('the capture produces alerts to deliver', () => {
    expect(expectedAlerts).toBeGreaterThan(50);
  });

  it('delivers every alert exactly once, in order, across a broker outage', async () => {
    const broker = new Mosquitto({ persistent: true });
    await broker.start();
    const gw = 'gw-outage';
    const sub = await subscribe(broker, gw);
    await broker.stop(); // away before and during the replay
    const child = replay(
      [capture, '--speed', 'max', '--broker', broker.url, '--gateway', gw, '--linger', '20'],
      join(dir, 'outage'),
    );
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    await until(() => /alerts: \d+/.test(out), 20_000);
    await new Promise((r) => setTimeout(r, 1500)); // away for a while longer
    await broker.start();
    await until(() => sub.ids.length >= expectedAlerts, 30_000);
    child.kill('SIGTERM');
    await exited(child);
    const seq = sequence(sub.ids);
    expect(new Set(sub.ids).size).toBe(sub.ids.length);
    expect(sub.ids.length).toBe(expectedAlerts);
    expect(seq).toEqual([...seq].sort((a, b) => a - b));
    expect(seq[0]).toBe(1);
    expect(seq[seq.length - 1]).toBe(expectedAlerts);
    await broker.stop();
  }, 90_000);

  it('loses nothing when the agent is killed with SIGKILL while alerts are spooled', async () => {
    const broker = new Mosquitto({ persistent: true });
    await broker.start();
    const gw = 'gw-crash';
    const sub = await subscribe(broker, gw);
    await broker.stop();
    const data = join(dir, 'crash');
    const first = replay([capture, '--speed', 'max', '--broker', broker.url, '--gateway', gw, '--linger', '60'], data);
    let out = '';
    first.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    await until(() => /alerts: \d+/.test(out), 20_000);
    const printed = Number(/alerts: (\d+)/.exec(out)?.[1]);
    first.kill('SIGKILL');
    await exited(first);
    expect(printed).toBe(expectedAlerts);

    await broker.start();
    // A new agent on the same data directory, replaying a capture with no alerts: it sends what the spool holds.
    const second = replay([quiet, '--speed', 'max', '--broker', broker.url, '--gateway', gw, '--linger', '20'], data);
    await until(() => sub.ids.length >= printed, 30_000);
    second.kill('SIGTERM');
    await exited(second);
    const seq = [...new Set(sequence(sub.ids))].sort((a, b) => a - b);
    expect(seq.length).toBe(printed);
    expect(seq[seq.length - 1]).toBe(printed);
    await broker.stop();
  }, 90_000);
});
