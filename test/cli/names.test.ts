// Every trap of the names/policy issue on captures made by real clients
// (test/fixtures/names/*, see their READMEs): the verdict and reasons of
// each flow, when the alert fires (at the first packet when an address rule
// denies, else at the client payload that carries the name — never at flow
// end), and tshark as an independent oracle for every name we report.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { egress, events } from '../support/cli.js';
import { FIXTURES_DIR } from '../support/fixtures.js';

const POLICY = join(FIXTURES_DIR, 'names/policy.yaml');

/** [dest_ip, app_proto, names, verdict, reasons] of every flow, in output order. */
type Row = [string, string | null, string[], string, string[]];

const CASES: Record<string, Row[]> = {
  'dns-then-https': [
    ['198.51.100.53', 'dns', [], 'medium', ['not_allowlisted']],
    ['203.0.113.10', 'tls', ['flysafe-api.dji.com'], 'high', ['deny_domain']],
  ],
  'cname-chain': [
    ['198.51.100.53', 'dns', [], 'medium', ['not_allowlisted']],
    [
      '203.0.113.11',
      'tls',
      ['e7.dscb.akamaiedge.example.net', 'mydjiflight.dji.com', 'mydjiflight.dji.com.edgekey.example.net'],
      'high',
      ['deny_domain'],
    ],
  ],
  'sni-no-dns': [['203.0.113.12', 'tls', ['api.djiservice.org'], 'high', ['deny_domain']]],
  'host-no-dns': [['198.51.100.20', 'http', ['statistical-report.djiservice.org'], 'high', ['deny_domain']]],
  'no-sni-no-dns': [['198.51.100.21', 'tls', [], 'medium', ['not_allowlisted']]],
  fakedji: [
    ['192.0.2.41', 'tls', ['fakedji.com'], 'medium', ['not_allowlisted']],
    ['192.0.2.42', 'tls', ['dji.com.cdn-example.org'], 'medium', ['not_allowlisted']],
  ],
  'allowed-and-denied': [
    ['192.0.2.30', 'tls', ['maps.example.nl'], 'allowed', []],
    ['192.0.2.30', 'tls', ['dji.com'], 'high', ['deny_domain']],
  ],
  'chinese-cloud-eu': [['198.51.100.40', 'tls', ['eu-api.example.com'], 'high', ['deny_as_country', 'deny_asn']]],
  'chinese-resolver': [
    ['203.0.113.53', 'dns', [], 'high', ['deny_country', 'deny_as_country', 'deny_asn']],
    ['203.0.113.53', 'dns', [], 'high', ['deny_country', 'deny_as_country', 'deny_asn']],
  ],
  'dns-tcp': [
    ['198.51.100.53', 'dns', [], 'medium', ['not_allowlisted']],
    ['203.0.113.51', 'tls', ['dev.dji.com'], 'high', ['deny_domain']],
  ],
  'ipv6-https': [
    ['2001:db8::53', 'dns', [], 'medium', ['not_allowlisted']],
    ['2001:db8::50', 'tls', ['account.dji.com'], 'high', ['deny_domain']],
  ],
  tls12: [['192.0.2.12', 'tls', ['active.dji.com'], 'high', ['deny_domain']]],
  tls13: [['192.0.2.13', 'tls', ['member-api.dji.com'], 'high', ['deny_domain']]],
  'chromium-https': [
    ['192.0.2.60', 'tls', ['fh.dji.com'], 'high', ['deny_domain']],
    ['192.0.2.60', 'tls', ['fh.dji.com'], 'high', ['deny_domain']],
  ],
  'quic-ngtcp2': [['203.0.113.60', 'quic', ['quic.example.org'], 'medium', ['not_allowlisted']]],
  'quic-silent': [['203.0.113.62', 'quic', ['quic-silent.example.org'], 'medium', ['not_allowlisted']]],
  'quic-chromium': [['203.0.113.61', 'quic', ['quic.example.org'], 'medium', ['not_allowlisted']]],
  'http-host-port': [['192.0.2.31', 'http', ['maps.example.nl'], 'allowed', []]],
};

function scan(name: string) {
  const r = egress(['scan', join(FIXTURES_DIR, 'names', name, 'input.pcap'), '--policy', POLICY, '--format', 'ndjson']);
  expect(r.code, r.stderr).toBe(0);
  return events(r.stdout);
}

/** Names tshark sees in the capture: TLS/QUIC SNI, HTTP Host (port stripped), DNS query names. */
function tsharkNames(name: string): { sni: string[]; host: string[]; dns: string[] } {
  const r = spawnSync(
    'tshark',
    [
      '-n',
      '-r',
      join(FIXTURES_DIR, 'names', name, 'input.pcap'),
      '-T',
      'fields',
      '-E',
      'separator=|',
      '-e',
      'tls.handshake.extensions_server_name',
      '-e',
      'http.host',
      '-e',
      'dns.qry.name',
    ],
    { encoding: 'utf8' },
  );
  if (r.error) throw new Error(`tshark is needed as the oracle: ${r.error.message}`);
  const sni = new Set<string>();
  const host = new Set<string>();
  const dns = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    const [s, h, d] = line.split('|');
    for (const x of (s ?? '').split(',')) if (x) sni.add(x.toLowerCase());
    if (h) host.add(h.replace(/:\d+$/, '').toLowerCase());
    if (d) for (const x of d.split(',')) dns.add(x.toLowerCase());
  }
  return { sni: [...sni].sort(), host: [...host].sort(), dns: [...dns].sort() };
}

