// The MQTT publisher and its spool, in process, against a real mosquitto
// (README "MQTT": alerts exactly once without a crash, at most the in-flight
// window again after one; a record leaves the spool only on the broker's
// PUBACK). Every delivery is counted per message id, nothing de-duplicated.
// The agent-as-subprocess tests (delivery.test.ts) cover the same promise end
// to end; these run in process so mutation testing sees the publisher's code.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Publisher, type PublisherOptions } from '../../agent/src/mqtt/publisher.js';
import { MIN_SPOOL_BYTES, Spool, type SpoolClass } from '../../agent/src/mqtt/spool.js';
import { Mosquitto } from '../support/mosquitto.js';

const GW = 'egress/v1/gw';
const TOPIC: Record<SpoolClass, string> = {
  alert: `${GW}/alert`,
  session: `${GW}/session`,
  flow: `${GW}/flow`,
  stats: `${GW}/stats`,
};
const STATUS = `${GW}/status`;

let broker: Mosquitto;
const dirs: string[] = [];
const publishers: Publisher[] = [];
const spools: Spool[] = [];
const sinks: MqttClient[] = [];

// A fresh broker, spool and publisher in every test (not in beforeAll): mutation testing's
// per-test coverage only sees the publisher's constructor when a test runs it.
beforeEach(async () => {
  broker = new Mosquitto({ persistent: true, queueQos0: true });
  await broker.start();
});

afterEach(async () => {
  broker.resume();
  await Promise.all(publishers.splice(0).map((p) => crash(p)));
  await Promise.all(sinks.splice(0).map((c) => c.endAsync(true)));
  for (const s of spools.splice(0)) s.close();
  await broker.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  rmSync(broker.dir, { recursive: true, force: true });
});

function openSpool(dir?: string, maxBytes?: number): Spool {
  const d = dir ?? mkdtempSync(join(tmpdir(), 'egress-pubspool-'));
  if (dir === undefined) dirs.push(d);
  const s = Spool.open(d, maxBytes === undefined ? {} : { maxBytes });
  spools.push(s);
  return s;
}

function publisher(spool: Spool, options: Partial<PublisherOptions> = {}): Publisher & { lines: string[] } {
  const lines: string[] = [];
  const p = new Publisher({
    url: broker.url,
    clientId: 'egress-agent-gw',
    statusTopic: STATUS,
    online: () => Buffer.from('online'),
    offline: Buffer.from('offline'),
    spool,
    reconnectMs: 50,
    log: (l) => lines.push(l),
    ...options,
  });
  publishers.push(p);
  return Object.assign(p, { lines });
}

/** The MQTT.js client inside (what went on the wire, and a crash: the socket destroyed, no DISCONNECT). */
function wire(p: Publisher): MqttClient {
  return (p as unknown as { client: MqttClient }).client;
}

/** The agent dies: its connection is cut without a DISCONNECT, nothing more is acknowledged to it. */
async function crash(p: Publisher): Promise<void> {
  await wire(p).endAsync(true);
}

/** Payloads of the PUBLISH packets written to the socket on one topic (first sends and re-sends). */
function sentPublishes(p: Publisher, topic = TOPIC.alert): string[] {
  const sent: string[] = [];
  wire(p).on('packetsend', (packet) => {
    if (packet.cmd === 'publish' && packet.topic === topic) sent.push(String(packet.payload));
  });
  return sent;
}

/** Every PUBLISH packet written to the socket: payload → [QoS, retain]. */
function sentFlags(p: Publisher): Map<string, [number, boolean]> {
  const flags = new Map<string, [number, boolean]>();
  wire(p).on('packetsend', (packet) => {
    if (packet.cmd === 'publish') flags.set(String(packet.payload), [packet.qos, packet.retain]);
  });
  return flags;
}

interface Delivery {
  topic: string;
  text: string;
  retain: boolean;
}

