// What a restarted broker sends again to a reader with a kept session (README "MQTT": duplicates
// after an outage; test/support/mqtt-deliveries.ts reads the rule from mosquitto's packet log, and
// delivery.test.ts bounds the dashboard's duplicates with it). A real mosquitto with persistence,
// a reader that acknowledges the first few messages and then holds its PUBACKs back: after the
// restart exactly the messages the log shows sent and not acknowledged come again, with DUP.

import { connectAsync, type MqttClient, type Packet } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { Mosquitto } from '../support/mosquitto.js';
import { unackedAtStops } from '../support/mqtt-deliveries.js';

const clients: MqttClient[] = [];
let broker: Mosquitto | null = null;

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await broker?.stop();
  broker = null;
});

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

describe('a broker restart, read from its packet log', () => {
  it('sends again, with DUP, exactly what it had sent to the reader and not had acknowledged', async () => {
    broker = new Mosquitto({ persistent: true, logPackets: true });
    await broker.start();
    const reader = await connectAsync(broker.url, {
      clientId: 'reader',
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 50,
    });
    clients.push(reader);
    const got: { text: string; dup: boolean }[] = [];
    reader.on('message', (_t, payload, packet) => got.push({ text: payload.toString(), dup: packet.dup === true }));
    // The first ACKED messages are acknowledged; PUBACKs after them are held back (never written) until the restart.
    const ACKED = 5;
    let hold = true;
    type Send = (packet: Packet, cb?: (err?: Error) => void, ...rest: unknown[]) => void;
    const wire = reader as unknown as { _sendPacket: Send }; // MQTT.js writes every packet through it
    const send = wire._sendPacket.bind(reader);
    wire._sendPacket = (packet, cb, ...rest) => {
      if (packet.cmd === 'puback' && hold && got.length > ACKED) {
        cb?.();
        return;
      }
      send(packet, cb, ...rest);
    };
    await reader.subscribeAsync('t', { qos: 1 });
    const writer = await connectAsync(broker.url, { clientId: 'writer', protocolVersion: 4, reconnectPeriod: 0 });
    clients.push(writer);
    const all = Array.from({ length: 30 }, (_, i) => `m${i}`);
    await Promise.all(all.map((m) => writer.publishAsync('t', m, { qos: 1 })));
    await until(() => got.length >= ACKED + 1);
    await new Promise((r) => setTimeout(r, 300)); // what the broker will send without PUBACKs has come
    const before = got.map((g) => g.text);
    expect(before.length).toBeGreaterThan(ACKED);
    expect(before).toEqual(all.slice(0, before.length)); // in order, each once
    await broker.stop();
    const { atStops } = unackedAtStops(broker.log, 'reader');
    expect(atStops).toEqual([before.length - ACKED]); // sent, minus the acknowledged ones

    hold = false;
    await broker.start();
    await until(() => new Set(got.map((g) => g.text)).size >= all.length);
    await new Promise((r) => setTimeout(r, 300));
    const after = got.slice(before.length);
    // Again, with DUP: exactly the unacknowledged ones; then the rest for the first time, without DUP.
    expect(after.filter((g) => g.dup).map((g) => g.text)).toEqual(before.slice(ACKED));
    expect(after.filter((g) => !g.dup).map((g) => g.text)).toEqual(all.slice(before.length));
  }, 30_000);
});
