// The hardest real clients, live, in a network namespace this test creates
// (as scripts/make-name-fixtures makes names/chromium-https, quic-chromium,
// quic-ngtcp2 and quic-silent): headless Chromium over TCP, whose
// post-quantum ClientHello spans two TCP segments; Chromium forced onto QUIC
// against ngtcp2's server, whose ClientHello spans two Initial packets;
// ngtcp2's client against ngtcp2's server; ngtcp2's client against a UDP
// port an nftables rule silences, so only Initials and their retransmissions
// go out. Each case is captured by tcpdump on the namespace's loopback (MTU
// 1500, offloads off, so packets are the size they would be on a wire), then
// judged by `egress scan` with the names policy; tshark is the independent
// oracle for how the ClientHello was split. Nothing leaves the namespace;
// every process is stopped by PID and the namespace is deleted afterwards.
// Needs root (namespaces, capture) and the Debian packages chromium,
// ngtcp2-client, ngtcp2-server and nftables (scripts/test installs them).

import { type ChildProcess, execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Certificate, selfSignedCertificate } from '../support/certificate.js';
import { runChromium } from '../support/chromium.js';
import { egress, events } from '../support/cli.js';
import { FIXTURES_DIR } from '../support/fixtures.js';
import { captureLoopback, epochToIso, tshark } from '../support/live-capture.js';
import { deleteNamespace, inNs, runInNs, spawnInNs, stop, waitListen } from '../support/netns.js';

const NS = `egress-quic-${process.pid}`;
const CLIENT = '10.0.0.2';
// Every name is one the policy denies (dji profile), so the verdict shows the name was used.
const TLS = { addr: '192.0.2.60', port: 443, name: 'fw-upgrade.dji.com' }; // Chromium over TCP
const CHROMIUM_QUIC = { addr: '203.0.113.61', port: 443, name: 'quic.dji.com' }; // Chromium over QUIC
const NGTCP2 = { addr: '203.0.113.60', port: 4433, name: 'quic.djicdn.com' }; // gtlsclient to gtlsserver
const SILENT = { addr: '203.0.113.62', port: 443, name: 'silent.skypixel.com' }; // gtlsclient, dropped
const POLICY = join(FIXTURES_DIR, 'names/policy.yaml');
const PAGE = 'hello from the live web server';
// binary → Debian package
const NEEDED: Record<string, string> = {
  chromium: 'chromium',
  gtlsclient: 'ngtcp2-client',
  gtlsserver: 'ngtcp2-server',
  nft: 'nftables',
  tcpdump: 'tcpdump',
  tshark: 'tshark',
  openssl: 'openssl',
  ethtool: 'ethtool',
  ss: 'iproute2',
};

const dir = mkdtempSync(join(tmpdir(), 'egress-quic-'));
const netnsEtc = `/etc/netns/${NS}`; // `ip netns exec` mounts its files over /etc inside the namespace
const started: ChildProcess[] = [];
const certificates = new Map<string, Certificate>();

/** tcpdump on the namespace's loopback around `clients`, into DIR/NAME.pcap. */
const captured = (name: string, clients: () => Promise<void>) =>
  captureLoopback(started, NS, join(dir, `${name}.pcap`), clients);

/** Headless Chromium in the namespace; loads https://NAME/ and returns the DOM. */
const chromium = (target: { addr: string; name: string }, extra: string[]) =>
  runChromium(started, NS, dir, { ...target, spki: certificates.get(target.name)!.spki }, extra);

function scan(file: string): Record<string, any>[] {
  const r = egress(['scan', file, '--policy', POLICY, '--format', 'ndjson']);
  expect(r.code, r.stderr).toBe(0);
  return events(r.stdout);
}

