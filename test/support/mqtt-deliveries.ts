// What a dashboard-like subscriber received, and why a copy came twice (README "MQTT": at
// least once, duplicates only from re-sends after a dropped connection). Two senders can
// send a message again, and each says so in its own log:
// - the agent: after a lost connection MQTT.js sends again what was in flight (sent,
//   no PUBACK yet); the agent logs that number at each drop ("N in flight, sent again").
//   The broker takes the copy as a new message: it reaches the subscriber without DUP.
// - the broker (mosquitto, persistence on): after a restart it sends again, with DUP, every
//   message its database held as sent to the subscriber and not acknowledged when it stopped.
//   Its packet log (log_type all) says which: PUBLISHes sent minus PUBACKs taken before
//   "terminating". mosquitto 2.0.11 held its max_inflight_messages (20) only while the
//   reader acknowledged nothing: with 5 PUBACKs taken it sent all 80 of 80, and a slow reader
//   under load had 365 unacknowledged at once. That number is the broker's to say, not ours.

import { connectAsync, type MqttClient } from 'mqtt';
import { decodeAlert } from '../../agent/src/mqtt/codec-decode.js';
import type { Mosquitto } from './mosquitto.js';

/** One delivery: the alert id, the DUP flag the broker set (a re-send of its own), when (ms since subscribing). */
export interface Delivery {
  id: string;
  dup: boolean;
  at: number;
}

export interface Subscriber {
  ids: string[];
  deliveries: Delivery[];
  /** ms since subscribing, at each (re)connect after the first. */
  connects: number[];
  t0: number;
  client: MqttClient;
}

/** A subscriber with a persistent session (clean: false), so it misses nothing while the broker restarts. */
export async function subscribeAlerts(broker: Mosquitto, gw: string): Promise<Subscriber> {
  const ids: string[] = [];
  const deliveries: Delivery[] = [];
  const connects: number[] = [];
  const t0 = Date.now();
  const client = await connectAsync(broker.url, {
    clientId: `test-sub-${gw}`,
    clean: false,
    reconnectPeriod: 100,
    protocolVersion: 4,
  });
  client.on('connect', () => connects.push(Date.now() - t0));
  client.on('message', (_t, payload, packet) => {
    const id = decodeAlert(payload).id;
    ids.push(id);
    deliveries.push({ id, dup: packet.dup === true, at: Date.now() - t0 });
  });
  await client.subscribeAsync(`egress/v1/${gw}/alert`, { qos: 1 });
  return { ids, deliveries, connects, t0, client };
}

/** The agent's own count of what it sends again, one number per lost connection it logged. */
export function inFlightAtDrops(agentLog: string): number[] {
  return [...agentLog.matchAll(/disconnected from \S+; reconnecting \((\d+) in flight, sent again\)/g)].map((m) =>
    Number(m[1]),
  );
}

/**
 * From mosquitto's packet log: at each "terminating", how many QoS 1 PUBLISHes it had sent to
 * `clientId` without taking their PUBACK (what its database keeps as unacknowledged), and the
 * most it ever had so at once.
 */
export function unackedAtStops(brokerLog: string, clientId: string): { atStops: number[]; most: number } {
  const open = new Set<number>();
  const atStops: number[] = [];
  let most = 0;
  const sent = `Sending PUBLISH to ${clientId} (d`;
  const acked = `Received PUBACK from ${clientId} (Mid: `;
  for (const line of brokerLog.split('\n')) {
    let at = line.indexOf(sent);
    if (at >= 0) {
      const mid = /, m(\d+),/.exec(line.slice(at));
      if (mid) open.add(Number(mid[1]));
      most = Math.max(most, open.size);
      continue;
    }
    at = line.indexOf(acked);
    if (at >= 0) {
      open.delete(Number.parseInt(line.slice(at + acked.length), 10));
      continue;
    }
    if (line.includes(' terminating')) atStops.push(open.size);
    else if (line.includes(' starting')) open.clear(); // a restart: the restored ones are sent (and logged) again
  }
  return { atStops, most };
}

/** Copies past the first per alert (gateway/run/flow_id/severity), by who sent them again. */
export function extraCopies(deliveries: Delivery[]): { byAgent: number; byBroker: number } {
  const seen = new Set<string>();
  let byAgent = 0;
  let byBroker = 0;
  for (const d of deliveries) {
    if (!seen.has(d.id)) seen.add(d.id);
    else if (d.dup) byBroker++;
    else byAgent++;
  }
  return { byAgent, byBroker };
}

/** Every extra copy on a timeline with the test's and the agent's events (for EGRESS_DELIVERY_TRACE=1). */
export function timeline(sub: Subscriber, events: string[]): string {
  const first = new Map<string, number>();
  const lines = [...events, ...sub.connects.map((t) => `${t} subscriber: connected`)];
  sub.deliveries.forEach((d, i) => {
    const f = first.get(d.id);
    if (f === undefined) first.set(d.id, i);
    else lines.push(`${d.at} copy #${i} of #${f} (${sub.deliveries[f].at} ms), DUP ${d.dup}: ${d.id}`);
  });
  return lines.sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10)).join('\n');
}
