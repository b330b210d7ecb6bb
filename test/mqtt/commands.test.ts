// The live agent with its embedded broker, as the dashboard sees it: MQTT
// over WebSocket on the agent's HTTP port, the retained status, and
// commands on cmd/<verb> answered on reply/<verb>. Bad commands get a
// reply with a stable code and never stop the agent.

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { egress as pb } from '../../agent/src/mqtt/codec.js';
import { encodeCommand } from '../../agent/src/mqtt/codec-control.js';
import { decodeCommandReply, decodeSession, decodeStatus } from '../../agent/src/mqtt/codec-decode.js';
import { ROOT, spawnEgress } from '../support/cli.js';
import { connectViewerWs } from '../support/dashboard-http.js';

const dir = mkdtempSync(join(tmpdir(), 'egress-commands-'));
const fixture = join(ROOT, 'test/fixtures/names/tls13/input.pcap');
const GW = 'gw-cmd';
let agent: ChildProcess;
let log = '';
let viewer: MqttClient;
let token = '';
const received: { topic: string; payload: Buffer }[] = [];

beforeAll(async () => {
  agent = spawnEgress(
    ['replay', fixture, '--loop', '--speed', '1', '--gateway', GW, '--data-dir', dir].concat([
      '--mqtt-port',
      '0',
      '--http',
      '127.0.0.1:0',
      '--quiet',
    ]),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  agent.stderr?.on('data', (c: Buffer) => {
    log += c.toString();
  });
  const end = Date.now() + 15_000;
  while (!/dashboard: (http:\S+)/.test(log) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  const http = /dashboard: (http:\/\/[^/\s]+)/.exec(log)?.[1];
  if (!http) throw new Error(`agent did not start: ${log}`);
  token = JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8')).dashboard;
  viewer = await connectViewerWs(http, token);
  viewer.on('message', (topic, payload) => received.push({ topic, payload }));
  await viewer.subscribeAsync([`egress/v1/${GW}/reply/+`, `egress/v1/${GW}/session`, `egress/v1/${GW}/status`], {
    qos: 1,
  });
}, 30_000);

afterAll(async () => {
  await viewer?.endAsync(true);
  if (agent && agent.exitCode === null) {
    const gone = new Promise((r) => agent.once('exit', r));
    agent.kill('SIGTERM');
    await gone;
  }
});

async function next(topic: string, ms = 5000): Promise<Buffer> {
  const end = Date.now() + ms;
  for (;;) {
    const i = received.findIndex((m) => m.topic === topic);
    if (i >= 0) return received.splice(i, 1)[0].payload;
    if (Date.now() > end) throw new Error(`nothing on ${topic}; agent log:\n${log}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function command(
  verb: string,
  body: Partial<{ id: string; verb: string; token: string; args: Record<string, string> }>,
) {
  await viewer.publishAsync(
    `egress/v1/${GW}/cmd/${verb}`,
    encodeCommand({ id: body.id ?? 'c1', verb: body.verb ?? verb, token: body.token ?? token, args: body.args ?? {} }),
    { qos: 1 },
  );
  return decodeCommandReply(await next(`egress/v1/${GW}/reply/${verb}`));
}

describe('dashboard connection and commands', () => {
  it('sees the retained status: online, with the agent version and databases', async () => {
    const s = decodeStatus(await next(`egress/v1/${GW}/status`));
    expect(s.state).toBe(pb.v1.Status.State.ONLINE);
    expect(s.gateway).toBe(GW);
    expect(s.agent_version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('opens and closes a flight session', async () => {
    const r = await command('start_flight', { id: 'open-1', args: { name: 'Flight 7' } });
    expect(r.ok).toBe(true);
    expect(r.id).toBe('open-1');
    const open = decodeSession(await next(`egress/v1/${GW}/session`));
    expect(open.state).toBe(pb.v1.Session.State.OPEN);
    expect(open.name).toBe('Flight 7');
    const again = await command('start_flight', { id: 'open-2' });
    expect(again.ok).toBe(false);
    expect(again.code).toBe('EGRESS_COMMAND_REJECTED');
    const closed = await command('end_flight', { id: 'close-1' });
    expect(closed.ok).toBe(true);
    const s = decodeSession(await next(`egress/v1/${GW}/session`));
    expect(s.state).toBe(pb.v1.Session.State.CLOSED);
    expect(s.id).toBe(open.id);
  });

  it('refuses a wrong token, an unknown verb, a verb that disagrees with its topic, and garbage', async () => {
    const bad = await command('ping', { token: 'not-the-token' });
    expect([bad.ok, bad.code, bad.message]).toEqual([false, 'EGRESS_COMMAND_REJECTED', 'wrong token']);
    const unknown = await command('reboot', {});
    expect([unknown.ok, unknown.code]).toEqual([false, 'EGRESS_COMMAND_REJECTED']);
    expect(unknown.message).toContain('unknown command');
    const mismatch = await command('ping', { verb: 'end_flight' });
    expect(mismatch.ok).toBe(false);
    await viewer.publishAsync(`egress/v1/${GW}/cmd/ping`, Buffer.from([0xff, 0xff, 0xff]), { qos: 1 });
    const garbage = decodeCommandReply(await next(`egress/v1/${GW}/reply/ping`));
    expect([garbage.ok, garbage.code]).toEqual([false, 'EGRESS_COMMAND_REJECTED']);
    // Still alive and answering.
    const ping = await command('ping', { id: 'p2' });
    expect([ping.ok, ping.message]).toEqual([true, 'pong']);
    expect(agent.exitCode).toBeNull();
  });

  it('says offline before it stops', async () => {
    received.length = 0;
    const gone = new Promise<number | null>((r) => agent.once('exit', (c) => r(c)));
    agent.kill('SIGTERM');
    const s = decodeStatus(await next(`egress/v1/${GW}/status`));
    expect(s.state).toBe(pb.v1.Status.State.OFFLINE);
    expect(await gone).toBe(0);
  });
});
