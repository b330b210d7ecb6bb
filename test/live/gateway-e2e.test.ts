// End to end through a real gateway (issue 11): the three namespaces of
// test/support/gateway-net.ts (controller → gateway with the rendered
// access-point ruleset → internet). The agent runs as `egress run --gpio sim`,
// capturing wlan0 (its tcpdump enters the gateway namespace through a
// --tcpdump wrapper) and publishing to a real mosquitto on 127.0.0.1. Real
// clients in the controller namespace (dig, curl over HTTP and HTTPS,
// ngtcp2's gtlsclient over QUIC) go through the gateway's NAT; the test reads
// the alerts, sessions, status and command replies on MQTT, and presses the
// simulated button and reads the lights on the agent's GPIO socket, as a team
// would at the gateway. Then block mode: the agent runs with --block-socket
// from the start, so the high alerts before the block helper is up fail open
// (logged once, counted); once the helper runs in the gateway namespace, the
// agent itself asks it to add a denied destination to the ruleset's set on
// that destination's next alert, after which a new connection to it fails
// while the allowed one still works. Every process is stopped by PID and the
// namespaces are deleted, also when a test fails. Needs root, as CI has.

import { type ChildProcess, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { egress } from '../../agent/src/mqtt/codec.js';
import { encodeCommand } from '../../agent/src/mqtt/codec-control.js';
import {
  decodeAlert,
  decodeCommandReply,
  decodeSession,
  decodeStats,
  decodeStatus,
} from '../../agent/src/mqtt/codec-decode.js';
import { BlockClient, SimGpioClient } from '../../hardware/src/index.js';
import { ROOT, spawnEgress } from '../support/cli.js';
import {
  CN_SERVER,
  CONTROLLER,
  DNS_NAME,
  type GatewayNet,
  NL_SERVER,
  QUIC,
  RESOLVER,
  setupGatewayNet,
  TLS,
  WAN_ADDR,
} from '../support/gateway-net.js';
import { Mosquitto } from '../support/mosquitto.js';
import { deleteNamespace, inNs, runInNs, startInNs, stop, waitFor } from '../support/netns.js';

const GW = `e2e-${process.pid}`;
const TOKEN = 'e2e-dashboard-token';
const dir = mkdtempSync(join(tmpdir(), 'egress-e2e-'));
const started: ChildProcess[] = [];
const clients: MqttClient[] = [];
const broker = new Mosquitto();
const gpio = new SimGpioClient(join(dir, 'gpio.sock'));
let net: GatewayNet | null = null;
let agent: ChildProcess;
let log = '';
let mqtt: MqttClient;
const alerts: egress.v1.Alert[] = [];
const sessions: egress.v1.Session[] = [];
const replies: egress.v1.CommandReply[] = [];
let status: egress.v1.Status | null = null;
let stats: egress.v1.Stats | null = null;
const BLOCK_SOCKET = join(dir, 'block.sock');

const POLICY = `allow:
  cidrs: [${RESOLVER}/32]
deny:
  countries: [CN]
  domains: [dji.com]
geo_overrides:
  - { cidr: 203.0.113.0/24, country: CN, asn: 64500, as_org: "Test CN", as_country: CN }
  - { cidr: 198.51.100.0/24, country: NL, asn: 64501, as_org: "Test NL", as_country: NL }
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('this test needs root: it creates network namespaces');
  net = await setupGatewayNet(started, dir, String(process.pid));
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  writeFileSync(join(dir, 'tcpdump-gw'), `#!/bin/sh\nexec ip netns exec ${net.gw} tcpdump "$@"\n`);
  chmodSync(join(dir, 'tcpdump-gw'), 0o755);
  await broker.start();

  mqtt = await connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
  clients.push(mqtt);
  mqtt.on('message', (topic, payload) => {
    const kind = topic.split('/')[3];
    if (payload.length === 0) return;
    if (kind === 'alert') alerts.push(decodeAlert(payload));
    else if (kind === 'session') sessions.push(decodeSession(payload));
    else if (kind === 'status') status = decodeStatus(payload);
    else if (kind === 'reply') replies.push(decodeCommandReply(payload));
    else if (kind === 'stats') stats = decodeStats(payload);
  });
  await mqtt.subscribeAsync(`egress/v1/${GW}/#`, { qos: 1 });

  const args = ['run', '--interface', 'wlan0', '--tcpdump', join(dir, 'tcpdump-gw'), '--broker', broker.url];
  args.push('--gateway', GW, '--policy', join(dir, 'policy.yaml'), '--data-dir', join(dir, 'data'));
  args.push('--gpio', 'sim', '--gpio-sim-socket', join(dir, 'gpio.sock'), '--no-http', '--quiet');
  args.push('--block-socket', BLOCK_SOCKET, '--block-seconds', '600');
  agent = spawnEgress([...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, EGRESS_DASHBOARD_TOKEN: TOKEN },
  });
  started.push(agent);
  agent.stderr?.on('data', (c: Buffer) => (log += c.toString()));
  await waitFor('tcpdump listening on wlan0', () => /capturing on wlan0/.test(log));
  await waitFor('the broker connection', () => log.includes(`connected to ${broker.url}`));
}, 90_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  for (const child of started.reverse()) await stop(child);
  await broker.stop();
  if (net) for (const ns of [net.ctl, net.gw, net.net]) deleteNamespace(ns);
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

