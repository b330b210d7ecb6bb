// The embedded broker (aedes) with the real MQTT.js client, over TCP and over
// WebSocket on the agent's HTTP server (logged in with the session cookie):
// who may publish and subscribe where.

import { connectAsync, type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DashboardServer } from '../../agent/src/http/server.js';
import { AGENT_USER, EmbeddedBroker, isCommandTopic, VIEWER_USER } from '../../agent/src/mqtt/broker.js';
import { connectMqttWs } from '../support/mqtt-ws.js';

let broker: EmbeddedBroker;
let http: DashboardServer;
let httpBase: string;
const clients: MqttClient[] = [];

// A fresh broker for every test (not one in beforeAll): mutation testing's per-test coverage
// only sees the broker's start-up code when a test runs it.
beforeEach(async () => {
  http = await DashboardServer.listen({ host: '127.0.0.1', port: 0, token: 'viewer-secret', gateway: 'gw1' });
  httpBase = `http://127.0.0.1:${http.address.port}`;
  broker = await EmbeddedBroker.start({ port: 0, agentToken: 'agent-secret', viewerToken: 'viewer-secret' });
  http.mqttSocket = (socket, req) => broker.acceptWebSocket(socket, req);
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await broker.close();
  await http.close();
});

async function client(url: string, username: string, password: string): Promise<MqttClient> {
  const c = await connectAsync(url, { username, password, reconnectPeriod: 0, protocolVersion: 4 });
  clients.push(c);
  return c;
}

function nextMessage(c: MqttClient, ms = 2000): Promise<{ topic: string; payload: Buffer } | null> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(null), ms);
    c.once('message', (topic, payload) => {
      clearTimeout(t);
      resolve({ topic, payload });
    });
  });
}