/** A dashboard-like subscriber with a kept session (it gets what was published while it was away). */
async function sink(): Promise<Delivery[] & { client: MqttClient }> {
  const got: Delivery[] = [];
  const c = await connectAsync(broker.url, {
    clientId: `sink-${sinks.length}`,
    clean: false,
    protocolVersion: 4,
    reconnectPeriod: 50,
  });
  sinks.push(c);
  c.on('message', (topic, payload, packet) => got.push({ topic, text: payload.toString(), retain: packet.retain }));
  await c.subscribeAsync(`${GW}/#`, { qos: 1 });
  return Object.assign(got, { client: c });
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Deliveries per payload on one topic, in first-arrival order. */
function counts(got: Delivery[], topic: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const d of got) if (d.topic === topic) m.set(d.text, (m.get(d.text) ?? 0) + 1);
  return m;
}

const ids = (prefix: string, n: number, from = 1) => Array.from({ length: n }, (_, i) => `${prefix}${from + i}`);

describe('publisher: exact delivery with the broker up', () => {
  it.each([
    { inflight: 1, alerts: 20 },
    { inflight: 4, alerts: 50 },
    { inflight: 64, alerts: 200 },
  ])(
    'every alert exactly once and in order (in-flight window $inflight, $alerts alerts)',
    async ({ inflight, alerts }) => {
      const got = await sink();
      const spool = openSpool();
      const p = publisher(spool, { inflight });
      await until(() => p.connected);
      const sent = sentPublishes(p);
      const want = ids('a', alerts);
      for (const id of want) p.send('alert', TOPIC.alert, Buffer.from(id));
      expect(await p.flush(10_000)).toBe(true);
      await until(() => got.filter((d) => d.topic === TOPIC.alert).length >= alerts);
      await sleep(100); // a duplicate would arrive now
      const c = counts(got, TOPIC.alert);
      expect([...c.keys()]).toEqual(want);
      expect([...c.values()].every((n) => n === 1)).toBe(true);
      expect(sent).toEqual(want); // each handed to the socket once
      expect(p.counters.published_alert).toBe(alerts);
      expect(spool.pending).toBe(0);
      expect(p.pending).toBe(0);
      expect(spool.counters).toMatchObject({ appended: alerts, delivered: alerts });
    },
  );

  it('spools alerts and sessions (QoS 1, sessions retained); flows and stats go straight out at QoS 0', async () => {
    const got = await sink();
    const spool = openSpool();
    const p = publisher(spool);
    await until(() => p.connected);
    const flags = sentFlags(p);
    p.send('flow', TOPIC.flow, Buffer.from('f1'));
    p.send('stats', TOPIC.stats, () => Buffer.from('s1'));
    expect(spool.counters.appended).toBe(0); // not spooled: straight out
    p.send('alert', TOPIC.alert, Buffer.from('a1'));
    p.send('session', TOPIC.session, () => Buffer.from('open'));
    expect(spool.counters.appended).toBe(2);
    expect(await p.flush(5000)).toBe(true);
    await until(() => got.length >= 5);
    await sleep(50);
    expect(
      got
        .filter((d) => d.topic !== STATUS)
        .map((d) => d.text)
        .sort(),
    ).toEqual(['a1', 'f1', 'open', 's1']);
    expect(Object.fromEntries(flags)).toMatchObject({
      f1: [0, false],
      s1: [0, false],
      a1: [1, false],
      open: [1, true],
    });
    expect(p.counters).toMatchObject({
      published_alert: 1,
      published_session: 1,
      published_flow: 1,
      published_stats: 1,
    });
    // The session is retained: a dashboard that connects later sees it; the alert is not.
    const late = await connectAsync(broker.url, { clientId: 'late', protocolVersion: 4, reconnectPeriod: 0 });
    sinks.push(late);
    const retained: Delivery[] = [];
    late.on('message', (topic, payload, packet) =>
      retained.push({ topic, text: payload.toString(), retain: packet.retain }),
    );
    await late.subscribeAsync(`${GW}/#`, { qos: 1 });
    await until(() => retained.length >= 2);
    await sleep(50);
    expect(retained.sort((a, b) => a.topic.localeCompare(b.topic))).toEqual([
      { topic: TOPIC.session, text: 'open', retain: true },
      { topic: STATUS, text: 'online', retain: true },
    ]);
  });

  it('while spooled records wait, a flow goes behind them (order kept), not straight out', async () => {
    const got = await sink();
    const spool = openSpool();
    const p = publisher(spool, { inflight: 2 });
    await until(() => p.connected);
    broker.pause();
    for (const id of ids('a', 5)) p.send('alert', TOPIC.alert, Buffer.from(id));
    p.send('flow', TOPIC.flow, Buffer.from('f1'));
    expect(spool.counters.appended).toBe(6); // the flow waits in the spool
    expect(spool.pending).toBe(6);
    broker.resume();
    expect(await p.flush(5000)).toBe(true);
    await until(() => got.length >= 7);
    expect(got.map((d) => d.text)).toEqual(['online', ...ids('a', 5), 'f1']);
    expect(p.counters).toMatchObject({ published_alert: 5, published_flow: 1 });
  });
});

