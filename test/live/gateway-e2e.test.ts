// End to end through a real gateway: three network namespaces this test
// creates. `controller` (192.168.42.10, as the access point's DHCP would give)
// → `gateway` (interfaces named as on the Pi: wlan0 towards the controller,
// eth0 towards the uplink; forwarding on, and the nftables ruleset that
// `hardware/install.sh --mode ap --dry-run` renders, applied as is) →
// `internet` (servers on documentation addresses, dnsmasq as resolver; no
// route back to 192.168.42.0/24, so replies only come back through the
// gateway's NAT). The agent captures wlan0 (its tcpdump enters the gateway
// namespace through a --tcpdump wrapper) and publishes to a real mosquitto on
// 127.0.0.1; its alerts drive the signal adapter on the simulated GPIO, the
// way the live agent's hookup will. Then block mode: the block helper adds the
// denied address to the ruleset's set and a new connection to it fails while
// the allowed one still works. Every process
// is stopped by PID and the namespaces are deleted, also when a test fails.
// Needs root, as CI has.

import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAlert, egress } from '../../agent/src/mqtt/codec.js';
import { BlockClient, SignalAdapter, SimulatedGpio } from '../../hardware/src/index.js';
import { EGRESS_BIN, ROOT } from '../support/cli.js';
import { Mosquitto } from '../support/mosquitto.js';
import { deleteNamespace, inNs, startDnsmasq, startInNs, stop, waitFor } from '../support/netns.js';

const NS_CTL = `egress-e2c-${process.pid}`;
const NS_GW = `egress-e2g-${process.pid}`;
const NS_NET = `egress-e2i-${process.pid}`;
const CONTROLLER = '192.168.42.10';
const LAN_ADDR = '192.168.42.1';
const WAN_ADDR = '192.0.2.1';
const UPSTREAM = '192.0.2.2';
const RESOLVER = '198.51.100.53';
const CN_SERVER = '203.0.113.10';
const NL_SERVER = '198.51.100.80';
const DNS_NAME = 'flysafe-api.dji.com';
const GW = `e2e-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'egress-e2e-'));
const started: ChildProcess[] = [];
const clients: MqttClient[] = [];
const broker = new Mosquitto();
let httpLog = '';

const POLICY = `allow:
  cidrs: [${RESOLVER}/32]
deny:
  countries: [CN]
  domains: [dji.com]
geo_overrides:
  - { cidr: 203.0.113.0/24, country: CN, asn: 64500, as_org: "Test CN", as_country: CN }
  - { cidr: 198.51.100.0/24, country: NL, asn: 64501, as_org: "Test NL", as_country: NL }
