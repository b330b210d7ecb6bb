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
/** A valid capture with no packets: the second agent only sends what the spool holds. */
const quiet = join(ROOT, 'test/fixtures/bad/header-only/input.pcap');
const children: ChildProcess[] = [];
const subscribers: MqttClient[] = [];
/** The alerts `egress scan` gives for the capture, in order, as flow_id/severity. */
let expected: string[] = [];

beforeAll(() => {
  const seeds = execFileSync('find', [join(ROOT, 'test/fixtures/names'), '-name', 'input.pcap'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .sort();
  execFileSync('node', [join(ROOT, 'scripts/bench-lib/generate.mjs'), capture, '--packets', '3000', ...seeds]);
  expected = events(egress(['scan', capture, '--format', 'ndjson']).stdout)
    .filter((e) => e.event_type === 'alert')
    .map((e) => `${e.flow_id}/${e.alert.severity}`);
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

/**
 * Alert ids are gateway/run/flow_id/severity: the flow_id/severity part of
 * each id at its first arrival, and the runs seen. MQTT QoS 1 is at least
 * once: a message in flight when the connection drops is sent again, so a
 * subscriber sees it twice with the same id and keeps the first.
 */
function alertsOf(ids: string[]): { keys: string[]; runs: Set<string> } {
  const parts = [...new Set(ids)].map((id) => id.split('/'));
  return { keys: parts.map((p) => `${p[2]}/${p[3]}`), runs: new Set(parts.map((p) => p[1])) };
}

describe('store and forward', () => {
  it('the capture produces alerts to deliver', () => {
    expect(expected.length).toBeGreaterThan(50);
  });

  it('delivers every alert, once by id and in order, across a broker outage', async () => {
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
    await until(() => sub.ids.length >= expected.length, 30_000);
    expect(await exited(child)).toBe(0); // everything delivered within --linger
    await new Promise((r) => setTimeout(r, 300)); // anything late or extra would arrive now
    const got = alertsOf(sub.ids);
    expect(got.runs.size).toBe(1);
    expect(got.keys).toEqual(expected); // every alert, once by id, in the order they were raised
    await broker.stop();
  }, 90_000);

  it('delivers every alert, once by id and in order, when the broker goes away mid-replay', async () => {
    const broker = new Mosquitto({ persistent: true });
    await broker.start();
    const gw = 'gw-midway';
    const sub = await subscribe(broker, gw);
    // The capture spans 2 ms; at speed 0.0005 the replay takes about 4 s, alerts all along.
    const child = replay(
      [capture, '--speed', '0.0005', '--broker', broker.url, '--gateway', gw, '--linger', '20', '--quiet'],
      join(dir, 'midway'),
    );
    await until(() => sub.ids.length > 0, 10_000);
    await broker.stop();
    const atStop = sub.ids.length;
    await new Promise((r) => setTimeout(r, 1500));
    await broker.start();
    expect(await exited(child)).toBe(0);
    await until(() => sub.ids.length >= expected.length, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(atStop).toBeLessThan(expected.length); // the outage really came in the middle
    const got = alertsOf(sub.ids);
    expect(got.runs.size).toBe(1);
    expect(got.keys).toEqual(expected);
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
    expect(printed).toBe(expected.length);

    await broker.start();
    // A new agent on the same data directory, replaying a capture with no alerts: it sends what the spool holds.
    const second = replay([quiet, '--speed', 'max', '--broker', broker.url, '--gateway', gw, '--linger', '20'], data);
    await until(() => sub.ids.length >= printed, 30_000);
    expect(await exited(second)).toBe(0);
    const got = alertsOf(sub.ids);
    expect(got.runs.size).toBe(1); // all from the killed agent's run
    expect(got.keys).toEqual(expected);
    await broker.stop();
  }, 90_000);
});

describe('a full disk', () => {
  const small = join(dir, 'small');
  beforeAll(() => {
    execFileSync('mkdir', ['-p', small]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', small]);
  });
  afterAll(() => {
    execFileSync('umount', [small]);
  });

  it('does not stop the agent: the alerts the spool cannot take are counted and logged', async () => {
    const broker = new Mosquitto();
    await broker.start();
    await broker.stop(); // away: everything goes to the spool, which fills the 512 KiB disk
    const child = replay(
      [capture, '--speed', 'max', '--broker', broker.url, '--gateway', 'gw-full', '--linger', '1'],
      small,
    );
    let out = '';
    let err = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
    });
    expect(await exited(child)).toBe(1); // messages left undelivered
    expect(out).toContain(`alerts: ${expected.length}`); // every packet was still judged
    expect(err).toMatch(/spool: .*(ENOSPC|no space)/i);
  }, 60_000);
});