describe('embedded broker', () => {
  it('listens on 127.0.0.1 only, on a free port: the address its socket is bound to', () => {
    const bound = broker.boundAddress;
    expect([bound.family, bound.address]).toEqual(['IPv4', '127.0.0.1']);
    expect(bound.port).toBeGreaterThan(0);
    expect(broker.url).toBe(`mqtt://127.0.0.1:${bound.port}`);
  });

  it('binds the host it is given, and reports a port it cannot take with a stable code', async () => {
    const v6 = await EmbeddedBroker.start({ host: '::1', port: 0, agentToken: 'a', viewerToken: 'v' });
    try {
      expect([v6.boundAddress.family, v6.boundAddress.address]).toEqual(['IPv6', '::1']);
      await expect(
        EmbeddedBroker.start({ port: broker.boundAddress.port, agentToken: 'a', viewerToken: 'v' }),
      ).rejects.toMatchObject({
        code: 'EGRESS_BROKER_UNAVAILABLE',
        message: `cannot listen on 127.0.0.1:${broker.boundAddress.port} for the embedded broker: EADDRINUSE`,
      });
    } finally {
      await v6.close();
    }
  });

  it('delivers the agent’s alert to a dashboard over WebSocket', async () => {
    const agent = await client(broker.url, AGENT_USER, 'agent-secret');
    const viewer = await connectMqttWs(httpBase, 'viewer-secret', { username: VIEWER_USER, password: 'viewer-secret' });
    clients.push(viewer);
    await viewer.subscribeAsync('egress/v1/gw1/#', { qos: 1 });
    const got = nextMessage(viewer);
    await agent.publishAsync('egress/v1/gw1/alert', Buffer.from([1, 2, 3]), { qos: 1 });
    const m = await got;
    expect(m?.topic).toBe('egress/v1/gw1/alert');
    expect([...(m?.payload ?? [])]).toEqual([1, 2, 3]);
  });

  it('refuses a wrong password and an unknown user', async () => {
    await expect(client(broker.url, VIEWER_USER, 'wrong')).rejects.toThrow(/Bad username or password|Not authorized/i);
    await expect(client(broker.url, 'someone', 'viewer-secret')).rejects.toThrow();
    await expect(
      connectAsync(broker.url, { reconnectPeriod: 0, protocolVersion: 4 }).then((c) => {
        clients.push(c);
      }),
    ).rejects.toThrow();
  });

  it('lets a viewer publish commands, and nothing else', async () => {
    const agent = await client(broker.url, AGENT_USER, 'agent-secret');
    await agent.subscribeAsync('egress/v1/gw1/#', { qos: 1 });
    const viewer = await client(broker.url, VIEWER_USER, 'viewer-secret');
    const cmd = nextMessage(agent);
    await viewer.publishAsync('egress/v1/gw1/cmd/ping', Buffer.from('x'), { qos: 1 });
    expect((await cmd)?.topic).toBe('egress/v1/gw1/cmd/ping');

    // A forged alert: the broker drops it and closes the viewer's connection.
    const forged = nextMessage(agent, 500);
    viewer.publish('egress/v1/gw1/alert', Buffer.from('forged'), { qos: 0 });
    expect(await forged).toBeNull();
  });

  // Subscriptions a role may make: granted, or refused with the SUBACK failure code 0x80
  // (MQTT 3.1.1 §3.9.3) on a connection that stays open, so a dashboard can say why.
  it.each([
    ['viewer', 'egress/v1/#', 1],
    ['viewer', 'egress/v1/gw1/alert', 1],
    ['viewer', '#', 128],
    ['viewer', '$SYS/#', 128],
    ['viewer', 'other/egress/#', 128],
    ['viewer', 'egress', 128],
    ['agent', '#', 1],
    ['agent', 'other/topic', 1],
  ])('%s subscribing to %s gets QoS %i', async (role, topic, granted) => {
    const c = await client(
      broker.url,
      role === 'agent' ? AGENT_USER : VIEWER_USER,
      role === 'agent' ? 'agent-secret' : 'viewer-secret',
    );
    const sub = c.subscribeAsync(topic, { qos: 1 });
    // MQTT.js turns a SUBACK failure into an error that carries the packet.
    if (granted === 128)
      await expect(sub).rejects.toMatchObject({ message: /Subscribe error/, packet: { granted: [128] } });
    else expect((await sub)[0].qos).toBe(granted);
    expect(c.connected).toBe(true);
    expect(broker.counters.refused_subscribe).toBe(granted === 128 ? 1 : 0);
  });

  // Publications a role may make, seen (or not) by an agent subscribed to everything.
  it.each([
    ['viewer', 'egress/v1/gw2/cmd/start_flight', true],
    ['viewer', 'egress/v1/gw2/cmd/start_flight/x', false],
    ['viewer', 'egress/v1/gw2/status', false],
    ['viewer', 'other/topic', false],
    ['agent', 'egress/v1/gw2/alert', true],
    ['agent', 'other/topic', true],
  ])('%s publishing to %s is delivered: %s', async (role, topic, delivered) => {
    const watcher = await client(broker.url, AGENT_USER, 'agent-secret');
    await watcher.subscribeAsync('#', { qos: 1 });
    const c = await client(
      broker.url,
      role === 'agent' ? AGENT_USER : VIEWER_USER,
      role === 'agent' ? 'agent-secret' : 'viewer-secret',
    );
    const got = nextMessage(watcher, 600);
    c.publish(topic, Buffer.from('x'), { qos: 0 });
    expect((await got)?.topic ?? null).toBe(delivered ? topic : null);
  });

  it('frees its port when closed', async () => {
    const other = await EmbeddedBroker.start({ port: 0, agentToken: 'a', viewerToken: 'v' });
    const { port } = other.boundAddress;
    await other.close();
    const again = await EmbeddedBroker.start({ port, agentToken: 'a', viewerToken: 'v' });
    expect(again.boundAddress.port).toBe(port);
    await again.close();
    await expect(
      connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 2000 }),
    ).rejects.toThrow(/ECONNREFUSED/);
  });

  it('counts its clients', async () => {
    const before = broker.clients;
    const c = await client(broker.url, AGENT_USER, 'agent-secret');
    expect(broker.clients).toBe(before + 1);
    await c.endAsync();
    await new Promise((r) => setTimeout(r, 100));
    expect(broker.clients).toBe(before);
  });

  it('knows a command topic when it sees one', () => {
    expect(isCommandTopic('egress/v1/gw1/cmd/start_flight')).toBe(true);
    expect(isCommandTopic('egress/v1/gw1/cmd/start_flight/reply')).toBe(false);
    expect(isCommandTopic('egress/v1/gw1/alert')).toBe(false);
    expect(isCommandTopic('egress/v1/gw1/cmd/')).toBe(false);
  });
});
