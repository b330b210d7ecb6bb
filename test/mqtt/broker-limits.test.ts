// The embedded broker's limits on connections that have not logged in
// (issue 12): at most MAX_UNAUTHENTICATED wait at a time (more are closed at
// once, counted), and each must send its CONNECT within CONNECT_TIMEOUT_MS
// (aedes' default was 30 s). Real sockets against the real broker.

import { type Socket, connect as tcpConnect } from 'node:net';
import { connectAsync } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedBroker, MAX_UNAUTHENTICATED, VIEWER_USER } from '../../agent/src/mqtt/broker.js';

const VIEWER_TOKEN = 'v8d2b4f6a0c1e3f5b7d9a2c4e6f8b0d1';
let broker: EmbeddedBroker;
const sockets: Socket[] = [];

beforeEach(async () => {
  broker = await EmbeddedBroker.start({ port: 0, agentToken: 'a'.repeat(32), viewerToken: VIEWER_TOKEN });
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await broker.close();
});

/** A TCP connection that says nothing; resolves once connected, `closed` when the broker hangs up. */
async function silent(): Promise<{ socket: Socket; closed: Promise<number> }> {
  const socket = tcpConnect(broker.port, '127.0.0.1');
  sockets.push(socket);
  socket.on('error', () => {});
  const start = Date.now();
  const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now() - start)));
  await new Promise((r) => socket.once('connect', r));
  return { socket, closed };
}

describe('connections that have not logged in', () => {
  it(`closes the one after ${MAX_UNAUTHENTICATED} waiting, and admits logins again when they are gone`, async () => {
    const waiting = [];
    for (let i = 0; i < MAX_UNAUTHENTICATED; i++) waiting.push(await silent());
    await new Promise((r) => setTimeout(r, 200));
    const extra = await silent();
    await extra.closed;
    expect(broker.counters.refused_unauthenticated_cap).toBe(1);
    for (const w of waiting) w.socket.destroy();
    await Promise.all(waiting.map((w) => w.closed));
    await new Promise((r) => setTimeout(r, 100));
    const viewer = await connectAsync(broker.url, {
      username: VIEWER_USER,
      password: VIEWER_TOKEN,
      reconnectPeriod: 0,
      protocolVersion: 4,
    });
    expect(viewer.connected).toBe(true);
    await viewer.endAsync(true);
  });

  it('hangs up on a connection that sends no CONNECT (aedes alone waited 30 s)', async () => {
    const s = await silent();
    // Generous for a loaded machine; the limit is 5 s, the old default 30 s.
    const ms = await Promise.race([s.closed, new Promise<number>((r) => setTimeout(() => r(-1), 20_000))]);
    expect(ms).toBeGreaterThan(0);
    expect(ms).toBeLessThan(20_000);
  });
});
