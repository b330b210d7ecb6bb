// No alert is lost: `egress replay` publishing to a real mosquitto that goes
// away and comes back, and an agent killed with SIGKILL while alerts wait in
// its spool. The capture is made from the real fixture captures (the
// benchmark generator: shifted addresses and ports, so every copy is a new
// flow and, under the default profile, a new alert).

import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAlert } from '../../agent/src/mqtt/codec-decode.js';
import { egress, events, ROOT, spawnEgress } from '../support/cli.js';
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
  const child = spawnEgress(['replay', ...args, '--data-dir', dataDir, '--no-http'], {
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

/** The publisher's QoS 1 in-flight window (PublisherOptions.inflight, the agent uses the default). */
const INFLIGHT = 64;
/** mosquitto's default max_inflight_messages towards one subscriber. */
const SUBSCRIBER_INFLIGHT = 20;

/**
 * What is promised, per alert id (gateway/run/flow_id/severity): at least
 * once, never lost, first arrivals in the order the alerts were raised, and
 * duplicates bounded. A copy arrives twice only when it was in flight when a
 * connection dropped or the agent died: the publisher re-sends its in-flight
 * window (at most INFLIGHT records), and a broker restart re-sends what it had
 * in flight to the subscriber (at most SUBSCRIBER_INFLIGHT). With no drop
 * while messages are in flight, that is exactly once.
 *
 * Counts every delivery (no de-duplication before comparing) and asserts:
 * every expected alert arrived, nothing else arrived, first arrivals in
 * order, one run, and at most `maxDuplicates` extra copies in all, none
 * delivered more than twice.
 */
function expectDelivered(
  ids: string[],
  maxDuplicates: number,
  maxCopies = maxDuplicates === 0 ? 1 : 2,
): { duplicates: number } {
  const counts = new Map<string, number>();
  const runs = new Set<string>();
  for (const id of ids) {
    const p = id.split('/');
    runs.add(p[1]);
    const key = `${p[2]}/${p[3]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const duplicates = ids.length - counts.size;
  const firsts = [...counts.keys()];
  const at = firsts.findIndex((k, i) => k !== expected[i]);
  const facts = `${ids.length} deliveries, ${counts.size} distinct of ${expected.length}, ${duplicates} duplicates, first difference at ${at}`;
  expect(runs.size, facts).toBe(1);
  expect(firsts, facts).toEqual(expected); // every alert, nothing else, first arrivals in order
  expect(duplicates, facts).toBeLessThanOrEqual(maxDuplicates);
  expect(Math.max(...counts.values()), facts).toBeLessThanOrEqual(maxCopies);
  return { duplicates };
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
    // Nothing was in flight when the broker went away (it was away before the first publish): exactly once.
    expectDelivered(sub.ids, 0);
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
    let log = '';
    child.stderr?.on('data', (c: Buffer) => (log += c.toString()));
    let resubscribed = 0; // the subscriber's reconnects: the broker re-sends its window to it on each
    sub.client.on('connect', () => resubscribed++);
    await until(() => sub.ids.length > 0, 10_000);
    await broker.stop();
    const atStop = sub.ids.length;
    await new Promise((r) => setTimeout(r, 1500));
    await broker.start();
    expect(await exited(child)).toBe(0);
    await until(() => sub.ids.length >= expected.length, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    await new Promise((r) => setTimeout(r, 300));
    expect(atStop).toBeLessThan(expected.length); // the outage really came in the middle
    // Each connection the agent lost with messages in flight re-sends its window once (MQTT.js's
    // outgoing store), and each time the subscriber reconnects the broker re-sends its window to
    // it once. The broker's stop drops both once. 151 duplicates were seen once at load average 10
    // (22 or 65 when quiet), more than one window a side: the bound follows the reconnects seen on
    // both sides, so a second drop under load is allowed for, and more duplicates than the drops
    // explain (or a re-send of everything) fail with the counts.
    const drops = (log.match(/disconnected from \S+; reconnecting/g) ?? []).length;
    expect(drops, log).toBeGreaterThanOrEqual(1);
    expect(resubscribed).toBeGreaterThanOrEqual(1);
    const bound = drops * INFLIGHT + resubscribed * SUBSCRIBER_INFLIGHT;
    const { duplicates } = expectDelivered(sub.ids, bound, drops + resubscribed + 1);
    if (drops + resubscribed > 2)
      console.log(`delivery: ${drops} + ${resubscribed} reconnects, ${duplicates} duplicates`);
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
    await new Promise((r) => setTimeout(r, 300));
    // The killed agent never reached the broker: nothing was in flight, so exactly once, all from its run.
    expectDelivered(sub.ids, 0);
    await broker.stop();
  }, 90_000);

  it('sends at most its in-flight window twice when killed with SIGKILL mid-delivery, and loses nothing', async () => {
    const broker = new Mosquitto({ persistent: true });
    await broker.start();
    const gw = 'gw-kill-midway';
    const sub = await subscribe(broker, gw);
    const data = join(dir, 'kill-midway');
    // About 4 s of alerts (see the mid-replay outage above), published as they are raised.
    const first = replay(
      [capture, '--speed', '0.0005', '--broker', broker.url, '--gateway', gw, '--linger', '20', '--quiet'],
      data,
    );
    // A loaded machine may take many seconds to start the agent: wait for it, and say so when it never came.
    await until(() => sub.ids.length >= 10, 30_000);
    expect(sub.ids.length, 'alerts arrived before the kill').toBeGreaterThanOrEqual(10);
    first.kill('SIGKILL');
    await exited(first);
    const atKill = new Set(sub.ids).size;
    expect(atKill).toBeLessThan(expected.length); // killed in the middle, alerts still to come
    // A new agent on the same data directory sends what the spool holds: the alerts the killed one raised and
    // had not had acknowledged (its in-flight window again, at worst).
    const second = replay([quiet, '--speed', 'max', '--broker', broker.url, '--gateway', gw, '--linger', '20'], data);
    expect(await exited(second)).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    // The first N alerts of the capture, N at least what had arrived at the kill, first arrivals in order.
    const counts = new Map<string, number>();
    for (const id of sub.ids) {
      const key = id.split('/').slice(2).join('/');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBeGreaterThanOrEqual(atKill);
    expect([...counts.keys()]).toEqual(expected.slice(0, counts.size));
    expect(new Set(sub.ids.map((id) => id.split('/')[1])).size).toBe(1);
    expect(sub.ids.length - counts.size).toBeLessThanOrEqual(INFLIGHT);
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(2);
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
