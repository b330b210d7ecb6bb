// Real captures: the two dig-against-dnsmasq fixtures, every DNS message read
// as tshark reads it, and the answer cache naming what dnsmasq answered.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CaptureReader } from '../../agent/src/capture/reader.js';
import type { PacketSink } from '../../agent/src/capture/types.js';
import { Anomalies } from '../../agent/src/decode/anomaly.js';
import { decodePacket } from '../../agent/src/decode/decode.js';
import { DecodeResult, IpProto, Packet } from '../../agent/src/decode/packet.js';
import { type DnsMessage, DnsType, parseDnsMessage } from '../../agent/src/names/dns.js';
import { DnsAnswerCache } from '../../agent/src/names/dns-cache.js';
import { DnsTcpFramer } from '../../agent/src/names/dns-tcp.js';
import { u32be } from '../../agent/src/util/bytes.js';
import { formatIpv4, formatIpv6 } from '../../agent/src/util/ip.js';
import { ROOT } from '../support/cli.js';
import { S } from '../support/dns-vectors.js';

interface Seen {
  frame: number;
  tsUs: number;
  /** The end of the conversation that is not port 53. */
  client: string;
  message: DnsMessage;
}

function ipText(buf: Buffer, off: number, len: number): string {
  return len === 4
    ? formatIpv4(u32be(buf, off))
    : formatIpv6(u32be(buf, off), u32be(buf, off + 4), u32be(buf, off + 8), u32be(buf, off + 12));
}

/** Every DNS message of a capture, UDP or TCP on port 53 (TCP per direction through a framer), with its frame number. */
function dnsInCapture(file: string) {
  const anomalies = new Anomalies();
  const p = new Packet();
  const framers = new Map<string, DnsTcpFramer>();
  const seen: Seen[] = [];
  let frameNo = 0;
  const sink: PacketSink = {
    packet(buf, off, caplen, _origLen, tsUs, linkType) {
      frameNo++;
      if (decodePacket(buf, off, caplen, linkType, p, anomalies.counts) !== DecodeResult.TRANSPORT) return;
      if (p.srcPort !== 53 && p.dstPort !== 53) return;
      const src = ipText(buf, p.srcAddrOff, p.addrLen);
      const dst = ipText(buf, p.dstAddrOff, p.addrLen);
      const client = p.srcPort === 53 ? dst : src;
      const payload = Buffer.from(buf.subarray(p.payloadOff, p.payloadOff + p.payloadLen));
      const take = (m: Uint8Array) => {
        const message = parseDnsMessage(m, 0, m.length, anomalies);
        if (message) seen.push({ frame: frameNo, tsUs, client, message });
      };
      if (p.proto === IpProto.UDP) take(payload);
      else if (p.proto === IpProto.TCP && payload.length > 0) {
        const key = `${src}|${p.srcPort}|${dst}|${p.dstPort}`;
        let framer = framers.get(key);
        if (!framer) {
          framer = new DnsTcpFramer(anomalies);
          framers.set(key, framer);
        }
        for (const m of framer.push(payload)) take(m);
      }
    },
  };
  const reader = new CaptureReader(sink, anomalies);
  reader.push(readFileSync(`${ROOT}${file}`));
  expect(reader.end()).toBeNull();
  return { seen, anomalies, framers };
}

/** tshark's view, one line per frame with DNS: frame, question names, A, AAAA, CNAME targets. */
function tsharkDns(file: string): string[] {
  const fields = ['frame.number', 'dns.qry.name', 'dns.a', 'dns.aaaa', 'dns.cname'];
  const r = spawnSync(
    'tshark',
    ['-n', '-r', `${ROOT}${file}`, '-Y', 'dns', '-T', 'fields', ...fields.flatMap((f) => ['-e', f])],
    {
      encoding: 'utf8',
    },
  );
  if (r.error) throw new Error(`tshark is needed as the oracle (bash scripts/test installs it): ${r.error.message}`);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').filter((l) => l !== '');
}

function ourLine(s: Seen): string {
  const of = (type: number) =>
    s.message.answers
      .filter((x) => x.type === type)
      .map((x) => x.address ?? x.target)
      .join(',');
  const questions = s.message.questions.map((q) => q.name).join(',');
  return [s.frame, questions, of(DnsType.A), of(DnsType.AAAA), of(DnsType.CNAME)].join('\t');
}

describe.each([
  { file: 'test/fixtures/udp/dns-dig/input.pcap', messages: 12 },
  { file: 'test/fixtures/tcp/dns-dig-tcp/input.pcap', messages: 8 },
])('DNS in $file', ({ file, messages }) => {
  const { seen, anomalies, framers } = dnsInCapture(file);

  it('reads every message without an anomaly, as tshark does', () => {
    expect(seen).toHaveLength(messages);
    expect(anomalies.total()).toBe(0);
    expect(seen.every((s) => !s.message.partial)).toBe(true);
    expect(seen.map(ourLine)).toEqual(tsharkDns(file));
    for (const f of framers.values()) expect(f.buffered).toBe(0);
  });

  it("names what dnsmasq answered, for the client that asked (README: 'Six dig queries …')", () => {
    const cache = new DnsAnswerCache();
    for (const s of seen) cache.record(s.client, s.message, s.tsUs);
    const now = seen[seen.length - 1].tsUs;
    const expected: Record<string, string[]> = {
      '192.0.2.80': ['cdn.example.org', 'edge.example.org', 'www.example.org'],
      '2001:db8::80': ['www.example.org'],
      '203.0.113.44': ['api.example.org'],
    };
    if (file.includes('/udp/')) expected['198.51.100.77'] = ['telemetry.example.net'];
    for (const [ip, names] of Object.entries(expected)) expect(cache.namesFor('10.0.0.2', ip, now), ip).toEqual(names);
    expect(cache.size).toBe(Object.keys(expected).length);
    expect(cache.namesFor('198.51.100.53', '192.0.2.80', now)).toEqual([]);
    // dnsmasq sends TTL 0 for its own records: the 300 s minimum keeps them, and no longer.
    expect(seen.filter((s) => s.message.response).every((s) => s.message.answers.every((x) => x.ttl === 0))).toBe(true);
    expect(cache.namesFor('10.0.0.2', '203.0.113.44', now + 299 * S)).toEqual(['api.example.org']);
    expect(cache.namesFor('10.0.0.2', '203.0.113.44', now + 301 * S)).toEqual([]);
  });

  if (file.includes('/udp/')) {
    it('reads the NXDOMAIN answer for nx.example.org: rcode 3, no answers', () => {
      const nx = seen.find((s) => s.message.response && s.message.questions[0]?.name === 'nx.example.org');
      expect(nx?.message).toMatchObject({ rcode: 3, answers: [], partial: false });
    });
  }
});