beforeAll(async () => {
  if (process.getuid?.() !== 0)
    throw new Error('this test needs root: it creates a network namespace and captures on it');
  const missing = Object.keys(NEEDED).filter((bin) => spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0);
  if (missing.length > 0)
    throw new Error(
      `missing ${missing.join(', ')}: apt-get install ${[...new Set(missing.map((b) => NEEDED[b]))].join(' ')} (scripts/test installs them)`,
    );
  execFileSync('ip', ['netns', 'add', NS]);
  inNs(NS, 'ip', ['link', 'set', 'lo', 'mtu', '1500', 'up']);
  inNs(NS, 'ethtool', ['-K', 'lo', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
  inNs(NS, 'ip', ['addr', 'add', `${CLIENT}/32`, 'dev', 'lo']);
  for (const { addr } of [TLS, CHROMIUM_QUIC, NGTCP2, SILENT]) {
    inNs(NS, 'ip', ['addr', 'add', `${addr}/32`, 'dev', 'lo']);
    // Chromium and gtlsclient cannot choose their source address: the kernel picks the
    // preferred source of the route to the server, so make that the controller's.
    const route = ['route', 'replace', 'local', addr, 'dev', 'lo', 'table', 'local'];
    inNs(NS, 'ip', [...route, 'proto', 'kernel', 'scope', 'host', 'src', CLIENT]);
  }
  // gtlsclient sends the name it resolves as SNI (given an address it sends none of ours).
  mkdirSync(netnsEtc, { recursive: true });
  writeFileSync(
    join(netnsEtc, 'hosts'),
    `127.0.0.1 localhost\n${NGTCP2.addr} ${NGTCP2.name}\n${SILENT.addr} ${SILENT.name}\n`,
  );
  const www = join(dir, 'www');
  mkdirSync(www);
  writeFileSync(join(www, 'index.html'), `<!doctype html><title>egress live</title><p>${PAGE}</p>\n`);
  for (const { name } of [TLS, CHROMIUM_QUIC, NGTCP2]) certificates.set(name, selfSignedCertificate(dir, name));
  const tls = certificates.get(TLS.name)!;
  const accept = `${TLS.addr}:${TLS.port}`;
  spawnInNs(started, NS, 'openssl', ['s_server', '-accept', accept, '-cert', tls.pem, '-key', tls.key, '-www']);
  for (const s of [CHROMIUM_QUIC, NGTCP2]) {
    const { key, pem } = certificates.get(s.name)!;
    spawnInNs(started, NS, 'gtlsserver', ['-q', `--htdocs=${www}`, s.addr, String(s.port), key, pem]);
  }
  // A firewall that drops QUIC to SILENT without an ICMP error.
  inNs(NS, 'nft', ['add', 'table', 'inet', 'egress_silent']);
  inNs(NS, 'nft', ['add', 'chain', 'inet', 'egress_silent', 'input', '{ type filter hook input priority 0; }']);
  const drop = ['ip', 'daddr', SILENT.addr, 'udp', 'dport', String(SILENT.port), 'drop'];
  inNs(NS, 'nft', ['add', 'rule', 'inet', 'egress_silent', 'input', ...drop]);
  await waitListen(NS, 'tcp', TLS.addr, TLS.port);
  await waitListen(NS, 'udp', CHROMIUM_QUIC.addr, CHROMIUM_QUIC.port);
  await waitListen(NS, 'udp', NGTCP2.addr, NGTCP2.port);
}, 60_000);

afterAll(async () => {
  for (const child of started.reverse()) await stop(child);
  deleteNamespace(NS); // and anything a client left behind in it
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

const flowsTo = (ev: Record<string, any>[], t: { addr: string; port: number }, proto: string) =>
  ev.filter((e) => e.event_type === 'flow' && e.dest_ip === t.addr && e.dest_port === t.port && e.proto === proto);
const denied = { verdict: 'high', reasons: ['deny_domain'] };

describe('live: headless Chromium over TCP, a ClientHello in two segments', () => {
  let file = '';
  beforeAll(async () => {
    file = await captured('chromium-tls', async () => {
      expect(await chromium(TLS, [])).toContain('s_server'); // openssl s_server -www's status page
    });
  }, 90_000);

  it('sends a post-quantum ClientHello that tshark reassembles from 2+ TCP segments', () => {
    const fields = ['tcp.srcport', 'tls.handshake.extensions_server_name', 'tcp.segment.count'];
    const hellos = tshark(file, 'tls.handshake.type == 1', [...fields, 'tls.handshake.extensions_key_share_group']);
    expect(hellos.length).toBeGreaterThan(0);
    for (const [, sni, segments, groups] of hellos) {
      expect(sni).toBe(TLS.name);
      expect(Number(segments), 'TCP segments of the ClientHello').toBeGreaterThanOrEqual(2);
      expect(groups?.split(','), 'key share groups').toContain('4588'); // X25519MLKEM768
    }
  });

  it('names every connection from the reassembled SNI and denies it at the ClientHello', () => {
    const ev = scan(file);
    const hellos = tshark(file, 'tls.handshake.type == 1', ['tcp.srcport', 'frame.time_epoch']);
    const flows = flowsTo(ev, TLS, 'TCP');
    expect(flows.map((f) => f.src_port).sort()).toEqual(hellos.map(([port]) => Number(port)).sort());
    for (const f of flows) {
      expect(f).toMatchObject({ src_ip: CLIENT, app_proto: 'tls', ...denied });
      expect(f.dest.names).toEqual([TLS.name]);
      const tls = ev.filter((e) => e.event_type === 'tls' && e.flow_id === f.flow_id);
      expect(tls.map((e) => e.tls.sni)).toEqual([TLS.name]);
      // decided at the segment that completes the ClientHello, where tshark shows it
      const completed = epochToIso(hellos.find(([port]) => Number(port) === f.src_port)![1]!);
      expect(tls[0].timestamp).toBe(completed);
      const alerts = ev.filter((e) => e.event_type === 'alert' && e.flow_id === f.flow_id);
      expect(alerts.map((a) => [a.timestamp, a.alert.severity, a.alert.reasons])).toEqual([
        [completed, 'high', ['deny_domain']],
      ]);
    }
  });
});

describe('live: Chromium forced onto QUIC against ngtcp2, a ClientHello in two Initials', () => {
  let file = '';
  beforeAll(async () => {
    file = await captured('chromium-quic', async () => {
      const page = await chromium(CHROMIUM_QUIC, [`--origin-to-force-quic-on=${CHROMIUM_QUIC.name}:443`]);
      expect(page).toContain(PAGE); // served by gtlsserver over HTTP/3
    });
  }, 90_000);

  it('spreads the ClientHello over 2+ client Initials (tshark)', () => {
    expect(tshark(file, 'tcp', ['frame.number']), 'TCP packets').toEqual([]);
    const fields = ['ip.src', 'quic.long.packet_type', 'quic.frame_type', 'tls.handshake.extensions_server_name'];
    const packets = tshark(file, 'quic', [...fields, 'quic.crypto.fragment.count', 'frame.time_epoch']);
    expect(
      packets.some(([src]) => src === CHROMIUM_QUIC.addr),
      'a packet from the server',
    ).toBe(true);
    // The server may acknowledge the first Initial before the second is captured (a race on a
    // loaded machine), so the client's Initials are taken in order wherever the server's fall.
    const initials = packets
      .filter(([src, types]) => src === CLIENT && types?.split(',').includes('0'))
      .filter(([, , frames]) => frames?.split(',').includes('6')); // CRYPTO
    expect(initials.length, 'client Initials with CRYPTO frames').toBeGreaterThanOrEqual(2);
    expect(initials[0]![3], 'SNI readable from the first Initial alone').toBe('');
    const complete = initials.findIndex(([, , , sni]) => sni === CHROMIUM_QUIC.name);
    expect(complete, 'the Initial that completes the ClientHello').toBeGreaterThanOrEqual(1);
    expect(Number(initials[complete]![4]), 'CRYPTO frames reassembled').toBeGreaterThanOrEqual(2);
  });

  it('names the QUIC flow from the reassembled SNI and denies it at that Initial', () => {
    const ev = scan(file);
    const fields = ['tls.handshake.extensions_server_name', 'frame.time_epoch'];
    const [[, completedAt]] = tshark(file, 'quic && tls.handshake.type == 1', fields) as [string[]];
    const flows = flowsTo(ev, CHROMIUM_QUIC, 'UDP');
    expect(flows).toHaveLength(1);
    const flow = flows[0]!;
    expect(flow).toMatchObject({ src_ip: CLIENT, app_proto: 'quic', ...denied });
    expect(flow.dest.names).toEqual([CHROMIUM_QUIC.name]);
    const quic = ev.filter((e) => e.event_type === 'quic' && e.flow_id === flow.flow_id);
    expect(quic.map((e) => [e.timestamp, e.quic.sni, e.quic.version])).toEqual([
      [epochToIso(completedAt!), CHROMIUM_QUIC.name, '0x00000001'],
    ]);
    const alerts = ev.filter((e) => e.event_type === 'alert' && e.flow_id === flow.flow_id);
    expect(alerts.map((a) => [a.timestamp, a.alert.reasons])).toEqual([[epochToIso(completedAt!), ['deny_domain']]]);
    expect(ev.filter((e) => e.event_type === 'flow' && e.proto === 'TCP')).toEqual([]);
  });
});

describe('live: ngtcp2 client against ngtcp2 server', () => {
  let file = '';
  beforeAll(async () => {
    file = await captured('ngtcp2', async () => {
      const url = `https://${NGTCP2.name}:${NGTCP2.port}/`;
      const args = ['20', 'gtlsclient', '-q', '--exit-on-all-streams-close', NGTCP2.name, String(NGTCP2.port), url];
      const r = await runInNs(started, NS, 'timeout', args, 30_000);
      expect(r.code, r.output).toBe(0);
    });
  }, 60_000);

  it('names and denies the QUIC flow from the SNI in its first Initial', () => {
    const fields = ['ip.src', 'quic.packet_number', 'tls.handshake.extensions_server_name', 'frame.time_epoch'];
    const hellos = tshark(file, 'quic && tls.handshake.type == 1', fields);
    expect(hellos.map((h) => h.slice(0, 3))).toEqual([[CLIENT, '0', NGTCP2.name]]); // whole in Initial 0
    const ev = scan(file);
    const flows = flowsTo(ev, NGTCP2, 'UDP');
    expect(flows).toHaveLength(1);
    expect(flows[0]).toMatchObject({ src_ip: CLIENT, app_proto: 'quic', ...denied });
    expect(flows[0]!.dest.names).toEqual([NGTCP2.name]);
    expect(flows[0]!.pkts_toclient).toBeGreaterThan(0); // the handshake went through
    const quic = ev.filter((e) => e.event_type === 'quic');
    expect(quic.map((e) => [e.timestamp, e.quic.sni, e.quic.alpn])).toEqual([
      [epochToIso(hellos[0]![3]!), NGTCP2.name, ['h3']],
    ]);
  });
});

describe('live: ngtcp2 client against a silent UDP port', () => {
  let file = '';
  beforeAll(async () => {
    file = await captured('silent', async () => {
      const url = `https://${SILENT.name}/`;
      const timeouts = ['--handshake-timeout=4s', '--timeout=4s'];
      const args = ['20', 'gtlsclient', '-q', ...timeouts, SILENT.name, String(SILENT.port), url];
      const r = await runInNs(started, NS, 'timeout', args, 30_000);
      expect([0, 1], r.output).toContain(r.code); // gives up after the handshake timeout
    });
  }, 60_000);

  it('sees only client Initials (tshark): the first and its retransmissions', () => {
    const packets = tshark(file, 'frame', ['ip.src', 'ip.dst', 'quic.long.packet_type', 'quic.packet_number']);
    expect(packets.length).toBeGreaterThanOrEqual(2);
    for (const [src, dst, type] of packets) expect([src, dst, type]).toEqual([CLIENT, SILENT.addr, '0']);
  });

  it('names and judges the unanswered flow once, from its first Initial', () => {
    const packets = tshark(file, 'frame', ['frame.number']).length;
    const ev = scan(file);
    const flows = flowsTo(ev, SILENT, 'UDP');
    expect(flows).toHaveLength(1); // retransmissions do not split the flow
    const flow = flows[0]!;
    expect(flow).toMatchObject({ app_proto: 'quic', pkts_toserver: packets, pkts_toclient: 0, ...denied });
    expect(flow.dest.names).toEqual([SILENT.name]);
    const quic = ev.filter((e) => e.event_type === 'quic');
    expect(quic.map((e) => [e.timestamp, e.quic.sni])).toEqual([[flow.start, SILENT.name]]); // counted once
    const alerts = ev.filter((e) => e.event_type === 'alert');
    expect(alerts.map((a) => [a.timestamp, a.alert.severity])).toEqual([[flow.start, 'high']]);
    expect(ev.at(-1)).toMatchObject({ event_type: 'stats', names: { quic: 1, unnamed: 0 } });
  });
});