/** Send cmd/<verb> as the dashboard does; the agent's reply. */
async function command(verb: string, id: string): Promise<egress.v1.CommandReply> {
  await mqtt.publishAsync(`egress/v1/${GW}/cmd/${verb}`, encodeCommand({ id, verb, token: TOKEN, args: {} }), {
    qos: 1,
  });
  await waitFor(`the reply to ${verb}`, () => replies.some((r) => r.id === id));
  return replies.find((r) => r.id === id) as egress.v1.CommandReply;
}

const ctl = (cmd: string, args: string[]) => inNs(net?.ctl ?? '', cmd, args);
const curl = (...args: string[]) => ctl('curl', ['-sS', '--max-time', '5', ...args]);

describe('through a real gateway (access-point mode ruleset), egress run --gpio sim', () => {
  it('runs the preflight at start: its result is on the green light and in the retained status', async () => {
    await waitFor('the preflight result in the status', () => (status?.preflight ?? '') !== '', 20_000);
    const s = status as egress.v1.Status;
    expect(log).toMatch(/preflight: result: (PASS|WARN|FAIL)/);
    expect(log).toContain('preflight: PASS  capture       tcpdump is capturing on wlan0');
    expect(s.preflight).toBe(/preflight: result: (\w+)/.exec(log)?.[1].toLowerCase());
    // Green: solid on a pass, blinking (1 s) on warnings, off on a failure. A CI machine
    // has no timesyncd and the built geo data ages: usually warnings, each listed with its fix.
    const since = Date.now();
    await sleep(2300);
    const green = (await gpio.history(since)).filter((c) => c.output === 'green');
    if (s.preflight === 'pass') {
      expect(s.preflight_problems).toEqual([]);
      expect((await gpio.state()).green).toBe(true);
    } else if (s.preflight === 'warn') {
      expect(s.preflight_problems.length).toBeGreaterThan(0);
      expect(s.preflight_problems.every((p) => /^\w+: .*\(fix: .+\)$/.test(p))).toBe(true);
      expect(green.length).toBeGreaterThanOrEqual(2);
    } else {
      expect(green).toEqual([]);
      expect((await gpio.state()).green).toBe(false);
    }
    expect(s.alert_latched).toBe(false);
    expect(await gpio.state()).toMatchObject({ red: false, buzzer: false, amber: false });
  }, 30_000);

  it('forwards and NATs DNS, HTTP, TLS and QUIC from the controller; the alerts arrive on MQTT', async () => {
    // DNS through the gateway to the resolver on the internet side, then HTTP to the answer.
    expect(ctl('dig', ['+short', '+tries=1', `@${RESOLVER}`, DNS_NAME]).trim()).toBe(CN_SERVER);
    expect(curl(`http://${CN_SERVER}/index.html`)).toBe('hello\n');
    expect(curl(`http://${NL_SERVER}/index.html`)).toBe('hello\n');
    // TLS: curl over HTTPS to openssl s_server, the name only in the SNI.
    expect(curl('-k', '--resolve', `${TLS.name}:443:${TLS.addr}`, `https://${TLS.name}/`)).toContain('s_server');
    // QUIC: ngtcp2's client to its server, the whole handshake through the NAT.
    const url = `https://${QUIC.name}:${QUIC.port}/index.html`;
    const q = await runInNs(
      started,
      net?.ctl ?? '',
      'timeout',
      ['20', 'gtlsclient', '-q', '--exit-on-all-streams-close', QUIC.name, String(QUIC.port), url],
      30_000,
    );
    expect(q.code, q.output).toBe(0);

    // The servers saw the gateway's uplink address: NAT did it (the internet has no route to the LAN).
    await waitFor('the server log', () => (net?.httpLog() ?? '').includes('GET /index.html'));
    expect(net?.httpLog()).toMatch(new RegExp(`^${WAN_ADDR.replaceAll('.', '\\.')} - - .*GET /index.html`, 'm'));
    expect(net?.httpLog()).not.toContain(CONTROLLER);
    // The ruleset forwards only from the controller's LAN: the internet side cannot reach in.
    const inbound = spawnSync('ip', [
      'netns',
      'exec',
      net?.net ?? '',
      'curl',
      '-sS',
      '--max-time',
      '2',
      `http://${CONTROLLER}/`,
    ]);
    expect(inbound.status).not.toBe(0);

    const denied = (addr: string, port: number) =>
      alerts.find((a) => a.dest_ip === addr && a.dest_port === port && a.reasons.includes('deny_domain'));
    await waitFor(
      'the alerts on MQTT',
      () => denied(TLS.addr, 443) !== undefined && denied(QUIC.addr, QUIC.port) !== undefined,
    );
    const cn = alerts.find((a) => a.dest_ip === CN_SERVER);
    expect(cn).toMatchObject({ gateway: GW, src_ip: CONTROLLER, dest_port: 80, severity: egress.v1.Severity.HIGH });
    expect(cn?.reasons).toContain('deny_country');
    // The Dutch server over HTTP is only outside the allowlist: a lower severity.
    const nl = alerts.filter((a) => a.dest_ip === NL_SERVER && a.dest_port === 80);
    expect(nl.map((a) => a.reasons)).toEqual([['not_allowlisted']]);
    expect(nl[0].severity).not.toBe(egress.v1.Severity.HIGH);
    // TLS and QUIC are denied by the names in their ClientHello, read on the gateway's wlan0.
    expect(denied(TLS.addr, 443)).toMatchObject({
      src_ip: CONTROLLER,
      app_proto: 'tls',
      severity: egress.v1.Severity.HIGH,
    });
    expect(denied(TLS.addr, 443)?.dest?.names).toContain(TLS.name);
    expect(denied(QUIC.addr, QUIC.port)).toMatchObject({ app_proto: 'quic', proto: egress.v1.Transport.UDP });
    expect(denied(QUIC.addr, QUIC.port)?.dest?.names).toContain(QUIC.name);
  }, 60_000);

  it('latches red and the buzzer on the high alerts until the dashboard acknowledges', async () => {
    expect((await gpio.state()).red).toBe(true);
    await waitFor('the latch in the status', () => status?.alert_latched === true);
    expect(status?.alerts_unacknowledged).toBeGreaterThanOrEqual(3); // CN over HTTP, TLS, QUIC
    const since = Date.now();
    await sleep(2300);
    const buzz = (await gpio.history(since)).filter((c) => c.output === 'buzzer' && c.on);
    expect(buzz.length).toBeGreaterThanOrEqual(2); // on 200 ms every second
    expect((await gpio.state()).red).toBe(true);

    const reply = await command('acknowledge', 'ack-1');
    expect(reply.ok, reply.message).toBe(true);
    expect(reply.message).toMatch(/^acknowledged \d+ high-severity alert\(s\): red light and buzzer off$/);
    expect(await gpio.state()).toMatchObject({ red: false, buzzer: false });
    await waitFor('the status without the latch', () => status?.alert_latched === false);
    expect(status?.alerts_unacknowledged).toBe(0);
    expect(status?.acknowledgements).toBe(1);
    expect((await command('acknowledge', 'ack-2')).message).toBe('nothing to acknowledge: no alert is latched');
  }, 30_000);

  it('the button: a short press opens a flight, a second one closes it; a long press clears a latched red', async () => {
    await gpio.click(150);
    await waitFor('the session opened on MQTT', () => sessions.some((s) => s.state === egress.v1.Session.State.OPEN));
    const open = sessions.find((s) => s.state === egress.v1.Session.State.OPEN) as egress.v1.Session;
    expect(open.gateway).toBe(GW);
    expect((await gpio.state()).amber).toBe(true);
    await waitFor('the status naming the flight', () => status?.session === open.id);

    // A high alert inside the flight latches red again and carries the flight's id.
    const before = alerts.length;
    expect(curl(`http://${CN_SERVER}/index.html`)).toBe('hello\n');
    await waitFor('the alert', () => alerts.slice(before).some((a) => a.dest_ip === CN_SERVER));
    expect(alerts.slice(before).find((a) => a.dest_ip === CN_SERVER)?.session).toBe(open.id);
    for (let i = 0; i < 100 && !(await gpio.state()).red; i++) await sleep(50);
    expect((await gpio.state()).red).toBe(true);

    // A short press does not acknowledge; a long press (2 s) does, and leaves the flight open.
    await gpio.click(150);
    await waitFor('the session closed on MQTT', () =>
      sessions.some((s) => s.id === open.id && s.state === egress.v1.Session.State.CLOSED),
    );
    expect(await gpio.state()).toMatchObject({ red: true, amber: false });
    await gpio.press();
    await sleep(2300);
    expect((await gpio.state()).red).toBe(false); // fired while still held
    await gpio.release();
    await waitFor('the status without the latch', () => status?.alert_latched === false);
    expect(status?.acknowledgements).toBe(2); // cmd/acknowledge, then this long press (the empty one not counted)
    await sleep(300);
    expect(sessions.filter((s) => s.state === egress.v1.Session.State.OPEN)).toHaveLength(1); // no new flight
    expect(log).toContain(`flight ${open.id} started with the button`);
    expect(log).toContain(`flight ${open.id} ended with the button`);
    expect(log).toContain('alert acknowledged: red light and buzzer off');
  }, 40_000);

  it('block mode: the agent feeds the helper; after the first alert a denied destination fails, the allowed one still works', async () => {
    // Until now the helper was not running: every high alert failed open, logged once, counted.
    expect(log).toContain(`block mode: the destinations of high alerts go to the block helper on ${BLOCK_SOCKET}`);
    expect(log.match(/the block helper on \S+ is not reachable/g)).toHaveLength(1);
    const denied4 = () => inNs(net?.gw ?? '', 'nft', ['list', 'set', 'inet', 'egress', 'denied4']);
    expect(denied4()).not.toContain(CN_SERVER);

    // The helper, in the gateway namespace so its nft acts on the gateway's ruleset.
    await startInNs(
      started,
      net?.gw ?? '',
      process.execPath,
      [join(ROOT, 'hardware/dist/block/bin.js'), '--socket', BLOCK_SOCKET],
      /listening on/,
    );
    const fetchCn = () =>
      spawnSync(
        'ip',
        ['netns', 'exec', net?.ctl ?? '', 'curl', '-sS', '--max-time', '3', `http://${CN_SERVER}/index.html`],
        { encoding: 'utf8' },
      );
    // The first connection alerts; its first packets pass before the block lands, so it may
    // finish or be cut off. Either way the agent asks the helper, and the set holds the address.
    const before = alerts.length;
    const first = fetchCn();
    await waitFor('the alert', () => alerts.slice(before).some((a) => a.dest_ip === CN_SERVER));
    await waitFor('the address in the nftables set', () => denied4().includes(CN_SERVER));
    expect(denied4()).toMatch(new RegExp(`${CN_SERVER.replaceAll('.', '\\.')} timeout 10m`));
    expect(first.status === 0 ? first.stdout : first.stderr).toMatch(/^hello\n$|curl: \(\d+\)/);
    console.log(
      `block mode: the first connection ${first.status === 0 ? 'finished before the block landed' : `was cut off (${first.stderr.trim()})`}`,
    );

    // The next connection to it is refused at the gateway; the allowed one still works.
    const second = fetchCn();
    expect(second.status, second.stdout).not.toBe(0);
    expect(second.stdout).not.toContain('hello');
    expect(curl(`http://${NL_SERVER}/index.html`)).toBe('hello\n');
    expect(denied4()).not.toContain(NL_SERVER);
    const again = `block mode: the block helper answers again (${CN_SERVER} blocked)`;
    await waitFor('the agent to log the helper back', () => log.includes(again));

    // The agent's counters: asked once for CN (the second connection's alert asks nothing),
    // every earlier request failed open because the helper was away.
    const asked = `status-${Date.now()}`;
    stats = null;
    expect((await command('status', asked)).ok).toBe(true);
    await waitFor('the stats', () => stats !== null);
    const c = (stats as egress.v1.Stats | null)?.counters ?? {};
    const n = (k: string) => Number(c[k] ?? -1);
    expect(n('block.ok')).toBe(1);
    expect(n('block.refused')).toBe(0);
    expect(n('block.failed')).toBeGreaterThanOrEqual(3); // CN over HTTP, TLS, QUIC before the helper ran
    expect(n('block.unreachable')).toBe(n('block.failed'));
    expect(n('block.requested')).toBe(n('block.ok') + n('block.failed'));
    expect(n('block.addresses')).toBe(1);
    expect(n('block.in_flight')).toBe(0);
    // Every counter a running gateway sends is explained for operators.
    const documented = readFileSync(join(ROOT, 'docs/counters.md'), 'utf8');
    expect(Object.keys(c).length).toBeGreaterThan(40);
    for (const k of Object.keys(c)) expect(documented, `${k} in docs/counters.md`).toContain(`\`${k}\``);

    // The helper refuses anything but `add ADDRESS SECONDS`, whoever writes to its socket.
    const client = new BlockClient(BLOCK_SOCKET, 600);
    expect(await client.block('203.0.113.10; flush ruleset')).toBe('refused');
    const raw = await new Promise<string>((resolve) => {
      const conn = connect(BLOCK_SOCKET);
      conn.on('data', (ch: Buffer) => {
        resolve(ch.toString().trim());
        conn.destroy();
      });
      conn.write('add 198.51.100.80 60; flush ruleset\n');
    });
    expect(raw).toBe('refused');
    expect(denied4()).not.toContain(NL_SERVER);

    // Lifting a block, as the agent does when an allow from the dashboard covers a destination
    // it blocked (a policy with `unlisted: high`): the element leaves the real set, traffic flows.
    expect(await client.unblock(CN_SERVER)).toBe('ok');
    expect(denied4()).not.toContain(CN_SERVER);
    expect(curl(`http://${CN_SERVER}/index.html`)).toBe('hello\n');
    expect(await client.unblock(CN_SERVER)).toBe('failed'); // nft: no such element any more

    agent.kill('SIGTERM');
    await waitFor('the agent to stop', () => agent.exitCode !== null, 20_000);
    expect(agent.exitCode, log).toBe(0);
  }, 30_000);
});
