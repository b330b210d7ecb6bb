// Flows and stats over MQTT match what `egress scan` reports for the same
// capture, and the flow rate limit drops (and counts) rather than queues.

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { egress as pb, protoNameOf, u64, verdictName } from '../../agent/src/mqtt/codec.js';
import { decodeAlert, decodeFlow, decodeSession, decodeStats } from '../../agent/src/mqtt/codec-decode.js';
import { egress, events, ROOT, spawnEgress } from '../support/cli.js';
import { Mosquitto } from '../support/mosquitto.js';

const dir = mkdtempSync(join(tmpdir(), 'egress-telemetry-'));
const fixture = join(ROOT, 'scripts/demo-data/flight.pcap');
const policy = join(ROOT, 'scripts/demo-data/policy.yaml');
const broker = new Mosquitto();
let sub: MqttClient;
const got: { topic: string; payload: Buffer }[] = [];

beforeAll(async () => {
  await broker.start();
  sub = await connectAsync(broker.url, { reconnectPeriod: 0, protocolVersion: 4 });
  sub.on('message', (topic, payload) => got.push({ topic, payload }));
  await sub.subscribeAsync('egress/v1/+/+', { qos: 1 });
});

afterAll(async () => {
  await sub.endAsync(true);
  await broker.stop();
});

function replay(gw: string, extra: string[]): Promise<number | null> {
  const child: ChildProcess = spawnEgress(
    ['replay', fixture, '--speed', 'max', '--policy', policy, '--gateway', gw, '--broker', broker.url].concat([
      '--data-dir',
      join(dir, gw),
      '--no-http',
      '--quiet',
      ...extra,
    ]),
    { stdio: 'ignore' },
  );
  return new Promise((resolve) => child.once('exit', (c) => resolve(c)));
}

describe('flows and stats over MQTT', () => {
  it('sends one Flow per internet flow, as scan reports it, and stats with the same counts', async () => {
    const scan = events(egress(['scan', fixture, '--policy', policy, '--format', 'ndjson']).stdout);
    const flows = scan.filter((e) => e.event_type === 'flow');
    const stats = scan[scan.length - 1];
    expect(await replay('gw-flows', ['--linger', '10'])).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    const mine = got.filter((m) => m.topic === 'egress/v1/gw-flows/flow').map((m) => decodeFlow(m.payload));
    const row = (f: ReturnType<typeof decodeFlow>) => [
      u64(f.flow_id),
      f.src_ip,
      f.dest_ip,
      f.dest_port ?? null,
      protoNameOf(f.proto),
      verdictName(f.verdict),
      f.reasons,
      f.dest?.names,
      u64(f.pkts_toserver),
      u64(f.bytes_toclient),
    ];
    expect(mine.map(row)).toEqual(
      flows.map((e) => [
        e.flow_id,
        e.src_ip,
        e.dest_ip,
        e.dest_port,
        e.proto,
        e.verdict,
        e.reasons,
        e.dest.names,
        e.pkts_toserver,
        e.bytes_toclient,
      ]),
    );
    const last = got.filter((m) => m.topic === 'egress/v1/gw-flows/stats').map((m) => decodeStats(m.payload));
    expect(last.length).toBeGreaterThan(0);
    const s = last[last.length - 1];
    expect([u64(s.packets), u64(s.flows), u64(s.alerts)]).toEqual([stats.packets, stats.flows, stats.alerts]);
    expect(u64(s.counters['mqtt.rate_limited_flow'])).toBe(0);
  }, 30_000);

  it('opens a flight session with --session, tags every alert with it, and closes it at the end', async () => {
    expect(await replay('gw-session', ['--session', 'Flight 12', '--linger', '10'])).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    const sessions = got.filter((m) => m.topic === 'egress/v1/gw-session/session').map((m) => decodeSession(m.payload));
    expect(sessions.map((x) => [x.name, x.state])).toEqual([
      ['Flight 12', pb.v1.Session.State.OPEN],
      ['Flight 12', pb.v1.Session.State.CLOSED],
    ]);
    expect(sessions[0].id).toBe(sessions[1].id);
    const alerts = got.filter((m) => m.topic === 'egress/v1/gw-session/alert').map((m) => decodeAlert(m.payload));
    expect(alerts.length).toBeGreaterThan(0);
    expect(new Set(alerts.map((a) => a.session))).toEqual(new Set([sessions[0].id]));
  }, 30_000);

  it('drops flows over --flows-per-second and counts them', async () => {
    expect(await replay('gw-limit', ['--flows-per-second', '2', '--linger', '10'])).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    const flows = got.filter((m) => m.topic === 'egress/v1/gw-limit/flow').length;
    const stats = got.filter((m) => m.topic === 'egress/v1/gw-limit/stats').map((m) => decodeStats(m.payload));
    const limited = u64(stats[stats.length - 1].counters['mqtt.rate_limited_flow']);
    expect(flows).toBe(2);
    expect(limited).toBeGreaterThan(0);
    expect(flows + limited).toBe(u64(stats[stats.length - 1].flows_internet));
  }, 30_000);
});