`;

const ip = (...args: string[]) => execFileSync('ip', args);

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('this test needs root: it creates network namespaces');
  for (const ns of [NS_CTL, NS_GW, NS_NET]) {
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
  // controller ↔ gateway (wlan0), gateway (eth0) ↔ internet
  ip('-n', NS_CTL, 'link', 'add', 'ctl0', 'type', 'veth', 'peer', 'name', 'wlan0', 'netns', NS_GW);
  ip('-n', NS_GW, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'up0', 'netns', NS_NET);
  for (const [ns, dev, addr] of [
    [NS_CTL, 'ctl0', `${CONTROLLER}/24`],
    [NS_GW, 'wlan0', `${LAN_ADDR}/24`],
    [NS_GW, 'eth0', `${WAN_ADDR}/24`],
    [NS_NET, 'up0', `${UPSTREAM}/24`],
  ]) {
    ip('-n', ns, 'addr', 'add', addr, 'dev', dev);
    ip('-n', ns, 'link', 'set', dev, 'up');
  }
  ip('-n', NS_CTL, 'route', 'add', 'default', 'via', LAN_ADDR);
  ip('-n', NS_GW, 'route', 'add', 'default', 'via', UPSTREAM);
  for (const a of [RESOLVER, CN_SERVER, NL_SERVER]) ip('-n', NS_NET, 'addr', 'add', `${a}/32`, 'dev', 'lo');
  inNs(NS_GW, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);

  // The ruleset install.sh renders for access-point mode, applied in the gateway namespace only.
  const out = join(dir, 'rendered');
  const r = spawnSync('bash', [join(ROOT, 'hardware/install.sh'), '--mode', 'ap', '--dry-run', '--out', out], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`install.sh: ${r.stderr}`);
  inNs(NS_GW, 'nft', ['-f', join(out, 'etc/nftables.conf')]);

  await startDnsmasq(started, NS_NET, dir, RESOLVER, { [DNS_NAME]: CN_SERVER });
  writeFileSync(join(dir, 'index.html'), 'hello\n');
  for (const addr of [CN_SERVER, NL_SERVER]) {
    const server = await startInNs(
      started,
      NS_NET,
      'python3',
      ['-u', '-m', 'http.server', '80', '--bind', addr, '--directory', dir],
      /Serving HTTP/,
    );
    server.stderr?.on('data', (c: Buffer) => (httpLog += c.toString()));
  }
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  writeFileSync(join(dir, 'tcpdump-gw'), `#!/bin/sh\nexec ip netns exec ${NS_GW} tcpdump "$@"\n`);
  chmodSync(join(dir, 'tcpdump-gw'), 0o755);
  await broker.start();
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  for (const child of started.reverse()) await stop(child);
  await broker.stop();
  for (const ns of [NS_CTL, NS_GW, NS_NET]) deleteNamespace(ns);
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('through a real gateway (access-point mode ruleset)', () => {
  it('forwards and NATs the controller, alerts on MQTT, and the alert latches red and the buzzer', async () => {
    // The signals, as the live agent's hookup will drive them: alerts in, LEDs and buzzer out.
    const gpio = new SimulatedGpio();
    const signals = new SignalAdapter(gpio, {}, { tickMs: 20 });
    signals.preflight('pass');
    signals.session('open');

    const alerts: egress.v1.Alert[] = [];
    const sub = await connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    clients.push(sub);
    sub.on('message', (_topic, payload) => {
      const alert = decodeAlert(payload);
      alerts.push(alert);
      signals.alert(alert.severity === egress.v1.Severity.HIGH ? 'high' : 'medium');
    });
    await sub.subscribeAsync(`egress/v1/${GW}/alert`, { qos: 1 });

    const agent = spawn(
      process.execPath,
      [EGRESS_BIN, 'run', '--interface', 'wlan0', '--tcpdump', join(dir, 'tcpdump-gw'), '--broker', broker.url].concat([
        '--gateway',
        GW,
        '--policy',
        join(dir, 'policy.yaml'),
        '--data-dir',
        join(dir, 'data'),
        '--no-http',
        '--quiet',
      ]),
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    started.push(agent);
    let log = '';
    agent.stderr?.on('data', (c: Buffer) => (log += c.toString()));
    await waitFor('tcpdump listening on wlan0', () => /capturing on wlan0/.test(log));
    await waitFor('the broker connection', () => log.includes(`connected to ${broker.url}`));
    expect(gpio.level('red')).toBe(false);

    // DNS through the gateway to the resolver on the internet side, then HTTP to the answer.
    expect(inNs(NS_CTL, 'dig', ['+short', '+tries=1', `@${RESOLVER}`, DNS_NAME]).trim()).toBe(CN_SERVER);
    const curl = (url: string) => inNs(NS_CTL, 'curl', ['-sS', '--max-time', '5', url]);
    expect(curl(`http://${CN_SERVER}/index.html`)).toBe('hello\n');
    expect(curl(`http://${NL_SERVER}/index.html`)).toBe('hello\n');
    // The servers saw the gateway's uplink address: NAT did it (the internet has no route to the LAN).
    await waitFor('the server log', () => httpLog.includes('GET /index.html'));
    expect(httpLog).toMatch(new RegExp(`^${WAN_ADDR.replaceAll('.', '\\.')} - - .*GET /index.html`, 'm'));
    expect(httpLog).not.toContain(CONTROLLER);
    // The ruleset forwards only from the controller's LAN: the internet side cannot reach in.
    const inbound = spawnSync('ip', [
      'netns',
      'exec',
      NS_NET,
      'curl',
      '-sS',
      '--max-time',
      '2',
      `http://${CONTROLLER}/`,
    ]);
    expect(inbound.status).not.toBe(0);

    await waitFor('both alerts on MQTT', () => alerts.length >= 2);
    const cn = alerts.find((a) => a.dest_ip === CN_SERVER);
    expect(cn).toMatchObject({ gateway: GW, src_ip: CONTROLLER, dest_port: 80, severity: egress.v1.Severity.HIGH });
    expect(cn?.reasons).toContain('deny_country');
    // The Dutch server is only outside the allowlist: a lower severity, which does not light the red LED.
    const nl = alerts.filter((a) => a.dest_ip === NL_SERVER);
    expect(nl.map((a) => a.reasons)).toEqual([['not_allowlisted']]);
    expect(nl[0].severity).not.toBe(egress.v1.Severity.HIGH);

    // Red latched, buzzer pulsing, until acknowledged from the dashboard.
    expect(gpio.level('red')).toBe(true);
    await new Promise((r) => setTimeout(r, 1300));
    const buzz = gpio.history().filter((c) => c.output === 'buzzer');
    expect(buzz.filter((c) => c.on).length).toBeGreaterThanOrEqual(2);
    expect(gpio.level('red')).toBe(true);
    signals.acknowledge();
    expect(gpio.level('red')).toBe(false);
    expect(gpio.level('buzzer')).toBe(false);
    expect(gpio.level('green')).toBe(true);
    expect(gpio.level('amber')).toBe(true);
    await signals.close();

    // Block mode: the helper (in the gateway namespace, so its nft acts there) adds the denied
    // destination to the set; a new connection to it fails, one to the allowed server still works.
    const socket = join(dir, 'block.sock');
    await startInNs(
      started,
      NS_GW,
      process.execPath,
      [join(ROOT, 'hardware/dist/block/bin.js'), '--socket', socket],
      /listening on/,
    );
    const client = new BlockClient(socket, 600);
    expect(await client.block(CN_SERVER)).toBe('ok');
    expect(inNs(NS_GW, 'nft', ['list', 'set', 'inet', 'egress', 'denied4'])).toContain(CN_SERVER);
    const blocked = spawnSync(
      'ip',
      ['netns', 'exec', NS_CTL, 'curl', '-sS', '--max-time', '3', `http://${CN_SERVER}/index.html`],
      { encoding: 'utf8' },
    );
    expect(blocked.status).not.toBe(0);
    expect(curl(`http://${NL_SERVER}/index.html`)).toBe('hello\n');
    expect(await client.block('203.0.113.10; flush ruleset')).toBe('refused');
    expect(client.counters).toMatchObject({ ok: 1, refused: 1 });
    // The helper itself refuses anything but `add ADDRESS SECONDS`, whoever writes to its socket.
    const raw = await new Promise<string>((resolve) => {
      const conn = connect(socket);
      conn.on('data', (c: Buffer) => {
        resolve(c.toString().trim());
        conn.destroy();
      });
      conn.write('add 198.51.100.80 60; flush ruleset\n');
    });
    expect(raw).toBe('refused');
    expect(inNs(NS_GW, 'nft', ['list', 'set', 'inet', 'egress', 'denied4'])).not.toContain(NL_SERVER);

    agent.kill('SIGTERM');
    await waitFor('the agent to stop', () => agent.exitCode !== null, 20_000);
    expect(agent.exitCode, log).toBe(0);
  }, 90_000);
});