describe('publisher: a record leaves the spool only on PUBACK', () => {
  it.each([1, 3, 8])(
    'with the broker frozen, %i alerts handed to the socket stay spooled until acknowledged',
    async (inflight) => {
      const got = await sink();
      const spool = openSpool();
      const p = publisher(spool, { inflight });
      await until(() => p.connected);
      const sent = sentPublishes(p);
      broker.pause();
      const want = ids('a', 10);
      for (const id of want) p.send('alert', TOPIC.alert, Buffer.from(id));
      await until(() => sent.length >= inflight);
      await sleep(100);
      // The window is on the wire, no more; nothing acknowledged, so nothing left the spool.
      expect(sent).toEqual(want.slice(0, inflight));
      expect(spool.pending).toBe(10);
      expect(spool.counters.delivered).toBe(0);
      expect(p.counters.published_alert).toBe(0);
      expect(await p.flush(100)).toBe(false);
      broker.resume();
      expect(await p.flush(5000)).toBe(true);
      expect(spool.counters.delivered).toBe(10);
      expect(p.counters.published_alert).toBe(10);
      expect(sent).toEqual(want);
      await until(() => got.length >= 10);
      expect([...counts(got, TOPIC.alert).entries()]).toEqual(want.map((id) => [id, 1]));
    },
  );

  it('after a crash, the spool replays: only the in-flight window can come twice, nothing is lost', async () => {
    const got = await sink();
    const dir = mkdtempSync(join(tmpdir(), 'egress-pubspool-'));
    dirs.push(dir);
    const inflight = 3;
    const spool = openSpool(dir);
    const p = publisher(spool, { inflight });
    await until(() => p.connected);
    const sent = sentPublishes(p);
    // Acknowledged before the crash: never again.
    for (const id of ids('a', 4)) p.send('alert', TOPIC.alert, Buffer.from(id));
    expect(await p.flush(5000)).toBe(true);
    broker.pause();
    const want = ids('a', 10, 5);
    for (const id of want) p.send('alert', TOPIC.alert, Buffer.from(id));
    await until(() => sent.length >= 4 + inflight);
    await crash(p);
    spools.splice(spools.indexOf(spool), 1);
    spool.close();
    broker.resume();
    // The last will: "offline", retained, for a dashboard that connects now.
    await until(() => got.filter((d) => d.topic === STATUS).length >= 2);
    const late = await connectAsync(broker.url, { clientId: 'late', protocolVersion: 4, reconnectPeriod: 0 });
    sinks.push(late);
    const status = new Promise<[string, boolean]>((r) =>
      late.once('message', (_t, m, pk) => r([m.toString(), pk.retain])),
    );
    await late.subscribeAsync(STATUS, { qos: 1 });
    expect(await status).toEqual(['offline', true]);
    const again = openSpool(dir);
    expect(again.pending).toBe(10);
    expect(again.counters.recovered).toBe(10);
    const p2 = publisher(again, { inflight });
    expect(await p2.flush(5000)).toBe(true);
    await until(() => got.filter((d) => d.topic === TOPIC.alert).length >= 14);
    await sleep(200);
    const c = counts(got, TOPIC.alert);
    expect([...c.keys()]).toEqual([...ids('a', 4), ...want]); // first arrivals in order
    for (const id of ids('a', 4)) expect(c.get(id), id).toBe(1);
    for (const id of want.slice(0, inflight)) expect(c.get(id), id).toBeLessThanOrEqual(2);
    for (const id of want.slice(inflight)) expect(c.get(id), id).toBe(1);
    expect(p2.counters.published_alert).toBe(10);
    // The crash left the last will: "offline", retained, then "online" again.
    expect(got.filter((d) => d.topic === STATUS).map((d) => d.text)).toEqual(['online', 'offline', 'online']);
  });
});

