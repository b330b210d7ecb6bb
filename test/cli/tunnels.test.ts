// Tunnels, look-alikes and CONNECT on captures made by real clients
// (test/fixtures/tunnel/*, see their READMEs for how each was made): the
// inner packet is the flow and is judged (a Chinese destination inside a
// tunnel is flagged high), the flow says which tunnel carried it, the
// alert says it was tunnelled, a UDP tunnel to the internet is a flow of its
// own, and tshark is the oracle for every inner address, name and count.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { egress, events, ROOT } from '../support/cli.js';
import { FIXTURES_DIR } from '../support/fixtures.js';

const DIR = join(FIXTURES_DIR, 'tunnel');
const POLICY = join(DIR, 'policy.yaml');
const CLIENTS = new Set(['10.0.0.2', 'fd00::2']);

function scan(name: string) {
  const r = egress(['scan', join(DIR, name, 'input.pcap'), '--policy', POLICY, '--format', 'ndjson']);
  expect(r.code, r.stderr).toBe(0);
  return { ev: events(r.stdout), stdout: r.stdout };
}

/** tshark's fields, one array per packet (occurrences of a field joined by ';'). */
function tshark(name: string, filter: string, fields: string[]): string[][] {
  const args = ['-n', '-r', join(DIR, name, 'input.pcap'), '-Y', filter, '-T', 'fields', '-E', 'separator=|'];
  args.push('-E', 'occurrence=a', '-E', 'aggregator=;');
  for (const f of fields) args.push('-e', f);
  const r = spawnSync('tshark', args, { encoding: 'utf8' });
  if (r.error) throw new Error(`tshark is needed as the oracle: ${r.error.message}`);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('|'));
}

function contract(stdout: string): void {
  const r = spawnSync('python3', [join(ROOT, 'test/contract/check-ndjson.py')], { input: stdout, encoding: 'utf8' });
  expect(r.status, r.stdout).toBe(0);
}

const last = (v: string) => v.split(';').at(-1) ?? '';
const first = (v: string) => v.split(';')[0] ?? '';

/** One tshark row: which of IPv4/IPv6 and TCP/UDP come first and last in frame.protocols tells outer from inner. */
function layers(r: string[]) {
  const [protocols, ipSrc, ipDst, ip6Src, ip6Dst, tcpPort, udpPort, sni, host, dns] = r;
  const stack = protocols.split(':');
  const families = stack.filter((x) => x === 'ip' || x === 'ipv6');
  const outerV6 = families[0] === 'ipv6';
  const innerV6 = families.at(-1) === 'ipv6';
  const innerTcp = stack.lastIndexOf('tcp') > stack.lastIndexOf('udp');
  return {
    outerSrc: outerV6 ? first(ip6Src) : first(ipSrc),
    outerDst: outerV6 ? first(ip6Dst) : first(ipDst),
    innerSrc: innerV6 ? last(ip6Src) : last(ipSrc),
    innerDst: innerV6 ? last(ip6Dst) : last(ipDst),
    innerPort: innerTcp ? last(tcpPort) : last(udpPort),
    sni,
    host,
    dns,
  };
}

// case → [tunnel type in the flow record (null: a link layer, not a tunnel), tshark filter for the
// packets carried, counter that counts them, outer UDP port of a tunnel to the internet]
const CASES: Record<string, [string | null, string, string | null, number | null]> = {
  ipip: ['ipip', 'ip.proto == 4', 'tunnel.ipip', null],
  '6in4': ['6in4', 'ip.proto == 41', 'tunnel.6in4', null],
  '4in6': ['4in6', 'ipv6.nxt == 4', 'tunnel.4in6', null],
  gre: ['gre', 'gre', 'tunnel.gre', null],
  gretap: ['gre', 'gre.proto == 0x6558', 'tunnel.gre', null],
  vxlan: ['vxlan', 'vxlan', 'tunnel.vxlan', 4789],
  geneve: ['geneve', 'geneve', 'tunnel.geneve', 6081],
  pppoe: [null, 'pppoes', 'tunnel.pppoe', null],
  'c-hdlc': [null, 'chdlc', null, null],
  'linktype-228': [null, 'ip', null, null],
  'linktype-229': [null, 'ipv6', null, null],
};

