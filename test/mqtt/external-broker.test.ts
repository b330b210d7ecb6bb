// The production setup: an external mosquitto with TLS (a CA made here),
// a password file and an ACL. `egress replay` publishes over mqtts:// as
// the agent user; `egress tail` reads as the viewer, decoding the protobuf.
// A viewer cannot forge alerts, and a wrong password keeps alerts spooled.

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { egress, events, ROOT, spawnEgress } from '../support/cli.js';
import { Mosquitto } from '../support/mosquitto.js';

const dir = mkdtempSync(join(tmpdir(), 'egress-external-'));
const fixture = join(ROOT, 'test/fixtures/names/chinese-cloud-eu/input.pcap');
const policy = join(ROOT, 'test/fixtures/names/policy.yaml');
const AGENT_PW = 'agent-pw-123';
const VIEWER_PW = 'viewer-pw-456';
const broker = new Mosquitto({
  tls: true,
  users: { 'egress-agent': AGENT_PW, 'egress-viewer': VIEWER_PW },
  acl: [
    'user egress-agent',
    'topic readwrite egress/v1/#',
    'user egress-viewer',
    'topic read egress/v1/#',
    'topic write egress/v1/+/cmd/+',
    '',
  ].join('\n'),
});
const children: ChildProcess[] = [];

beforeAll(async () => {
  await broker.start();
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await broker.stop();
});

function run(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; out: () => string; err: () => string; code: Promise<number | null> } {
  const child = spawnEgress([...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const code = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return { child, out: () => out, err: () => err, code };
}

function tls(): string[] {
  const t = broker.tlsMaterial;
  if (t === null) throw new Error('no TLS material');
  return ['--ca', t.ca];
}

/** `egress replay` of the fixture over mqtts:// as the agent user, with the given password. */
function replayOverTls(gateway: string, dataDir: string, extra: string[], password = AGENT_PW) {
  return run(
    [
      'replay',
      fixture,
      '--speed',
      'max',
      '--policy',
      policy,
      '--gateway',
      gateway,
      '--broker',
      broker.tlsUrl,
      ...tls(),
    ].concat(['--broker-user', 'egress-agent', '--data-dir', join(dir, dataDir), '--no-http', ...extra]),
    { EGRESS_BROKER_PASSWORD: password },
  );
}

/** The viewer's password in a file (never on the command line, where `ps` shows it). */
function viewerTokenFile(): string {
  const file = join(dir, 'viewer-token');
  writeFileSync(file, `${VIEWER_PW}\n`, { mode: 0o600 });
  return file;
}

/** `egress tail` over mqtts:// as the viewer, for one gateway. */
function tailOverTls(gateway: string, extra: string[]) {
  return run(
    ['tail', '--broker', broker.tlsUrl, ...tls(), '--gateway', gateway, '--username', 'egress-viewer'].concat([
      '--token-file',
      viewerTokenFile(),
      ...extra,
    ]),
  );
}

describe('external mosquitto with TLS, passwords and an ACL', () => {
  it('carries the alerts from replay to tail, decoded', async () => {
    const expected = events(egress(['scan', fixture, '--policy', policy, '--format', 'ndjson']).stdout).filter(
      (e) => e.event_type === 'alert',
    );
    expect(expected.length).toBeGreaterThan(0);
    const tail = tailOverTls('gw-tls', ['--json', '--count', String(expected.length)]);
    await new Promise((r) => setTimeout(r, 800)); // subscribed
    const t = broker.tlsMaterial;
    const replay = replayOverTls('gw-tls', 'a', [
      '--cert',
      t?.clientCert ?? '',
      '--key',
      t?.clientKey ?? '',
      '--linger',
      '10',
    ]);
    expect(await replay.code).toBe(0);
    expect(await tail.code).toBe(0);
    const got = tail
      .out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(
      got.map((a) => [a.kind, a.alert_kind, a.src_ip, a.dest_ip, a.dest_port, a.severity, a.reasons, a.dest.names]),
    ).toEqual(
      expected.map((e) => [
        'alert',
        'connection',
        e.src_ip,
        e.dest_ip,
        e.dest_port,
        e.alert.severity,
        e.alert.reasons,
        e.dest.names,
      ]),
    );
    expect(got[0].dest.as_country).toBe(expected[0].dest.as_country);
    expect(got[0].text).toBe(expected[0].alert.text);
  }, 60_000);

  it('prints alerts readably without --json', async () => {
    const tail = tailOverTls('gw-text', ['--count', '1']);
    await new Promise((r) => setTimeout(r, 800));
    const replay = replayOverTls('gw-text', 'b', ['--quiet']);
    expect(await replay.code).toBe(0);
    expect(await tail.code).toBe(0);
    expect(tail.out()).toMatch(/HIGH +gw-text +\S+ -> 198\.51\.100\.40:443 TCP .*AS45102.*\[deny_as_country/);
    expect(tail.out()).toContain('Connects to');
  }, 60_000);

  it('does not let a viewer forge an alert', async () => {
    const t = broker.tlsMaterial;
    const viewer = await connectAsync(broker.tlsUrl, {
      username: 'egress-viewer',
      password: VIEWER_PW,
      ca: t ? readFileSync(t.ca) : undefined,
      reconnectPeriod: 0,
      protocolVersion: 4,
    });
    const seen: string[] = [];
    viewer.on('message', (topic) => seen.push(topic));
    await viewer.subscribeAsync('egress/v1/gw-forge/#', { qos: 1 });
    viewer.publish('egress/v1/gw-forge/alert', Buffer.from('forged'), { qos: 0 });
    await viewer.publishAsync('egress/v1/gw-forge/cmd/ping', Buffer.from('allowed'), { qos: 1 });
    await new Promise((r) => setTimeout(r, 500));
    await viewer.endAsync(true);
    expect(seen).toEqual(['egress/v1/gw-forge/cmd/ping']);
  }, 15_000);

  it('keeps alerts in the spool when the broker refuses the password, and says so', async () => {
    const replay = replayOverTls('gw-badpw', 'c', ['--linger', '2', '--quiet'], 'wrong');
    expect(await replay.code).toBe(1);
    expect(replay.err()).toMatch(/Not authorized|Bad username or password/i);
    expect(replay.err()).toMatch(/\d+ messages stay in the spool/);
  }, 30_000);

  it('refuses a broker URL it cannot use, with a stable code', () => {
    const r = egress(['replay', fixture, '--broker', 'http://127.0.0.1:1', '--data-dir', join(dir, 'd'), '--no-http']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('EGRESS_BROKER_UNAVAILABLE');
  });
});