describe('publisher: broker outage and reconnect', () => {
  it('spools everything while the broker is away, then delivers alerts and sessions first, each once, in order', async () => {
    const got = await sink();
    const spool = openSpool();
    const p = publisher(spool, { inflight: 4 });
    await until(() => p.connected);
    await broker.stop();
    await until(() => !p.connected);
    expect(p.counters.disconnects).toBe(1);
    const sends: [SpoolClass, string][] = [
      ['flow', 'f1'],
      ['alert', 'a1'],
      ['stats', 's1'],
      ['session', 'open'],
      ['alert', 'a2'],
      ['flow', 'f2'],
      ['alert', 'a3'],
    ];
    for (const [cls, text] of sends) p.send(cls, TOPIC[cls], Buffer.from(text));
    expect(spool.pending).toBe(7);
    expect(p.pending).toBe(7);
    expect(p.counters).toMatchObject({ published_alert: 0, published_flow: 0, published_stats: 0 });
    expect(await p.flush(200)).toBe(false);
    await sleep(150); // a few failed reconnects: logged once
    await broker.start();
    expect(await p.flush(10_000)).toBe(true);
    await until(() => got.filter((d) => d.topic !== STATUS).length >= 7);
    await sleep(100);
    expect(got.filter((d) => d.topic !== STATUS).map((d) => d.text)).toEqual([
      'a1',
      'open',
      'a2',
      'a3',
      'f1',
      's1',
      'f2',
    ]);
    expect(p.counters).toMatchObject({
      published_alert: 3,
      published_session: 1,
      published_flow: 2,
      published_stats: 1,
      connects: 2,
      disconnects: 1,
    });
    expect(p.lastError).toBeNull();
    const url = broker.url;
    expect(p.lines.filter((l) => l === `connected to ${url}`)).toHaveLength(2);
    expect(
      p.lines.filter((l) => l === `disconnected from ${url}; reconnecting (0 in flight, sent again)`),
    ).toHaveLength(1);
    expect(p.lines.filter((l) => l.startsWith(`broker ${url}: `))).toHaveLength(1); // ECONNREFUSED, once
  });

  it('keeps within the spool bound while away: flows dropped and counted, every alert delivered once', async () => {
    const got = await sink();
    await broker.stop();
    const spool = openSpool(undefined, MIN_SPOOL_BYTES);
    const p = publisher(spool, { inflight: 8, flowsPerSecond: 1_000_000 });
    const flows = ids('f', 400);
    const alerts: string[] = [];
    flows.forEach((id, i) => {
      p.send('flow', TOPIC.flow, Buffer.from(id.padEnd(1024, '.')));
      if (i % 20 === 0) {
        alerts.push(`a${i}`);
        p.send('alert', TOPIC.alert, Buffer.from(`a${i}`));
      }
    });
    expect(spool.bytes).toBeLessThanOrEqual(MIN_SPOOL_BYTES);
    const dropped = spool.counters.dropped_flow;
    expect(dropped).toBeGreaterThan(100);
    expect(spool.counters.dropped_alert).toBe(0);
    expect(spool.pending).toBe(400 - dropped + alerts.length);
    await broker.start();
    expect(await p.flush(15_000)).toBe(true);
    await until(() => got.filter((d) => d.topic !== STATUS).length >= 400 - dropped + alerts.length);
    await sleep(100);
    expect([...counts(got, TOPIC.alert).entries()]).toEqual(alerts.map((a) => [a, 1]));
    const f = counts(got, TOPIC.flow);
    expect([...f.keys()].map((t) => t.replace(/\.+$/, ''))).toEqual(flows.slice(dropped)); // the newest kept, in order
    expect([...f.values()].every((n) => n === 1)).toBe(true);
    expect(p.counters).toMatchObject({ published_alert: alerts.length, published_flow: 400 - dropped });
  });
});