describe.each(Object.entries(CASES))('tunnel/%s', (name, [type, filter, counter, outerPort]) => {
  const { ev, stdout } = scan(name);
  const stats = ev.at(-1)!;
  const inner = ev.filter((e) => e.event_type === 'flow' && CLIENTS.has(e.src_ip));
  const outer = ev.filter((e) => e.event_type === 'flow' && !CLIENTS.has(e.src_ip));
  // Per packet: outermost and innermost addresses, the innermost destination port and the names tshark reads.
  const pkts = tshark(name, `(${filter}) && (tcp || udp)`, [
    'frame.protocols',
    'ip.src',
    'ip.dst',
    'ipv6.src',
    'ipv6.dst',
    'tcp.dstport',
    'udp.dstport',
    'tls.handshake.extensions_server_name',
    'http.host',
    'dns.qry.name',
  ]).map(layers);

  it('makes a flow of every inner conversation tshark sees, judged by its inner (Chinese) destination', () => {
    const want = new Set(pkts.filter((p) => CLIENTS.has(p.innerSrc)).map((p) => `${p.innerDst} ${p.innerPort}`));
    expect(new Set(inner.map((f) => `${f.dest_ip} ${f.dest_port}`))).toEqual(want);
    expect(inner.length).toBeGreaterThan(0);
    for (const f of inner) {
      expect(f.verdict, JSON.stringify(f)).toBe('high');
      expect(f.reasons).toContain('deny_country');
      expect(f.dest.country).toBe('CN');
    }
  });

  it('reports the names tshark reads inside', () => {
    const sni = new Set(pkts.flatMap((p) => (p.sni ? p.sni.split(';') : [])));
    const host = new Set(pkts.flatMap((p) => (p.host ? [p.host.replace(/:\d+$/, '')] : [])));
    const dns = new Set(pkts.flatMap((p) => (p.dns ? p.dns.split(';') : [])));
    const tls = ev.filter((e) => e.event_type === 'tls').map((e) => e.tls.sni);
    const http = ev.filter((e) => e.event_type === 'http').map((e) => e.http.hostname);
    const q = ev.filter((e) => e.event_type === 'dns').map((e) => e.dns.rrname);
    expect(new Set(tls)).toEqual(sni);
    expect(new Set(http)).toEqual(host);
    expect(new Set(q)).toEqual(dns);
    expect(sni.size + host.size).toBeGreaterThan(0);
  });

  it('says on every inner flow and alert which tunnel carried it, with the outer addresses tshark shows', () => {
    for (const f of inner) {
      if (type === null) {
        expect(f.tunnel).toBeUndefined();
        continue;
      }
      const p = pkts.find((x) => x.innerDst === f.dest_ip && CLIENTS.has(x.innerSrc))!;
      const [outerSrc, outerDst] = [p.outerSrc, p.outerDst];
      expect(f.tunnel).toEqual({ type, outer_src_ip: outerSrc, outer_dest_ip: outerDst });
      const alerts = ev.filter((e) => e.event_type === 'alert' && e.flow_id === f.flow_id);
      expect(alerts.length).toBeGreaterThan(0);
      for (const a of alerts) {
        expect(a.tunnel).toEqual(f.tunnel);
        expect(a.alert.text).toContain(`Tunnelled: carried inside`);
        expect(a.alert.text).toContain(`from ${outerSrc} to ${outerDst}`);
      }
    }
  });

  it('makes the tunnel itself a flow when its endpoint is on the internet (UDP tunnels)', () => {
    if (outerPort === null) {
      expect(outer).toEqual([]);
      return;
    }
    expect(outer.length).toBeGreaterThan(0);
    for (const f of outer) {
      expect([f.dest_ip, f.dest_port, f.proto, f.tunnel]).toEqual(['198.51.100.200', outerPort, 'UDP', undefined]);
    }
  });

  it('counts every packet it opened, as many as tshark shows', () => {
    if (counter !== null) expect(stats.anomalies[counter]).toBe(tshark(name, filter, ['frame.number']).length);
    expect(stats.decoder.malformed).toBe(0);
    expect(stats.anomalies['capture.unknown_linktype']).toBe(0);
    if (name === 'pppoe') {
      expect(stats.anomalies['pppoe.discovery']).toBe(tshark(name, 'pppoed', ['frame.number']).length);
      expect(stats.anomalies['pppoe.discovery']).toBeGreaterThan(0);
    }
  });

  it('writes output the event contract accepts', () => contract(stdout));
});