describe.each(Object.entries(CASES))('names/%s', (name, rows) => {
  const ev = scan(name);
  const flows = ev.filter((e) => e.event_type === 'flow');
  const alerts = ev.filter((e) => e.event_type === 'alert');

  it('gives every flow the expected names, verdict and reasons', () => {
    expect(flows.map((f): Row => [f.dest_ip, f.app_proto, f.dest.names, f.verdict, f.reasons])).toEqual(rows);
  });

  it('alerts once per flagged flow, when the verdict is decided, not at flow end', () => {
    for (const f of flows) {
      const mine = alerts.filter((a) => a.flow_id === f.flow_id);
      if (f.verdict === 'allowed') {
        expect(mine).toEqual([]);
        continue;
      }
      expect(mine).toHaveLength(1);
      const a = mine[0];
      expect(a.alert.severity).toBe(f.verdict);
      // Decided at the first packet when an address rule denies, or a DNS answer seen
      // earlier already names a denied domain; otherwise at the client payload carrying the name.
      const nameEvent = ev.find(
        (e) => e.flow_id === f.flow_id && ['tls', 'quic', 'http', 'dns'].includes(e.event_type),
      );
      const addressDenied = a.alert.reasons.some((r: string) => r !== 'deny_domain' && r !== 'not_allowlisted');
      const dnsNamed = ev.some(
        (e) =>
          e.event_type === 'dns' && e.timestamp <= f.start && e.dns.answers?.some((x: any) => x.rdata === f.dest_ip),
      );
      const atFirstPacket = addressDenied || (dnsNamed && a.alert.reasons.includes('deny_domain'));
      expect(a.timestamp, JSON.stringify(a)).toBe(atFirstPacket ? f.start : (nameEvent?.timestamp ?? f.start));
      expect(a.timestamp < f.end || f.start === f.end).toBe(true);
    }
  });

  it('reports the same names tshark sees', () => {
    const oracle = tsharkNames(name);
    const sni = ev.filter((e) => e.event_type === 'tls' || e.event_type === 'quic').map((e) => e[e.event_type].sni);
    const host = ev.filter((e) => e.event_type === 'http').map((e) => e.http.hostname.replace(/:\d+$/, ''));
    const dns = ev.filter((e) => e.event_type === 'dns' && e.dns.type === 'query').map((e) => e.dns.rrname);
    const uniq = (xs: (string | null)[]) => [...new Set(xs.filter((x): x is string => x !== null))].sort();
    // tshark 4.0 decrypts QUIC Initials too, so its SNI list covers both.
    expect(uniq(sni)).toEqual(oracle.sni);
    expect(uniq(host)).toEqual(oracle.host);
    expect(uniq(dns)).toEqual(oracle.dns);
  });
});

describe('names/ech', () => {
  it('flags ECH as hiding the name and keeps the outer and DNS names', () => {
    const ev = scan('ech');
    const tls = ev.filter((e) => e.event_type === 'tls');
    expect(tls.map((t) => [t.tls.sni, t.tls.ech])).toEqual([
      ['public.example.net', true],
      ['public.example.net', true],
      ['secret.example.net', true],
      ['secret.example.net', true],
    ]);
    const stats = ev[ev.length - 1];
    expect(stats.names.ech).toBe(4);
    expect(
      ev
        .filter((e) => e.event_type === 'alert')
        .every(
          (a) =>
            a.alert.text.includes('Encrypted ClientHello, so the real name may be hidden') || a.app_proto === 'dns',
        ),
    ).toBe(true);
  });
});

describe('alert text', () => {
  it('names what the client asked for, or the name a deny rule matched, never just the first name', () => {
    const text = (name: string) =>
      scan(name)
        .filter((e) => e.event_type === 'alert' && e.app_proto !== 'dns')
        .map((a) => a.alert.text);
    // Decided at the first packet from the DNS chain: the denied name leads, not the alphabetically first CDN name.
    expect(text('cname-chain')).toEqual([
      'Connects to mydjiflight.dji.com (+2 names) at 203.0.113.11: Test US (AS64502, registered in US), located in US. Denied domain dji.com.',
    ]);
    // Decided at the ClientHello: the SNI leads.
    expect(text('sni-no-dns')).toEqual([
      'Connects to api.djiservice.org at 203.0.113.12: Test US (AS64502, registered in US), located in US. Denied domain djiservice.org.',
    ]);
  });
});