describe('publisher: what a dropped connection sends again', () => {
  it('exactly the records in flight at each drop, once per drop; nothing acknowledged; said in the log and mqtt.resent', async () => {
    const inflight = 3;
    const spool = openSpool();
    const p = publisher(spool, { inflight });
    await until(() => p.connected);
    const sent = sentPublishes(p);
    const url = broker.url;
    // Acknowledged before any drop: never sent again.
    for (const id of ids('a', 4)) p.send('alert', TOPIC.alert, Buffer.from(id));
    expect(await p.flush(5000)).toBe(true);
    /** The broker stops answering with the window on the wire, then dies (its socket closes); a new one starts. */
    const drop = async (want: string[], onWire: number) => {
      broker.pause();
      for (const id of want) p.send('alert', TOPIC.alert, Buffer.from(id));
      await until(() => sent.length >= onWire);
      await sleep(50);
      expect(sent).toHaveLength(onWire); // the window, no more
      await broker.kill();
      await until(() => !p.connected);
      await broker.start();
      expect(await p.flush(5000)).toBe(true);
    };
    const first = ids('b', 6);
    await drop(first, 4 + inflight);
    const second = ids('c', 5);
    await drop(second, 4 + inflight + inflight + 3 + inflight);
    expect(sent).toEqual([
      ...ids('a', 4),
      ...first.slice(0, inflight), // in flight at the first drop
      ...first.slice(0, inflight), // sent again on reconnect, before anything new
      ...first.slice(inflight),
      ...second.slice(0, inflight), // in flight at the second drop
      ...second.slice(0, inflight), // sent again: a second drop re-sends its own window again
      ...second.slice(inflight),
    ]);
    expect(p.counters).toMatchObject({ disconnects: 2, resent: 2 * inflight, published_alert: 4 + 6 + 5 });
    expect(
      p.lines.filter((l) => l === `disconnected from ${url}; reconnecting (${inflight} in flight, sent again)`),
    ).toHaveLength(2);
  });
});

describe('publisher: drains by itself (no flush driving it)', () => {
  it.each([
    { inflight: 1, alerts: 10, flows: 10 },
    { inflight: 3, alerts: 30, flows: 40 },
  ])(
    'after an outage: $alerts alerts and $flows flows go out on reconnect, each once, alerts first',
    async ({ inflight, alerts, flows }) => {
      const got = await sink();
      const spool = openSpool();
      await broker.stop();
      const p = publisher(spool, { inflight, flowsPerSecond: 1_000_000 });
      const wantAlerts = ids('a', alerts);
      const wantFlows = ids('f', flows);
      for (let i = 0; i < Math.max(alerts, flows); i++) {
        if (i < flows) p.send('flow', TOPIC.flow, Buffer.from(wantFlows[i]));
        if (i < alerts) p.send('alert', TOPIC.alert, Buffer.from(wantAlerts[i]));
      }
      await broker.start();
      // Only the publisher's own acknowledgement handling moves the spool now.
      await until(() => spool.pending === 0 && got.filter((d) => d.topic !== STATUS).length >= alerts + flows);
      expect(spool.pending).toBe(0);
      await sleep(100);
      expect(got.filter((d) => d.topic !== STATUS).map((d) => d.text)).toEqual([...wantAlerts, ...wantFlows]);
      expect(p.counters).toMatchObject({ published_alert: alerts, published_flow: flows });
    },
  );
});

describe('publisher: commands', () => {
  it('subscribes at QoS 1, and a clean session: a command sent while the agent was away is not run when it is back', async () => {
    const commander = await sink();
    const p = publisher(openSpool());
    const subs: number[] = [];
    wire(p).on('packetsend', (packet) => {
      if (packet.cmd === 'subscribe') subs.push(...packet.subscriptions.map((x) => x.qos));
    });
    await until(() => p.connected);
    const seen: string[] = [];
    p.subscribe(`${GW}/cmd/#`, (_t, payload) => seen.push(payload.toString()));
    expect(subs).toEqual([1]);
    await sleep(100);
    await commander.client.publishAsync(`${GW}/cmd/x`, 'now', { qos: 1 });
    await until(() => seen.length >= 1);
    await crash(p);
    await commander.client.publishAsync(`${GW}/cmd/x`, 'stale', { qos: 1 });
    const again = publisher(openSpool());
    const later: string[] = [];
    again.subscribe(`${GW}/cmd/#`, (_t, payload) => later.push(payload.toString()));
    await until(() => again.connected);
    await sleep(200);
    await commander.client.publishAsync(`${GW}/cmd/x`, 'fresh', { qos: 1 });
    await until(() => later.length >= 1);
    await sleep(50);
    expect(seen).toEqual(['now']);
    expect(later).toEqual(['fresh']);
  });
});

