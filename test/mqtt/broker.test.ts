// The embedded broker (aedes) with the real MQTT.js client, over TCP and over
// WebSocket on the agent's HTTP server (logged in with the session cookie):
// who may publish and subscribe where.

import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DashboardServer } from '../../agent/src/http/server.js';
import { AGENT_USER, EmbeddedBroker, isCommandTopic, VIEWER_USER } from '../../agent/src/mqtt/broker.js';
import { dashboardCookie } from '../support/dashboard-http.js';

let broker: EmbeddedBroker;
let http: DashboardServer;
let wsUrl: string;
let cookie: string;
const clients: MqttClient[] = [];

beforeAll(async () => {
  http = await DashboardServer.listen({ host: '127.0.0.1', port: 0, token: 'viewer-secret', gateway: 'gw1' });
  wsUrl = `ws://127.0.0.1:${http.address.port}/mqtt`;
  broker = await EmbeddedBroker.start({ port: 0, agentToken: 'agent-secret', viewerToken: 'viewer-secret' });
  http.mqttSocket = (socket, req) => broker.acceptWebSocket(socket, req);
  cookie = await dashboardCookie(`http://127.0.0.1:${http.address.port}`, 'viewer-secret');
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await broker.close();
  await http.close();
});

async function client(url: string, username: string, password: string): Promise<MqttClient> {
  const c = await connectAsync(url, {
    username,
    password,
    reconnectPeriod: 0,
    protocolVersion: 4,
    wsOptions: { headers: { cookie } },
  });
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
  it('listens on 127.0.0.1 only, on a free port', () => {
    expect(broker.host).toBe('127.0.0.1');
    expect(broker.port).toBeGreaterThan(0);
  });

  it('delivers the agent’s alert to a dashboard over WebSocket', async () => {
    const agent = await client(broker.url, AGENT_USER, 'agent-secret');
    const viewer = await client(wsUrl, VIEWER_USER, 'viewer-secret');
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

  it('knows a command topic when it sees one', () => {
    expect(isCommandTopic('egress/v1/gw1/cmd/start_flight')).toBe(true);
    expect(isCommandTopic('egress/v1/gw1/cmd/start_flight/reply')).toBe(false);
    expect(isCommandTopic('egress/v1/gw1/alert')).toBe(false);
    expect(isCommandTopic('egress/v1/gw1/cmd/')).toBe(false);
  });
});
