// `lookup` events, live: a client asks the gateway's own (LAN) resolver for
// names the policy denies, and no connection follows (as in block mode, or
// when the connect fails). Two network namespaces joined by a veth pair: the
// "controller" (10.0.0.2) with real clients — dig, and glibc's resolver
// through `getent hosts` with the namespace's own resolv.conf — and the
// "gateway" (10.0.0.1) running dnsmasq. First a capture (tcpdump in the
// controller namespace) judged by `egress scan --profile dji`; then `egress
// run` capturing in the gateway namespace, publishing to a real mosquitto on
// 127.0.0.1, with a subscriber and `egress tail` reading the alert. Nothing
// leaves the namespaces and loopback; every process is stopped by PID; the
// namespaces and their resolv.conf are deleted afterwards. Needs root.

import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { egress as pb } from '../../agent/src/mqtt/codec.js';
import { decodeAlert } from '../../agent/src/mqtt/codec-decode.js';
import { recordFlight } from '../evidence/flight.js';
import { ARTIFACTS } from '../support/browser.js';
import { chromiumOnFile } from '../support/chromium.js';
import { egress, events, ROOT, spawnEgress } from '../support/cli.js';
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

const NS_CTL = `egress-lctl-${process.pid}`;
const NS_GW = `egress-lgw-${process.pid}`;
const CLIENT = '10.0.0.2';
const RESOLVER = '10.0.0.1';
/** Names from the dji profile's sources (KNOWLEDGE.md: FlySafe, JPush), and one the policy does not deny. */
const DIG_NAME = 'flysafe-api.dji.com';
const GLIBC_NAME = 'tsis.jpush.cn';
const LIVE_NAME = 'statistical-report.djiservice.org';
const OTHER_NAME = 'www.example.org';
const GW = `lookup-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'egress-lookups-'));
const capture = join(dir, 'lookups.pcap');
const netnsEtc = `/etc/netns/${NS_CTL}`;
const started: ChildProcess[] = [];
/** tcpdump in the gateway namespace, for --tcpdump. */
let tcpdumpGw = '';
const clients: MqttClient[] = [];
const broker = new Mosquitto();

const dig = (name: string) =>
  inNs(NS_CTL, 'dig', ['+short', '+tries=1', '+time=2', '-b', CLIENT, `@${RESOLVER}`, name]);

beforeAll(async () => {
  makeNamespacePair({
    ctl: NS_CTL,
    ifCtl: 'veth-ctl',
    gw: NS_GW,
    ifGw: 'veth-gw',
    client: CLIENT,
    gateway: RESOLVER,
    internet: [],
  });
  // Answers on documentation addresses nobody listens on: no connection follows the lookups.
  await startDnsmasq(started, NS_GW, dir, RESOLVER, {
    [DIG_NAME]: '203.0.113.10',
    [GLIBC_NAME]: '203.0.113.11',
    [LIVE_NAME]: '203.0.113.12',
    [OTHER_NAME]: '198.51.100.12',
  });
  // `ip netns exec` puts /etc/netns/NS/resolv.conf in place of /etc/resolv.conf: glibc asks the gateway.
  mkdirSync(netnsEtc, { recursive: true });
  writeFileSync(join(netnsEtc, 'resolv.conf'), `nameserver ${RESOLVER}\noptions timeout:2 attempts:1\n`);
  const tcpdump = await startInNs(
    started,
    NS_CTL,
    'tcpdump',
    ['--immediate-mode', '-U', '-n', '-Z', 'root', '-i', 'veth-ctl', '-s', '0', '-w', capture, 'udp port 53'],
    /listening on/,
  );
  expect(dig(DIG_NAME).trim()).toBe('203.0.113.10');
  expect(dig(DIG_NAME).trim()).toBe('203.0.113.10'); // asked twice: raised once
  expect(dig(OTHER_NAME).trim()).toBe('198.51.100.12');
  expect(inNs(NS_CTL, 'getent', ['hosts', GLIBC_NAME])).toContain('203.0.113.11');
  await new Promise((r) => setTimeout(r, 300));
  await stop(tcpdump, 'SIGINT');
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

describe('egress scan: lookups of denied names through the LAN resolver', () => {
  it('raises one lookup per client and name, by dig and by glibc, with no connection and no flagged flow', () => {
    const r = egress(['scan', capture, '--profile', 'dji', '--format', 'ndjson']);
    expect(r.code, r.stderr).toBe(0);
    const ev = events(r.stdout);
    const lookups = ev.filter((e) => e.event_type === 'lookup');
    expect(lookups.map((e) => [e.src_ip, e.dest_ip, e.name, e.alert.severity, e.alert.reasons])).toEqual([
      [CLIENT, RESOLVER, DIG_NAME, 'high', ['deny_domain']],
      [CLIENT, RESOLVER, GLIBC_NAME, 'high', ['deny_domain']],
    ]);
    expect(lookups[0]).toMatchObject({ dest_port: 53, proto: 'UDP', alert: { rule: 'dji.com' } });
    expect(lookups[1].alert.rule).toBe('jpush.cn');
    // The DNS flows went to the LAN: no flow event, no alert; the allowed name raised nothing.
    expect(ev.filter((e) => e.event_type === 'alert' || e.event_type === 'flow')).toEqual([]);
    expect(lookups.some((e) => e.name === OTHER_NAME)).toBe(false);
    // The questions were seen (dig twice, glibc for A and AAAA).
    expect(ev.filter((e) => e.event_type === 'dns' && e.dns.rrname === DIG_NAME).length).toBeGreaterThanOrEqual(4);
    const stats = ev.at(-1);
    expect(stats?.event_type).toBe('stats');
    expect(stats?.names.lookups_denied).toBe(2);
    expect(stats?.names.lookups_repeated).toBeGreaterThanOrEqual(3);
    expect(stats?.names.lookups_forgotten).toBe(0);
    const check = spawnSync('python3', [join(ROOT, 'test/contract/check-ndjson.py')], {
      input: r.stdout,
      encoding: 'utf8',
    });
    expect(check.status, check.stdout + check.stderr).toBe(0);

    // The table view lists the same lookups, each with its time, client, resolver and rule.
    const t = egress(['scan', capture, '--profile', 'dji', '--format', 'table']);
    expect(t.code, t.stderr).toBe(0);
    const time = (e: (typeof lookups)[number]) => String(e.timestamp).slice(0, 19);
    expect(t.stdout).toContain(
      'HIGH: denied names looked up (2, once per client and name):\n' +
        `  ${time(lookups[0])}  ${CLIENT} asked ${RESOLVER}:53 for ${DIG_NAME}  [dji.com]\n` +
        `  ${time(lookups[1])}  ${CLIENT} asked ${RESOLVER}:53 for ${GLIBC_NAME}  [jpush.cn]\n`,
    );
  });

  it('raises nothing under a policy that does not deny the names', () => {
    const ev = events(egress(['scan', capture, '--profile', 'camera', '--format', 'ndjson']).stdout);
    expect(ev.filter((e) => e.event_type === 'lookup')).toEqual([]);
    expect(ev.at(-1)?.names.lookups_denied).toBe(0);
    expect(egress(['scan', capture, '--profile', 'camera', '--format', 'table']).stdout).not.toContain('looked up');
  });
});

describe('egress run: a lookup alert over a real mosquitto, shown by egress tail', () => {
  it('publishes kind LOOKUP with the name, the client and the resolver', async () => {
    const alerts: pb.v1.Alert[] = [];
    const sub = await connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    clients.push(sub);
    sub.on('message', (_topic, payload) => alerts.push(decodeAlert(payload)));
    await sub.subscribeAsync(`egress/v1/${GW}/alert`, { qos: 1 });
    const tail = spawnEgress(['tail', '--broker', broker.url, '--gateway', GW, '--count', '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.push(tail);
    let tailOut = '';
    tail.stdout?.on('data', (c: Buffer) => {
      tailOut += c.toString();
    });
    const tailDone = new Promise<number | null>((resolve) => tail.once('exit', (code) => resolve(code)));

    const agent = spawnEgress(
      ['run', '--interface', 'veth-gw', '--tcpdump', tcpdumpGw].concat(
        ['--broker', broker.url, '--gateway', GW, '--profile', 'dji'],
        ['--data-dir', join(dir, 'data'), '--no-http', '--quiet'],
      ),
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    started.push(agent);
    let log = '';
    agent.stderr?.on('data', (c: Buffer) => {
      log += c.toString();
    });
    await waitFor('tcpdump listening', () => /capturing on veth-gw/.test(log), 20_000);
    await waitFor('the broker connection', () => log.includes(`connected to ${broker.url}`), 20_000);

    expect(dig(LIVE_NAME).trim()).toBe('203.0.113.12');
    await waitFor('the lookup alert', () => alerts.length >= 1, 15_000);
    expect(alerts[0]).toMatchObject({
      gateway: GW,
      kind: pb.v1.AlertKind.LOOKUP,
      lookup_name: LIVE_NAME,
      src_ip: CLIENT,
      dest_ip: RESOLVER,
      dest_port: 53,
      app_proto: 'dns',
      severity: pb.v1.Severity.HIGH,
      reasons: ['deny_domain'],
    });
    expect(alerts[0].dest?.names).toEqual([LIVE_NAME]);
    expect(alerts[0].text).toContain(`asked the resolver ${RESOLVER} for ${LIVE_NAME}`);

    expect(await tailDone).toBe(0);
    expect(tailOut).toContain(`LOOKUP ${CLIENT} asked ${RESOLVER}:53 for ${LIVE_NAME}  [deny_domain]`);
    await stop(agent);
  }, 60_000);
});

describe('the evidence log of a flight', () => {
  it('records each lookup, and the exported bundle verifies', () => {
    const policy = join(dir, 'dji.yaml');
    writeFileSync(policy, 'extends: dji\n');
    const { dataDir, id } = recordFlight('Lookups of denied names', capture, policy);
    const bundle = join(dataDir, 'lookups.zip');
    const x = egress(['export', id, '--out', bundle, '--data-dir', dataDir]);
    expect(x.code, x.stderr).toBe(0);
    const log = Buffer.from(unzipSync(readFileSync(bundle))['events.ndjson']).toString('utf8');
    const lookups = log
      .split('\n')
      .filter((l) => l.includes('"event_type":"lookup"'))
      .map((l) => l.match(/"name":"([^"]+)"/)?.[1]);
    expect(lookups).toEqual([DIG_NAME, GLIBC_NAME]);
    const files = unzipSync(readFileSync(bundle));
    expect(JSON.parse(Buffer.from(files['manifest.json']).toString()).denied_lookups).toBe(2);

    // report.html, as an officer opens it: each lookup in Dutch and English, severity in words.
    const report = join(dataDir, 'report.html');
    writeFileSync(report, files['report.html']);
    const dom = chromiumOnFile(dataDir, ['--dump-dom', `file://${report}`]);
    const at = dom.indexOf('<section class="lang" id="en"');
    expect(at).toBeGreaterThan(0);
    const row = (name: string, rule: string, high: string) =>
      new RegExp(
        `<tr class="lookup"><td><span class="badge high">${high}</span></td><td class="mono nowrap">\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d</td><td class="mono">${CLIENT}</td><td class="mono">${RESOLVER}:53</td><td class="names">${name}</td><td class="mono">${rule}</td></tr>`,
        'g',
      );
    for (const [part, high, title, count] of [
      [dom.slice(0, at), 'HOOG', 'Opgevraagde geweigerde namen (DNS)', '2 opvragingen van een geweigerde naam (DNS)'],
      [dom.slice(at), 'HIGH', 'Denied names looked up (DNS)', '2 lookups of a denied name (DNS)'],
    ] as const) {
      expect(part).toContain(`<h2>${title}</h2>`);
      expect(part).toContain(count);
      expect(part.match(row(DIG_NAME, 'dji.com', high))).toHaveLength(1);
      expect(part.match(row(GLIBC_NAME, 'jpush.cn', high))).toHaveLength(1);
      expect(part.match(/<tr class="lookup">/g)).toHaveLength(2);
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    const png = join(ARTIFACTS, 'report-lookups-1024.png');
    chromiumOnFile(dataDir, ['--window-size=1024,2600', `--screenshot=${png}`, `file://${report}`]);
    console.log(`report with lookups: ${png}`);

    const v = egress(['verify', bundle]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    rmSync(dataDir, { recursive: true, force: true });
  });
});
