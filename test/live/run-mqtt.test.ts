// `egress run` end to end, live: two network namespaces joined by a veth
// pair, a "controller" namespace with real clients (dig, curl, openssl
// s_client) and a "gateway" namespace with real servers (dnsmasq, python3
// http.server, openssl s_server) on documentation addresses. The agent runs
// in the root namespace, unprivileged in spirit: only its tcpdump enters the
// gateway namespace (through `--tcpdump`, a wrapper that runs
// `ip netns exec NS tcpdump`), and it publishes to a real mosquitto on
// 127.0.0.1. A subscriber checks what a dashboard would see: each alert with
// its tuple, names (DNS answer, TLS SNI, HTTP Host), severity and reasons;
// the retained status ONLINE while the agent runs and OFFLINE after SIGTERM;
// and no tcpdump left behind. Nothing leaves the namespaces and loopback;
// every process is stopped by PID and the namespaces are deleted afterwards.
// Needs root (namespaces, capture), as CI has.

import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { egress } from '../../agent/src/mqtt/codec.js';
import { decodeAlert, decodeFlow, decodeStatus } from '../../agent/src/mqtt/codec-decode.js';
import { spawnEgress } from '../support/cli.js';
import { Mosquitto } from '../support/mosquitto.js';
import {
  deleteNamespace,
  inNs,
  makeNamespacePair,
  startDnsmasq,
  startInNs,
  stop,
  tcpdumpIn,
  waitFor,
} from '../support/netns.js';

const NS_CTL = `egress-rctl-${process.pid}`;
const NS_GW = `egress-rgw-${process.pid}`;
const IF_GW = 'veth-gw';
const CLIENT = '192.0.2.2';
const GATEWAY = '192.0.2.1';
const RESOLVER = '198.51.100.53';
/** A host in a range the policy places in China. */
const CN_SERVER = '203.0.113.10';
const CN_BARE = '203.0.113.20';
/** A host in the Netherlands, reached by DJI names. */
const NL_SERVER = '198.51.100.80';
const DNS_NAME = 'flysafe-api.dji.com';
const HTTP_HOST = 'active.dji.com';
const TLS_SNI = 'mydjiflight.dji.com';
const GW = `run-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'egress-run-mqtt-'));
const started: ChildProcess[] = [];
/** tcpdump in the gateway namespace, for --tcpdump. */
let tcpdumpGw = '';
const clients: MqttClient[] = [];
const broker = new Mosquitto();

const POLICY = `# China by geo (the documentation range stands in for a Chinese cloud), DJI by name.
allow:
  cidrs: [${RESOLVER}/32]
deny:
  countries: [CN]
  domains: [dji.com]
geo_overrides:
  - { cidr: 203.0.113.0/24, country: CN, asn: 64500, as_org: "Test CN", as_country: CN }
  - { cidr: 198.51.100.0/24, country: NL, asn: 64501, as_org: "Test NL", as_country: NL }