describe('publisher: limits and counters', () => {
  it('rate-limits flows while connected: over the limit dropped, counted and never encoded', async () => {
    const got = await sink();
    const p = publisher(openSpool(), { flowsPerSecond: 20 });
    await until(() => p.connected);
    let encoded = 0;
    for (const id of ids('f', 30)) {
      p.send('flow', TOPIC.flow, () => {
        encoded++;
        return Buffer.from(id);
      });
    }
    expect(p.counters.rate_limited_flow).toBe(10);
    expect(p.counters.published_flow).toBe(20);
    expect(encoded).toBe(20);
    // Alerts are never rate-limited.
    for (const id of ids('a', 30)) p.send('alert', TOPIC.alert, Buffer.from(id));
    expect(await p.flush(5000)).toBe(true);
    await until(() => got.filter((d) => d.topic === TOPIC.alert).length >= 30);
    expect(got.filter((d) => d.topic === TOPIC.flow).map((d) => d.text)).toEqual(ids('f', 20));
    // The bucket refills at the rate up to its size: after 1.2 s idle, 20 more (not 24).
    await sleep(1200);
    for (const id of ids('g', 30)) p.send('flow', TOPIC.flow, Buffer.from(id));
    expect(p.counters.published_flow).toBe(40);
    expect(p.counters.rate_limited_flow).toBe(20);
  });

  it('when the spool refuses a message it is counted, logged once, and still sent while connected', async () => {
    const got = await sink();
    const spool = openSpool();
    const p = publisher(spool);
    await until(() => p.connected);
    const flags = sentFlags(p);
    spools.splice(spools.indexOf(spool), 1);
    spool.close(); // every append now throws
    p.send('alert', TOPIC.alert, Buffer.from('a1'));
    p.send('session', TOPIC.session, Buffer.from('open'));
    await until(() => p.counters.published_session === 1);
    expect(p.counters).toMatchObject({ spool_errors: 2, published_alert: 1, published_session: 1 });
    expect(p.lines.filter((l) => l.startsWith('spool: '))).toEqual([
      `spool: spool ${spool.dir} is closed (counted as mqtt.spool_errors)`,
    ]);
    await until(() => got.length >= 3);
    expect(got.filter((d) => d.topic !== STATUS)).toEqual([
      { topic: TOPIC.alert, text: 'a1', retain: false },
      { topic: TOPIC.session, text: 'open', retain: false }, // live delivery: the retain flag is not forwarded
    ]);
    expect(Object.fromEntries(flags)).toEqual({ a1: [1, false], open: [1, true] });
  });

  it('when the spool refuses a message while the broker is away, it is counted and not sent', async () => {
    const spool = openSpool();
    await broker.stop();
    const p = publisher(spool);
    spools.splice(spools.indexOf(spool), 1);
    spool.close();
    p.send('alert', TOPIC.alert, Buffer.from('a1'));
    p.send('flow', TOPIC.flow, Buffer.from('f1'));
    expect(p.counters).toMatchObject({ spool_errors: 2, published_alert: 0, published_flow: 0 });
  });

  it('close() publishes "offline" (retained), keeps what was not delivered, and drops what comes after', async () => {
    const got = await sink();
    const dir = mkdtempSync(join(tmpdir(), 'egress-pubspool-'));
    dirs.push(dir);
    const spool = openSpool(dir);
    const p = publisher(spool, { inflight: 2 });
    await until(() => p.connected);
    p.send('alert', TOPIC.alert, Buffer.from('a1'));
    expect(await p.flush(5000)).toBe(true);
    await p.close();
    await p.close(); // twice: no-op
    expect(p.connected).toBe(false);
    p.send('alert', TOPIC.alert, Buffer.from('a2'));
    p.send('flow', TOPIC.flow, Buffer.from('f2'));
    expect(p.counters.dropped_after_close).toBe(2);
    expect(spool.pending).toBe(0);
    await until(() => got.filter((d) => d.topic === STATUS).length >= 2);
    await sleep(50);
    expect(got.filter((d) => d.topic === STATUS).map((d) => d.text)).toEqual(['online', 'offline']);
    expect(p.lines.some((l) => l.startsWith('disconnected'))).toBe(false);
    expect(p.counters.disconnects).toBe(0);
  });

  it('close() while the broker is away returns and keeps the spool for the next start', async () => {
    const spool = openSpool();
    await broker.stop();
    const p = publisher(spool);
    p.send('alert', TOPIC.alert, Buffer.from('a1'));
    await p.close();
    expect(spool.pending).toBe(1);
  });

  it.each([
    ['frozen (connected, never answering)', (b: Mosquitto) => b.pause()],
    ['gone', (b: Mosquitto) => b.kill()],
  ])(
    'close() returns with alerts in flight and the broker %s; the spool keeps them for the next start',
    async (_what, away) => {
      const dir = mkdtempSync(join(tmpdir(), 'egress-pubspool-'));
      dirs.push(dir);
      const spool = openSpool(dir);
      const p = publisher(spool, { inflight: 3 });
      await until(() => p.connected);
      const sent = sentPublishes(p);
      broker.pause();
      for (const id of ids('a', 5)) p.send('alert', TOPIC.alert, Buffer.from(id));
      await until(() => sent.length >= 3);
      await away(broker);
      const result = await Promise.race([p.close(200).then(() => 'closed'), sleep(5000).then(() => 'hung')]);
      expect(result).toBe('closed');
      expect(p.connected).toBe(false);
      expect(spool.pending).toBe(5);
      spools.splice(spools.indexOf(spool), 1);
      spool.close();
      await broker.stop(); // and start afresh: what the frozen one held is not what is tested here
      await broker.start();
      const got = await sink();
      const p2 = publisher(openSpool(dir));
      expect(await p2.flush(5000)).toBe(true);
      await until(() => got.filter((d) => d.topic === TOPIC.alert).length >= 5);
      expect([...counts(got, TOPIC.alert).keys()]).toEqual(ids('a', 5));
    },
  );

  it('flush() stops when its interrupt settles, before its timeout', async () => {
    await broker.stop();
    const p = publisher(openSpool());
    p.send('alert', TOPIC.alert, Buffer.from('a1'));
    const result = await Promise.race([p.flush(60_000, sleep(100)), sleep(5000).then(() => 'timed out')]);
    expect(result).toBe(false);
    expect(await p.flush(0)).toBe(false);
  });

  it('publishRetained, publishNow and subscribe act while connected; nothing is queued while away', async () => {
    const got = await sink();
    const p = publisher(openSpool());
    await until(() => p.connected);
    const flags = sentFlags(p);
    const commands: [string, string, boolean][] = [];
    await got.client.publishAsync(`${GW}/cmd/x`, 'c0', { qos: 1, retain: true });
    p.subscribe(`${GW}/cmd/#`, (t, payload, retain) => commands.push([t, payload.toString(), retain]));
    await until(() => commands.length >= 1);
    p.publishRetained(STATUS, Buffer.from('busy'));
    p.publishNow(`${GW}/reply`, Buffer.from('r1'));
    await got.client.publishAsync(`${GW}/cmd/y`, 'c1', { qos: 1 });
    await until(() => commands.length >= 2 && got.length >= 5);
    expect(commands).toEqual([
      [`${GW}/cmd/x`, 'c0', true],
      [`${GW}/cmd/y`, 'c1', false],
    ]);
    expect(flags.get('busy')).toEqual([1, true]);
    expect(flags.get('r1')).toEqual([1, false]);
    expect(got.map((d) => [d.topic, d.text])).toEqual(
      expect.arrayContaining([
        [STATUS, 'busy'],
        [`${GW}/reply`, 'r1'],
      ]),
    );
    await broker.stop();
    await until(() => !p.connected);
    p.publishRetained(STATUS, Buffer.from('late'));
    p.publishNow(`${GW}/reply`, Buffer.from('r2'));
    await broker.start();
    await until(() => p.connected && got.client.connected);
    await sleep(150);
    expect(got.map((d) => d.text)).not.toContain('late');
    expect(got.map((d) => d.text)).not.toContain('r2');
  });
});

