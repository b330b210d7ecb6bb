// The acknowledgements counter (Status field 33) from the real agent, as
// `egress tail --status --json` prints it: `egress replay --gpio sim` of the
// demo flight in a loop latches the red light; the dashboard's acknowledge
// command and a long press on the simulated button each count once, and the
// status with the new count is published at once (before the command's reply).

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCommand } from '../../agent/src/mqtt/codec-control.js';
import { decodeCommandReply, decodeStatus } from '../../agent/src/mqtt/codec-decode.js';
import { SimGpioClient } from '../../hardware/src/index.js';
import { DEMO_CAPTURE, DEMO_POLICY, freePort } from '../support/browser.js';
import { spawnEgress } from '../support/cli.js';

const GW = 'ackcount';
const dir = mkdtempSync(join(tmpdir(), 'egress-ackcount-'));
const dataDir = join(dir, 'data');
const gpio = new SimGpioClient(join(dir, 'gpio.sock'));
const started: ChildProcess[] = [];
let agentLog = '';
let tailOut = '';
let viewer: MqttClient;
let token = '';
/** Status and reply messages the viewer received, in order. */
const seen: { kind: 'status' | 'reply'; acknowledgements?: number; latched?: boolean; message?: string }[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  for (const end = Date.now() + ms; !ok(); await sleep(50))
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; agent log:\n${agentLog}`);
}

/** The status lines tail printed so far. */
const tailStatuses = (): Record<string, unknown>[] =>
  tailOut
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((m) => m.kind === 'status');

const latestStatus = () => seen.filter((m) => m.kind === 'status').at(-1);
const latestCount = () => latestStatus()?.acknowledgements;

beforeAll(async () => {
  const port = await freePort();
  const agent = spawnEgress(
    [
      'replay',
      DEMO_CAPTURE,
      '--policy',
      DEMO_POLICY,
      '--speed',
      '4',
      '--loop',
      '--gateway',
      GW,
      '--data-dir',
      dataDir,
      '--mqtt-port',
      String(port),
      '--no-http',
      '--gpio',
      'sim',
      '--gpio-sim-socket',
      gpio.path,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  started.push(agent);
  agent.stderr?.on('data', (c: Buffer) => (agentLog += c));
  await waitFor('the agent to start', () => /GPIO signals: driver sim/.test(agentLog), 30_000);
  const broker = `mqtt://127.0.0.1:${port}`;
  const tail = spawnEgress(['tail', '--status', '--json', '--broker', broker, '--gateway', GW, '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(tail);
  tail.stdout?.on('data', (c: Buffer) => (tailOut += c));
  // The dashboard's token, from the agent's data directory (as tail finds it).
  token = JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')).dashboard as string;
  viewer = await mqtt.connectAsync(broker, { username: 'egress-viewer', password: token, reconnectPeriod: 0 });
  viewer.on('message', (topic, payload) => {
    if (topic.endsWith('/status') && payload.length > 0) {
      const s = decodeStatus(payload);
      seen.push({ kind: 'status', acknowledgements: s.acknowledgements, latched: s.alert_latched });
    } else if (topic.includes('/reply/')) seen.push({ kind: 'reply', message: decodeCommandReply(payload).message });
  });
  await viewer.subscribeAsync([`egress/v1/${GW}/status`, `egress/v1/${GW}/reply/+`], { qos: 1 });
}, 60_000);

afterAll(async () => {
  await viewer?.endAsync(true);
  for (const child of started.reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(t);
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('acknowledgements in the retained status (egress replay --gpio sim, egress tail --status --json)', () => {
  it('starts at 0; the dashboard acknowledge command counts one, published before its reply', async () => {
    await waitFor('red latched in the status', () => seen.some((m) => m.kind === 'status' && m.latched));
    expect(latestCount()).toBe(0);
    await waitFor('tail to print a status', () => tailStatuses().length > 0);
    expect(tailStatuses()[0]).toMatchObject({ topic: `egress/v1/${GW}/status`, acknowledgements: 0 });

    const from = seen.length;
    await viewer.publishAsync(
      `egress/v1/${GW}/cmd/acknowledge`,
      encodeCommand({ id: 'ack-1', verb: 'acknowledge', token, args: {} }),
      { qos: 1 },
    );
    await waitFor('the reply', () => seen.slice(from).some((m) => m.kind === 'reply'));
    const after = seen.slice(from);
    const reply = after.findIndex((m) => m.kind === 'reply');
    expect(after[reply].message).toMatch(/^acknowledged \d+ high-severity alert\(s\): red light and buzzer off$/);
    // The status that counts it came first, with the light off (a newer alert may latch it again after).
    expect(after.slice(0, reply).find((m) => m.acknowledgements === 1)).toEqual({
      kind: 'status',
      acknowledgements: 1,
      latched: false,
    });
    await waitFor('tail to print the count', () => tailStatuses().some((m) => m.acknowledgements === 1));
  }, 90_000);

  it('a long press on the gateway counts one more', async () => {
    await waitFor('red latched again by the looping replay', () => latestStatus()?.latched === true);
    expect((await gpio.state()).red).toBe(true);
    await gpio.click(2300);
    await waitFor('the count of the long press', () => latestCount() === 2, 10_000);
    expect(agentLog).toContain('alert acknowledged: red light and buzzer off');
    await waitFor('tail to print it', () => tailStatuses().some((m) => m.acknowledgements === 2), 10_000);
    // Counted once per acknowledgement: never skipped, never twice.
    const counts = seen.filter((m) => m.kind === 'status').map((m) => m.acknowledgements);
    expect([...new Set(counts)]).toEqual([0, 1, 2]);
  }, 90_000);
});