`;

/** The retained status of the gateway as a new subscriber gets it. */
async function retainedStatus(): Promise<egress.v1.Status> {
  const client = await connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
  clients.push(client);
  try {
    const got = new Promise<Buffer>((resolve) => client.once('message', (_t, payload) => resolve(payload)));
    await client.subscribeAsync(`egress/v1/${GW}/status`, { qos: 1 });
    const timeout = new Promise<never>((_r, reject) => setTimeout(() => reject(new Error('no retained status')), 5000));
    return decodeStatus(await Promise.race([got, timeout]));
  } finally {
    await client.endAsync(true);
  }
}

/** Processes in the gateway namespace whose command is tcpdump. */
function tcpdumpsInGateway(): number[] {
  const pids = execFileSync('ip', ['netns', 'pids', NS_GW], { encoding: 'utf8' }).trim().split(/\s+/).filter(Boolean);
  return pids.map(Number).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'tcpdump';
    } catch {
      return false; // gone meanwhile
    }
  });
}

beforeAll(async () => {
  makeNamespacePair({
    ctl: NS_CTL,
    ifCtl: 'veth-ctl',
    gw: NS_GW,
    ifGw: IF_GW,
    client: CLIENT,
    gateway: GATEWAY,
    internet: [RESOLVER, CN_SERVER, CN_BARE, NL_SERVER],
  });
  await startDnsmasq(started, NS_GW, dir, RESOLVER, { [DNS_NAME]: CN_SERVER });
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${DNS_NAME}`].concat([
      '-keyout',
      key,
      '-out',
      cert,
    ]),
    { stdio: 'ignore' },
  );
  for (const addr of [CN_SERVER, NL_SERVER])
    await startInNs(started, NS_GW, 'openssl', [
      's_server',
      '-accept',
      `${addr}:443`,
      '-cert',
      cert,
      '-key',
      key,
      '-quiet',
    ]);
  writeFileSync(join(dir, 'index.html'), 'hello\n');
  for (const addr of [CN_BARE, NL_SERVER])
    await startInNs(
      started,
      NS_GW,
      'python3',
      ['-u', '-m', 'http.server', '80', '--bind', addr, '--directory', dir],
      /Serving HTTP/,
    );
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  tcpdumpGw = tcpdumpIn(dir, NS_GW);
  await broker.start();
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  for (const child of started.reverse()) await stop(child);
  await broker.stop();
  for (const ns of [NS_CTL, NS_GW]) deleteNamespace(ns);
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('egress run: live capture in a namespace, alerts over a real mosquitto', () => {
  it('publishes each alert with its tuple, names, severity and reasons; ONLINE, then OFFLINE after SIGTERM', async () => {
    const alerts: egress.v1.Alert[] = [];
    const flows: egress.v1.Flow[] = [];
    const sub = await connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    clients.push(sub);
    sub.on('message', (topic, payload) => {
      if (topic.endsWith('/alert')) alerts.push(decodeAlert(payload));
      else if (topic.endsWith('/flow')) flows.push(decodeFlow(payload));
    });
    await sub.subscribeAsync([`egress/v1/${GW}/alert`, `egress/v1/${GW}/flow`], { qos: 1 });

    const agent = spawnEgress(
      ['run', '--interface', IF_GW, '--tcpdump', tcpdumpGw].concat(
        ['--broker', broker.url, '--gateway', GW, '--policy', join(dir, 'policy.yaml')],
        ['--data-dir', join(dir, 'data'), '--no-http', '--quiet'],
      ),
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    started.push(agent);
    let log = '';
    agent.stderr?.on('data', (c: Buffer) => {
      log += c.toString();
    });
    const exited = new Promise<number | null>((resolve) => agent.once('exit', (code) => resolve(code)));
    await waitFor('tcpdump listening', () => /capturing on veth-gw \(EN10MB\), tcpdump pid \d+/.test(log));
    await waitFor('the broker connection', () => log.includes(`connected to ${broker.url}`));
    const tcpdumpPid = Number(/tcpdump pid (\d+)/.exec(log)?.[1]);
    expect(tcpdumpsInGateway()).toEqual([tcpdumpPid]);

    const online = await retainedStatus();
    expect(online.state).toBe(egress.v1.Status.State.ONLINE);
    expect(online.gateway).toBe(GW);

    const fromUs = Date.now() * 1000;
    // DNS, then TLS to the answer with that name: denied by country and by name at the SYN.
    expect(inNs(NS_CTL, 'dig', ['+short', '+tries=1', '-b', CLIENT, `@${RESOLVER}`, DNS_NAME]).trim()).toBe(CN_SERVER);
    inNs(
      NS_CTL,
      'timeout',
      ['5', 'openssl', 's_client', '-connect', `${CN_SERVER}:443`, '-servername', DNS_NAME, '-bind', `${CLIENT}:0`],
      'hello\n',
    );
    // Plain HTTP to a Chinese address with no name at all: denied by country alone.
    const curl = (url: string, extra: string[] = []) =>
      inNs(NS_CTL, 'curl', ['-sS', '--max-time', '5', '--interface', CLIENT, ...extra, url]);
    expect(curl(`http://${CN_BARE}/index.html`)).toBe('hello\n');
    // A Dutch address reached by DJI names: decided at the request, named by its Host and its SNI.
    expect(curl(`http://${NL_SERVER}/index.html`, ['-H', `Host: ${HTTP_HOST}`])).toBe('hello\n');
    inNs(
      NS_CTL,
      'timeout',
      ['5', 'openssl', 's_client', '-connect', `${NL_SERVER}:443`, '-servername', TLS_SNI, '-bind', `${CLIENT}:0`],
      'hello\n',
    );
    const toUs = Date.now() * 1000;

    await waitFor('four alerts and a lookup', () => alerts.length >= 5);
    const connections = alerts.filter((a) => a.kind === egress.v1.AlertKind.CONNECTION);
    const byDest = (ip: string, port: number) => connections.filter((a) => a.dest_ip === ip && a.dest_port === port);
    const common = { gateway: GW, src_ip: CLIENT, proto: egress.v1.Transport.TCP, severity: egress.v1.Severity.HIGH };

    const [cnTls] = byDest(CN_SERVER, 443);
    expect(cnTls).toMatchObject({ ...common, reasons: ['deny_country', 'deny_domain'] });
    expect(cnTls.dest).toMatchObject({ names: [DNS_NAME], country: 'CN', asn: 64500, as_country: 'CN' });
    const [cnBare] = byDest(CN_BARE, 80);
    expect(cnBare).toMatchObject({ ...common, reasons: ['deny_country'] });
    expect(cnBare.dest).toMatchObject({ names: [], country: 'CN' });
    const [nlHttp] = byDest(NL_SERVER, 80);
    expect(nlHttp).toMatchObject({ ...common, app_proto: 'http', reasons: ['deny_domain'] });
    expect(nlHttp.dest).toMatchObject({ names: [HTTP_HOST], country: 'NL' });
    const [nlTls] = byDest(NL_SERVER, 443);
    expect(nlTls).toMatchObject({ ...common, app_proto: 'tls', reasons: ['deny_domain'] });
    expect(nlTls.dest).toMatchObject({ names: [TLS_SNI], country: 'NL' });
    for (const a of [cnTls, cnBare, nlHttp, nlTls]) {
      expect(a.src_port).toBeGreaterThan(0);
      // The capture's kernel timestamp of the deciding packet, inside the window the clients ran in.
      const ts = Number(a.ts_us);
      expect(ts).toBeGreaterThanOrEqual(fromUs - 1000);
      expect(ts).toBeLessThanOrEqual(toUs + 1000);
    }
    // Each flow alerts once; the DNS flow to the (allowed) resolver raises none, but the lookup of
    // the denied name does: one lookup alert, on the name.
    expect(connections).toHaveLength(4);
    expect(connections.some((a) => a.dest_ip === RESOLVER)).toBe(false);
    const lookups = alerts.filter((a) => a.kind === egress.v1.AlertKind.LOOKUP);
    expect(lookups.map((a) => [a.src_ip, a.dest_ip, a.lookup_name])).toEqual([[CLIENT, RESOLVER, DNS_NAME]]);
    expect(alerts).toHaveLength(5);

    agent.kill('SIGTERM');
    expect(await exited, log).toBe(0);
    // The open TLS and HTTP flows were finished at the stop and published, the SNI with the DNS name.
    await waitFor('the flow messages', () => flows.length >= 5);
    const cnFlow = flows.find((f) => f.dest_ip === CN_SERVER && f.dest_port === 443);
    expect(cnFlow?.app_proto).toBe('tls');
    expect(cnFlow?.dest?.names).toEqual([DNS_NAME]);
    expect(cnFlow?.src_port).toBe(cnTls.src_port);

    const offline = await retainedStatus();
    expect(offline.state).toBe(egress.v1.Status.State.OFFLINE);
    expect(() => process.kill(tcpdumpPid, 0)).toThrow();
    expect(tcpdumpsInGateway()).toEqual([]);
  }, 90_000);
});
