// End to end through a gateway in bridge mode (issue 11): the namespaces of
// test/support/gateway-net.ts with the gateway's eth1 (controller side) and
// eth0 (uplink) as ports of br0 and the ruleset `hardware/install.sh --mode
// bridge --dry-run` renders, applied as is. The agent (`egress run --gpio
// sim`) captures eth1, the controller's port, as the installed service does.
// The controller's DNS and HTTP are bridged untouched (no NAT: the server
// sees the controller's own address), counted by the bridge ruleset, and the
// denied connection's alert arrives on MQTT and latches the red light.
// Every process is stopped by PID and the namespaces are deleted, also when
// the test fails. Needs root, as CI has.

import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { egress } from '../../agent/src/mqtt/codec.js';
import { decodeAlert } from '../../agent/src/mqtt/codec-decode.js';
import { SimGpioClient } from '../../hardware/src/index.js';
import { spawnEgress } from '../support/cli.js';
import { CN_SERVER, DNS_NAME, type GatewayNet, RESOLVER, setupGatewayNet } from '../support/gateway-net.js';
import { Mosquitto } from '../support/mosquitto.js';
import { deleteNamespace, inNs, stop, waitFor } from '../support/netns.js';

const GW = `e2b-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'egress-e2b-'));
const started: ChildProcess[] = [];
const broker = new Mosquitto();
const gpio = new SimGpioClient(join(dir, 'gpio.sock'));
let net: GatewayNet | null = null;
let mqtt: MqttClient | null = null;

const POLICY = `allow:
  cidrs: [${RESOLVER}/32]
deny:
  countries: [CN]
geo_overrides:
  - { cidr: 203.0.113.0/24, country: CN, asn: 64500, as_org: "Test CN", as_country: CN }
  - { cidr: 198.51.100.0/24, country: NL, asn: 64501, as_org: "Test NL", as_country: NL }
`;

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('this test needs root: it creates network namespaces');
  net = await setupGatewayNet(started, dir, `b${process.pid}`, 'bridge');
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  writeFileSync(join(dir, 'tcpdump-gw'), `#!/bin/sh\nexec ip netns exec ${net.gw} tcpdump "$@"\n`);
  chmodSync(join(dir, 'tcpdump-gw'), 0o755);
  await broker.start();
}, 60_000);

afterAll(async () => {
  await mqtt?.endAsync(true);
  for (const child of started.reverse()) await stop(child);
  await broker.stop();
  if (net) for (const ns of [net.ctl, net.gw, net.net]) deleteNamespace(ns);
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('through a real gateway in bridge mode', () => {
  it('bridges the controller untouched, captures its port, alerts on MQTT and latches red', async () => {
    const n = net as GatewayNet;
    const alerts: egress.v1.Alert[] = [];
    mqtt = await connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    mqtt.on('message', (_topic, payload) => alerts.push(decodeAlert(payload)));
    await mqtt.subscribeAsync(`egress/v1/${GW}/alert`, { qos: 1 });

    const args = ['run', '--interface', n.captureIf, '--tcpdump', join(dir, 'tcpdump-gw'), '--broker', broker.url];
    args.push('--gateway', GW, '--policy', join(dir, 'policy.yaml'), '--data-dir', join(dir, 'data'));
    args.push('--gpio', 'sim', '--gpio-sim-socket', gpio.path, '--no-http', '--quiet');
    const agent = spawnEgress([...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(agent);
    let log = '';
    agent.stderr?.on('data', (c: Buffer) => (log += c.toString()));
    await waitFor('tcpdump listening on eth1', () => /capturing on eth1/.test(log));
    await waitFor('the broker connection', () => log.includes(`connected to ${broker.url}`));

    expect(inNs(n.ctl, 'dig', ['+short', '+tries=1', `@${RESOLVER}`, DNS_NAME]).trim()).toBe(CN_SERVER);
    expect(inNs(n.ctl, 'curl', ['-sS', '--max-time', '5', `http://${CN_SERVER}/index.html`])).toBe('hello\n');
    // No NAT in bridge mode: the server saw the controller itself.
    await waitFor('the server log', () => n.httpLog().includes('GET /index.html'));
    expect(n.httpLog()).toMatch(new RegExp(`^${n.controller.replaceAll('.', '\\.')} - - .*GET /index.html`, 'm'));
    // The frames went through br0's forward path, counted by the rendered bridge ruleset.
    const counters = inNs(n.gw, 'nft', ['list', 'chain', 'bridge', 'egress', 'forward']);
    for (const m of counters.matchAll(/counter packets (\d+)/g)) expect(Number(m[1])).toBeGreaterThan(0);
    expect([...counters.matchAll(/counter packets/g)]).toHaveLength(2);

    await waitFor('the alert on MQTT', () => alerts.some((a) => a.dest_ip === CN_SERVER));
    const cn = alerts.find((a) => a.dest_ip === CN_SERVER);
    expect(cn).toMatchObject({ gateway: GW, src_ip: n.controller, dest_port: 80, severity: egress.v1.Severity.HIGH });
    expect(cn?.reasons).toContain('deny_country');
    expect((await gpio.state()).red).toBe(true);

    agent.kill('SIGTERM');
    await waitFor('the agent to stop', () => agent.exitCode !== null, 20_000);
    expect(agent.exitCode, log).toBe(0);
  }, 60_000);
});