describe('tunnel/connect-tinyproxy: TLS inside HTTP CONNECT', () => {
  const { ev, stdout } = scan('connect-tinyproxy');
  const flows = ev.filter((e) => e.event_type === 'flow');

  it('reads the ClientHello after the proxy said 200, and tshark agrees on every SNI', () => {
    const sni = tshark('connect-tinyproxy', 'tls.handshake.type == 1', ['tls.handshake.extensions_server_name']);
    const tls = ev.filter((e) => e.event_type === 'tls');
    expect(tls.map((e) => e.tls.sni)).toEqual(sni.map((r) => r[0]));
    expect(tls).toHaveLength(2);
    const connects = tshark('connect-tinyproxy', 'http.request.method == "CONNECT"', ['http.request.uri']);
    expect(ev.filter((e) => e.event_type === 'http').map((e) => e.http.url)).toEqual(connects.map((r) => r[0]));
  });

  it('judges the CONNECT to an address by the name inside: the alert rises to high at the ClientHello', () => {
    const literal = ev.find((e) => e.event_type === 'http' && e.http.url === '203.0.113.81:443')!;
    const f = flows.find((x) => x.flow_id === literal.flow_id)!;
    expect([f.dest_ip, f.dest_port, f.dest.names, f.verdict, f.reasons]).toEqual([
      '198.51.100.88',
      8888,
      ['real.example.cn'],
      'high',
      ['deny_domain'],
    ]);
    const alerts = ev.filter((e) => e.event_type === 'alert' && e.flow_id === f.flow_id);
    expect(alerts.map((a) => a.alert.severity)).toEqual(['medium', 'high']);
    const hello = ev.find((e) => e.event_type === 'tls' && e.flow_id === f.flow_id)!;
    expect(alerts[1].timestamp).toBe(hello.timestamp);
  });

  it('writes output the event contract accepts', () => contract(stdout));
});

describe('tunnel/quic-lookalikes: NetBIOS, LLMNR and IKE are not QUIC', () => {
  const { ev, stdout } = scan('quic-lookalikes');
  const stats = ev.at(-1)!;

  it('raises a quic event only for the real QUIC client, answered by version negotiation', () => {
    const quic = ev.filter((e) => e.event_type === 'quic');
    const offered = tshark('quic-lookalikes', 'quic.long.packet_type == 0 && udp.srcport != 4433', ['quic.version']);
    expect(offered.length).toBeGreaterThan(0);
    expect(quic.map((e) => [e.dest_port, e.quic.version])).toEqual([[4433, offered[0][0].replace(/^0x0*/, '0x')]]);
    expect(tshark('quic-lookalikes', 'quic.version == 0', ['frame.number']).length).toBe(1);
  });

  it('names no other flow quic and counts each look-alike whose first byte has both high bits set', () => {
    const lookalikes = tshark('quic-lookalikes', '(nbns || llmnr || isakmp) && udp.dstport != 4433', [
      'udp.srcport',
      'udp.payload',
    ]);
    expect(lookalikes.length).toBeGreaterThan(20);
    for (const f of ev.filter((e) => e.event_type === 'flow' && e.dest_port !== 4433)) expect(f.app_proto).toBeNull();
    // Flows from the client whose first datagram begins 0b11…: each is one rejected look-alike.
    const firstBytes = new Map<string, string>();
    for (const [port, payload] of tshark('quic-lookalikes', 'ip.src == 10.0.0.2 && !quic', [
      'udp.srcport',
      'udp.dstport',
      'udp.payload',
    ]).map((r) => [`${r[0]}-${r[1]}`, r[2]])) {
      if (!firstBytes.has(port)) firstBytes.set(port, payload);
    }
    const high = [...firstBytes.values()].filter((p) => parseInt(p.slice(0, 2), 16) >= 0xc0).length;
    expect(high).toBe(4);
    expect(stats.anomalies['quic.not_quic']).toBe(high);
    expect(stats.anomalies['quic.unknown_version']).toBe(1);
  });

  it('writes output the event contract accepts', () => contract(stdout));
});
