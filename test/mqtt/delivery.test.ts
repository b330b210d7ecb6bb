// No alert is lost: `egress replay` publishing to a real mosquitto that goes
// away and comes back, and an agent killed with SIGKILL while alerts wait in
// its spool. The capture is made from the real fixture captures (the
// benchmark generator: shifted addresses and ports, so every copy is a new
// flow and, under the default profile, a new alert).

import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { egress, events, ROOT, spawnEgress } from '../support/cli.js';
import { Mosquitto, type MosquittoOptions } from '../support/mosquitto.js';
import {
  extraCopies,
  inFlightAtDrops,
  type Subscriber,
  subscribeAlerts,
  timeline,
  unackedAtStops,
} from '../support/mqtt-deliveries.js';

const dir = mkdtempSync(join(tmpdir(), 'egress-delivery-'));
const capture = join(dir, 'alerts.pcap');
/** A valid capture with no packets: the second agent only sends what the spool holds. */
const quiet = join(ROOT, 'test/fixtures/bad/header-only/input.pcap');
const children: ChildProcess[] = [];
const subscribers: MqttClient[] = [];
const brokers: Mosquitto[] = [];
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
  await Promise.all(brokers.map((b) => b.stop())); // also those of a test that failed before its own stop
});

/** A broker stopped (by PID) after the file's tests whatever their outcome. */
function mosquitto(options: MosquittoOptions = {}): Mosquitto {
  const b = new Mosquitto(options);
  brokers.push(b);
  return b;
}

async function subscribe(broker: Mosquitto, gw: string): Promise<Subscriber> {
  const sub = await subscribeAlerts(broker, gw);
  subscribers.push(sub.client);
  return sub;
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

/**
 * What is promised, per alert id (gateway/run/flow_id/severity): at least
 * once, never lost, first arrivals in the order the alerts were raised, and
 * duplicates bounded. A copy arrives twice only when it was in flight when a
 * connection dropped or the agent died: the publisher re-sends its in-flight
 * window (at most INFLIGHT records), and a broker restart re-sends what it had
 * sent to the subscriber and not had acknowledged (test/support/mqtt-deliveries.ts).
 * With no drop while messages are in flight, that is exactly once.
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
    const broker = mosquitto({ persistent: true });
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
    // Its packet log says what it had sent to the subscriber and not had acknowledged when it stopped.
    const broker = mosquitto({ persistent: true, logPackets: true });
    await broker.start();
    const gw = 'gw-midway';
    const sub = await subscribe(broker, gw);
    // The capture spans 2 ms; at speed 0.0005 the replay takes about 4 s. Its flows end, and nearly all its
    // alerts are raised, when it finishes (measured: 2745 alert lines between 5.6 and 5.9 s): the outage
    // comes in the middle of their delivery.
    const child = replay(
      [capture, '--speed', '0.0005', '--broker', broker.url, '--gateway', gw, '--linger', '20', '--quiet'],
      join(dir, 'midway'),
    );
    let log = '';
    const trace: string[] = [];
    const at = () => Date.now() - sub.t0;
    child.stderr?.on('data', (c: Buffer) => {
      log += c.toString();
      for (const l of c.toString().split('\n')) if (l) trace.push(`${at()} agent: ${l}`);
    });
    // More than a window delivered before the outage, so a re-send of everything would show. A loaded
    // machine may take many seconds to start the agent: wait for it, and say so when it never came.
    await until(() => sub.ids.length >= 2 * INFLIGHT, 30_000);
    expect(sub.ids.length, 'alerts delivered before the outage').toBeGreaterThanOrEqual(2 * INFLIGHT);
    trace.push(`${at()} test: broker stop, ${sub.ids.length} deliveries so far`);
    await broker.stop();
    const atStop = sub.ids.length;
    await new Promise((r) => setTimeout(r, 1500));
    trace.push(`${at()} test: broker start`);
    await broker.start();
    expect(await exited(child)).toBe(0);
    await until(() => sub.ids.length >= expected.length, 10_000);
    await new Promise((r) => setTimeout(r, 600)); // anything late or extra would arrive now
    expect(atStop).toBeLessThan(expected.length); // the outage really came in the middle
    // The rule (README "MQTT"), each side from its own log: the agent sends again what it had in
    // flight at each drop it logged (no DUP on the way to the subscriber); the broker sends again, with
    // DUP, what it had sent to the subscriber and not had acknowledged when it stopped. Nothing else
    // comes twice: a re-send of anything already acknowledged fails here, with the counts.
    const resent = inFlightAtDrops(log);
    const unacked = unackedAtStops(broker.log, `test-sub-${gw}`);
    const copies = extraCopies(sub.deliveries);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const facts = `agent in flight at its drops ${resent.join('+')}, broker unacknowledged at its stops ${unacked.atStops.join('+')} (most at once ${unacked.most}), extra copies: ${copies.byAgent} without DUP, ${copies.byBroker} with DUP`;
    if (process.env.EGRESS_DELIVERY_TRACE) console.log(`delivery: ${facts}\n${timeline(sub, trace)}`);
    else if (resent.length > 1) console.log(`delivery: ${resent.length} drops; ${facts}`); // rare: say it
    expect(resent.length, log).toBeGreaterThanOrEqual(1);
    for (const n of resent) expect(n, facts).toBeLessThanOrEqual(INFLIGHT);
    expect(unacked.atStops, facts).toHaveLength(1);
    expect(copies.byAgent, facts).toBeLessThanOrEqual(sum(resent));
    expect(copies.byBroker, facts).toBeLessThanOrEqual(sum(unacked.atStops));
    expectDelivered(sub.ids, sum(resent) + sum(unacked.atStops), resent.length + unacked.atStops.length + 1);
    await broker.stop();
  }, 90_000);

  it('loses nothing when the agent is killed with SIGKILL while alerts are spooled', async () => {
    const broker = mosquitto({ persistent: true });
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
    const broker = mosquitto({ persistent: true });
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
    const broker = mosquitto();
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