describe('publisher: edges (found by mutation testing)', () => {
  it('a spool that keeps refusing: every refusal counted, each distinct reason logged once; while away nothing is sent, even later', async () => {
    const got = await sink();
    const spool = openSpool();
    await broker.stop();
    const p = publisher(spool);
    spools.splice(spools.indexOf(spool), 1);
    spool.close();
    for (const id of ids('a', 3)) p.send('alert', TOPIC.alert, Buffer.from(id));
    expect(p.counters.spool_errors).toBe(3);
    expect(p.lines.filter((l) => l.startsWith('spool: '))).toHaveLength(1);
    await broker.start();
    await until(() => p.connected);
    await sleep(200);
    expect(got.filter((d) => d.topic === TOPIC.alert)).toEqual([]);
    expect(p.counters.published_alert).toBe(0);
    // Reading the spool failed too when the connection came (drain): counted, not thrown out of the event.
    expect(p.counters.spool_errors).toBeGreaterThanOrEqual(4);
    expect(p.lines.filter((l) => l.startsWith('spool: '))).toHaveLength(1);
  });

  it('close() says "offline" itself (QoS 1, retained), then DISCONNECTs: no last will', async () => {
    const p = publisher(openSpool());
    await until(() => p.connected);
    const packets: string[] = [];
    wire(p).on('packetsend', (packet) => {
      if (packet.cmd === 'publish')
        packets.push(`publish ${packet.topic} ${packet.payload} ${packet.qos} ${packet.retain}`);
      else if (packet.cmd !== 'pingreq') packets.push(packet.cmd);
    });
    await p.close();
    expect(packets).toEqual([`publish ${STATUS} offline 1 true`, 'disconnect']);
  });

  it('close() while the broker is away returns at once, even with a reply unacknowledged', async () => {
    const p = publisher(openSpool());
    await until(() => p.connected);
    broker.pause();
    p.publishNow(`${GW}/reply`, Buffer.from('r'));
    await broker.kill();
    await until(() => !p.connected);
    const result = await Promise.race([p.close(60_000).then(() => 'closed'), sleep(3000).then(() => 'hung')]);
    expect(result).toBe('closed');
  });

  it('a full bucket holds exactly flowsPerSecond flows: at 1 a second, one goes, the next is limited', async () => {
    const p = publisher(openSpool(), { flowsPerSecond: 1 });
    await until(() => p.connected);
    await sleep(50);
    p.send('flow', TOPIC.flow, Buffer.from('f1'));
    p.send('flow', TOPIC.flow, Buffer.from('f2'));
    expect([p.counters.published_flow, p.counters.rate_limited_flow]).toEqual([1, 1]);
  });

  it('publishes the client gave up on (closed without reconnecting) stay in the spool', async () => {
    const spool = openSpool();
    const p = publisher(spool, { inflight: 3, reconnectMs: 0 });
    await until(() => p.connected);
    const sent = sentPublishes(p);
    broker.pause();
    for (const id of ids('a', 5)) p.send('alert', TOPIC.alert, Buffer.from(id));
    await until(() => sent.length >= 3);
    await p.close(100);
    expect(spool.pending).toBe(5);
    expect(spool.counters.delivered).toBe(0);
    expect(p.counters.published_alert).toBe(0);
  });
});

describe('publisher: never connected', () => {
  it('a broker that is not there at start: no disconnect counted or logged, only the error, once', async () => {
    await broker.stop();
    const p = publisher(openSpool());
    await sleep(300);
    expect(p.counters).toMatchObject({ connects: 0, disconnects: 0 });
    expect(p.lines.filter((l) => l.startsWith('disconnected'))).toEqual([]);
    expect(p.lines).toHaveLength(1);
    expect(p.lastError).toMatch(/ECONNREFUSED/);
  });
});
