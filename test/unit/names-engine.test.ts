// The names stage itself (names/engine.ts), packet by packet and in process:
// what each packet returns (naming just ended, or not), the events it emits,
// its counters, and the reassembly states it holds. TLS versions by name, a
// hello across segments in either order, HTTP CONNECT refused, opened onto
// TLS and onto something else, DNS over UDP and TCP (reordered, retransmitted,
// over the bound), QUIC Initials and unknown versions with and without
// Version Negotiation, ICMP, and which packets the stage wants at all.

import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../agent/src/decode/anomaly.js';
import { decodePacket } from '../../agent/src/decode/decode.js';
import { Packet } from '../../agent/src/decode/packet.js';
import { ethernet, icmpEcho, ipPacket, tcpSegment, udpDatagram } from '../support/builders.js';
import { A_RESPONSE, QUERY, tcpStream } from '../support/dns-vectors.js';
import { ACK, CLIENT, Flow, ISN, PSH, SERVER, SYN, T0 } from '../support/names-flow.js';
import { PQ, split } from '../support/quic-flows.js';
import { clientHello, hex, records } from '../support/tls-hello.js';

describe('TLS over TCP', () => {
  it.each<[string, number, number[] | undefined, string]>([
    ['TLS 1.0', 0x0301, undefined, 'TLS 1.0'],
    ['TLS 1.1', 0x0302, undefined, 'TLS 1.1'],
    ['TLS 1.2', 0x0303, undefined, 'TLS 1.2'],
    ['TLS 1.2 in supported_versions', 0x0303, [0x0303], 'TLS 1.2'],
    ['TLS 1.3', 0x0303, [0x0304, 0x0303], 'TLS 1.3'],
    ['SSL 3.0, by number', 0x0300, undefined, '0x300'],
  ])('names the version: %s', (_what, legacyVersion, versions, name) => {
    const f = new Flow('TCP', 40000, 443);
    expect(f.tcp(true, SYN, ISN)).toBe(false);
    expect(f.app.clientIsn).toBe(ISN);
    const hello = records(clientHello({ sni: 'a.example', alpn: ['h2'], legacyVersion, versions }));
    expect(f.tcp(true, PSH | ACK, ISN + 1, hello)).toBe(true);
    expect(f.events).toEqual([['tls', { sni: 'a.example', alpn: ['h2'], ech: false, version: name }]]);
    expect(f.nonZeroCounters()).toEqual({ tls: 1 });
    expect([f.app.naming, f.app.sni, f.app.appProto, f.engine.reassemblyStates]).toEqual([
      false,
      'a.example',
      'tls',
      0,
    ]);
  });

  const hello = records(clientHello({ sni: 'b.example', ech: true, postQuantum: true }));
  const cut = 700;

  it.each<[string, [number, Buffer][]]>([
    [
      'in order',
      [
        [0, hello.subarray(0, cut)],
        [cut, hello.subarray(cut)],
      ],
    ],
    [
      'second segment first',
      [
        [cut, hello.subarray(cut)],
        [0, hello.subarray(0, cut)],
      ],
    ],
    [
      'with a retransmission between',
      [
        [0, hello.subarray(0, cut)],
        [0, hello.subarray(0, cut)],
        [cut, hello.subarray(cut)],
      ],
    ],
  ])('reads a hello across two segments, %s, holding one reassembly state meanwhile', (_what, segs) => {
    const f = new Flow('TCP', 40001, 443);
    f.tcp(true, SYN, ISN);
    const returns = segs.map(([at, bytes]) => {
      const r = f.tcp(true, PSH | ACK, ISN + 1 + at, bytes);
      return [r, f.engine.reassemblyStates];
    });
    expect(returns).toEqual([...segs.slice(1).map(() => [false, 1]), [true, 0]]);
    expect(f.events).toEqual([['tls', { sni: 'b.example', alpn: [], ech: true, version: 'TLS 1.2' }]]);
    expect(f.nonZeroCounters()).toEqual({ tls: 1, ech: 1 });
    expect([f.app.clientStream, f.app.holdsReassembly]).toEqual([null, false]);
  });

  it('reads a hello that starts the stream when the SYN was not seen', () => {
    const f = new Flow('TCP', 40002, 443);
    expect(f.tcp(true, PSH | ACK, 5000, records(clientHello({ sni: 'c.example' })))).toBe(true);
    expect(f.events.map(([t, b]) => [t, b.sni])).toEqual([['tls', 'c.example']]);
  });

  it('judges a hello without a name when the reassembly bound is reached', () => {
    const f = new Flow('TCP', 40003, 443, 0);
    f.tcp(true, SYN, ISN);
    expect(f.tcp(true, PSH | ACK, ISN + 1, hello.subarray(0, cut))).toBe(true);
    expect(f.events).toEqual([]);
    expect(f.nonZeroCounters()).toEqual({ tls: 1, unnamed: 1, reassemblyLimit: 1 });
    expect(f.app.naming).toBe(false);
  });

  it('judges a flow whose first segment is out of order without a name when the bound is reached', () => {
    const f = new Flow('TCP', 40004, 443, 0);
    f.tcp(true, SYN, ISN);
    expect(f.tcp(true, PSH | ACK, ISN + 1 + cut, hello.subarray(cut))).toBe(true);
    expect(f.nonZeroCounters()).toEqual({ unnamed: 1, reassemblyLimit: 1 });
  });

  it.each<[string, Buffer, Record<string, number>]>([
    ['SSH', Buffer.from('SSH-2.0-OpenSSH_9.6\r\n'), { unnamed: 1 }],
    ['a TLS record that is not a hello', hex('17 0303 0010'), { unnamed: 1 }],
    ['a handshake record of another major version', hex('16 0203 0010 01'), { unnamed: 1 }],
    ['a handshake that is not a ClientHello', hex('16 0301 0004 02000000'), { tls: 1 }],
  ])('judges a first payload that names nothing: %s', (_what, payload, counters) => {
    const f = new Flow('TCP', 40005, 443);
    f.tcp(true, SYN, ISN);
    expect(f.tcp(true, PSH | ACK, ISN + 1, payload)).toBe(true);
    expect(f.nonZeroCounters()).toEqual(counters);
    expect(f.events).toEqual([]);
  });

  it('gives a hello that never completes a name-less verdict once the window is full', () => {
    const f = new Flow('TCP', 40006, 443);
    f.tcp(true, SYN, 0);
    // A record header promising a 16 KiB hello, then filler: the 16 KiB window fills before it completes.
    const head = hex('16 0301 4000 01 004000');
    expect(f.tcp(true, PSH | ACK, 1, head)).toBe(false);
    let seq = 1 + head.length;
    let r = false;
    for (let i = 0; i < 20 && !r; i++) {
      r = f.tcp(true, PSH | ACK, seq, Buffer.alloc(1000, 0x41));
      seq += 1000;
    }
    expect(r).toBe(true);
    expect(f.nonZeroCounters()).toEqual({ tls: 1, unnamed: 1 });
    expect(f.engine.reassemblyStates).toBe(0);
  });

  it('ignores server packets, empty segments and a SYN-ACK while naming', () => {
    const f = new Flow('TCP', 40007, 443);
    expect(f.tcp(true, SYN, ISN)).toBe(false);
    expect(f.tcp(false, SYN | ACK, 7)).toBe(false);
    expect(f.tcp(false, PSH | ACK, 8, Buffer.from('220 hello\r\n'))).toBe(false);
    expect(f.tcp(true, ACK, ISN + 1)).toBe(false);
    expect([f.app.naming, f.app.clientIsn, f.events]).toEqual([true, ISN, []]);
  });
});

describe('HTTP and CONNECT', () => {
  const connect = Buffer.from('CONNECT tunnel.example:443 HTTP/1.1\r\nHost: tunnel.example:443\r\n\r\n');
  const tlsHello = records(clientHello({ sni: 'inner.example' }));

  function opened(reply: string) {
    const f = new Flow('TCP', 41000, 8888);
    f.tcp(true, SYN, ISN);
    expect(f.tcp(true, PSH | ACK, ISN + 1, connect)).toBe(true);
    expect([f.app.httpHost, f.app.naming, f.engine.reassemblyStates]).toEqual(['tunnel.example', true, 1]);
    expect(f.tcp(false, PSH | ACK, 500, Buffer.from(reply))).toBe(false);
    return f;
  }
  const tunnelSeq = ISN + 1 + connect.length;

  it('reads the ClientHello inside an opened tunnel', () => {
    const f = opened('HTTP/1.1 200 Connection established\r\n\r\n');
    expect(f.tcp(true, PSH | ACK, tunnelSeq, tlsHello)).toBe(true);
    expect(f.events.map(([t, b]) => [t, b.hostname ?? b.sni])).toEqual([
      ['http', 'tunnel.example'],
      ['tls', 'inner.example'],
    ]);
    expect([f.app.sni, f.app.naming, f.engine.reassemblyStates]).toEqual(['inner.example', false, 0]);
    expect(f.nonZeroCounters()).toEqual({ http: 1 });
  });

  it('reads a tunnelled ClientHello split in two', () => {
    const f = opened('HTTP/1.1 200 OK\r\n\r\n');
    expect(f.tcp(true, PSH | ACK, tunnelSeq, tlsHello.subarray(0, 1))).toBe(false);
    expect(f.engine.reassemblyStates).toBe(1); // the CONNECT's state, not a second one
    expect(f.tcp(true, PSH | ACK, tunnelSeq + 1, tlsHello.subarray(1))).toBe(true);
    expect([f.app.sni, f.engine.reassemblyStates]).toEqual(['inner.example', 0]);
  });

  it.each<[string, string, Buffer]>([
    ['refused by the proxy', 'HTTP/1.1 407 Proxy Authentication Required\r\n\r\n', tlsHello],
    ['opened onto something else than TLS', 'HTTP/1.1 200 OK\r\n\r\n', Buffer.from('SSH-2.0-x\r\n')],
    ['opened onto a TLS record of another version', 'HTTP/1.1 200 OK\r\n\r\n', hex('16 0203 0001 01')],
    ['opened onto two bytes of a record of another version', 'HTTP/1.1 200 OK\r\n\r\n', hex('16 02')],
    ['opened onto a TLS record that is not a handshake', 'HTTP/1.1 200 OK\r\n\r\n', hex('17 0303 0010 00')],
  ])('stops naming a CONNECT %s', (_what, reply, tunnelled) => {
    const f = opened(reply);
    // Judged by its target already: nothing new to decide.
    expect(f.tcp(true, PSH | ACK, tunnelSeq, tunnelled)).toBe(false);
    expect([f.app.naming, f.app.sni, f.engine.reassemblyStates]).toEqual([false, null, 0]);
    expect(f.events.map(([t]) => t)).toEqual(['http']);
  });

  it('waits for the reply: client bytes and empty server segments before it change nothing', () => {
    const f = new Flow('TCP', 41001, 8888);
    f.tcp(true, SYN, ISN);
    f.tcp(true, PSH | ACK, ISN + 1, connect);
    expect(f.tcp(true, PSH | ACK, tunnelSeq, tlsHello)).toBe(false);
    expect(f.tcp(false, ACK, 500)).toBe(false);
    expect(f.app.naming).toBe(true);
    f.tcp(false, PSH | ACK, 500, Buffer.from('HTTP/1.1 200 OK\r\n\r\n'));
    expect(f.tcp(true, PSH | ACK, tunnelSeq, tlsHello)).toBe(true);
    expect(f.app.sni).toBe('inner.example');
  });

  it('judges a CONNECT seen without its SYN by its target alone', () => {
    const f = new Flow('TCP', 41002, 8888);
    expect(f.tcp(true, PSH | ACK, 9000, connect)).toBe(true);
    expect([f.app.naming, f.app.httpHost, f.engine.reassemblyStates]).toEqual([false, 'tunnel.example', 0]);
  });

  it.each<[string, string, string | null]>([
    ['a name', 'www.example.org', 'www.example.org'],
    ['a name with a port', 'www.example.org:8080', 'www.example.org'],
    ['an IPv4 literal', '192.0.2.7', null],
    ['an IPv6 literal', '[2001:db8::7]:80', null],
  ])('takes the Host of a request as a name unless it is an address: %s', (_what, host, name) => {
    const f = new Flow('TCP', 41003, 80);
    f.tcp(true, SYN, 1);
    const req = `GET /x HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: t/1\r\n\r\n`;
    expect(f.tcp(true, PSH | ACK, 2, Buffer.from(req))).toBe(true);
    expect(f.app.httpHost).toBe(name);
    expect(f.events[0][0]).toBe('http');
    expect(f.events[0][1]).toMatchObject({
      http_method: 'GET',
      url: '/x',
      protocol: 'HTTP/1.1',
      http_user_agent: 't/1',
    });
  });
});

/** A DNS message with its flags' RCODE and the question's type replaced. */
function variant(msg: Buffer, rcode: number, qtype: number): Buffer {
  const b = Buffer.from(msg);
  b[3] = (b[3] & 0xf0) | rcode;
  b.writeUInt16BE(qtype, 29);
  return b;
}

describe('DNS', () => {
  it.each<[string, Buffer, Record<string, unknown>]>([
    [
      'a query',
      QUERY,
      { type: 'query', id: 0x1234, rrname: 'www.example.org', rrtype: 'A', rcode: undefined, answers: undefined },
    ],
    [
      'an answer',
      A_RESPONSE,
      {
        type: 'answer',
        id: 0x1234,
        rrname: 'www.example.org',
        rrtype: 'A',
        rcode: 'NOERROR',
        answers: [{ rrname: 'www.example.org', rrtype: 'A', ttl: 3600, rdata: '192.0.2.80' }],
      },
    ],
    ['NXDOMAIN for an AAAA', variant(A_RESPONSE, 3, 28), { rcode: 'NXDOMAIN', rrtype: 'AAAA' }],
    ['REFUSED for HTTPS', variant(A_RESPONSE, 5, 65), { rcode: 'REFUSED', rrtype: 'HTTPS' }],
    ['an unnamed rcode and type', variant(A_RESPONSE, 9, 99), { rcode: 'RCODE9', rrtype: 'TYPE99' }],
  ])('over UDP: %s', (_what, msg, body) => {
    const f = new Flow('UDP', 53000, 53);
    const query = msg === QUERY;
    expect(f.udp(query, msg)).toBe(query);
    expect(f.events).toHaveLength(1);
    expect(f.events[0][0]).toBe('dns');
    expect(f.events[0][1]).toMatchObject(body);
    expect(f.nonZeroCounters()).toEqual({ dns: 1 });
    expect(f.app.appProto).toBe('dns');
  });

  it('over UDP: the first query ends naming, later ones and answers do not, and answers feed the cache', () => {
    const f = new Flow('UDP', 53001, 53);
    expect([f.udp(true, QUERY), f.udp(true, QUERY), f.udp(false, A_RESPONSE), f.udp(true, Buffer.alloc(0))]).toEqual([
      true,
      false,
      false,
      false,
    ]);
    expect(f.events.map(([, b]) => b.type)).toEqual(['query', 'query', 'answer']);
    expect(f.cache.namesFor(CLIENT, '192.0.2.80', T0 + 10)).toEqual(['www.example.org']);
    expect(f.nonZeroCounters()).toEqual({ dns: 1 });
  });

  it('over UDP from port 53 too (the server side of the flow)', () => {
    const f = new Flow('UDP', 53, 53002);
    expect(f.udp(false, A_RESPONSE)).toBe(false);
    expect(f.events.map(([, b]) => b.type)).toEqual(['answer']);
  });

  const queries = tcpStream(QUERY, QUERY);
  const answer = tcpStream(A_RESPONSE);

  // The segments of the queries, and the reassembly states held after them (in order: none).
  it.each<[string, [number, number][], number]>([
    ['in order', [[0, queries.length]], 0],
    [
      'in two segments',
      [
        [0, 10],
        [10, queries.length],
      ],
      0,
    ],
    [
      'reordered',
      [
        [10, queries.length],
        [0, 10],
      ],
      1,
    ],
    [
      'with a retransmission',
      [
        [0, 20],
        [0, 20],
        [20, queries.length],
      ],
      0,
    ],
    [
      'with a retransmission of the framed bytes and one past them',
      [
        [0, 20],
        [10, 21],
        [20, queries.length],
      ],
      1,
    ],
    [
      'reordered, then a retransmission of framed bytes',
      [
        [20, queries.length],
        [0, 20],
        [0, 20],
      ],
      1,
    ],
  ])('over TCP, %s: each message once, answers into the cache', (_what, segs, states) => {
    const f = new Flow('TCP', 53100, 53);
    f.tcp(true, SYN, ISN);
    const returns = segs.map(([a, b]) => f.tcp(true, PSH | ACK, ISN + 1 + a, queries.subarray(a, b)));
    // The first segment that starts the stream decides: DNS (once, whatever the order).
    expect(returns.filter((r) => r)).toEqual([true]);
    expect(f.engine.reassemblyStates).toBe(states);
    expect(f.tcp(false, SYN | ACK, 70_000)).toBe(false);
    expect(f.tcp(false, PSH | ACK, 70_001, answer)).toBe(false);
    expect(f.events.map(([, b]) => b.type)).toEqual(['query', 'query', 'answer']);
    expect(f.cache.namesFor(CLIENT, '192.0.2.80', T0 + 10)).toEqual(['www.example.org']);
    expect(f.nonZeroCounters()).toEqual({ dns: 1 });
    expect(f.app.naming).toBe(false);
  });

  it('over TCP, the server direction reordered too', () => {
    const f = new Flow('TCP', 53101, 53);
    f.tcp(true, PSH | ACK, 1, tcpStream(QUERY));
    f.tcp(false, PSH | ACK, 1000, answer.subarray(0, 5));
    f.tcp(false, PSH | ACK, 1010, answer.subarray(10));
    expect(f.events.map(([, b]) => b.type)).toEqual(['query']);
    f.tcp(false, PSH | ACK, 1005, answer.subarray(5, 10));
    expect(f.events.map(([, b]) => b.type)).toEqual(['query', 'answer']);
  });

  it('over TCP beyond the reassembly bound: the reordered direction is read no further, the other still is', () => {
    const f = new Flow('TCP', 53102, 53, 0);
    expect([
      f.tcp(true, PSH | ACK, 1, queries.subarray(0, 10)),
      f.tcp(true, PSH | ACK, 21, queries.subarray(20)),
      f.tcp(true, PSH | ACK, 11, queries.subarray(10, 20)),
      f.tcp(false, PSH | ACK, 1000, answer),
    ]).toEqual([true, false, false, false]);
    expect(f.events.map(([, b]) => b.type)).toEqual(['answer']);
    expect(f.nonZeroCounters()).toEqual({ dns: 1, reassemblyLimit: 1 });
    expect(f.engine.reassemblyStates).toBe(0);
  });

  it('over TCP: a first segment out of order carries on as the query stream', () => {
    const f = new Flow('TCP', 53103, 53);
    f.tcp(true, SYN, ISN);
    expect(f.tcp(true, PSH | ACK, ISN + 11, queries.subarray(10))).toBe(false);
    expect(f.tcp(true, PSH | ACK, ISN + 1, queries.subarray(0, 10))).toBe(true);
    expect(f.events.map(([, b]) => b.type)).toEqual(['query', 'query']);
    expect(f.engine.reassemblyStates).toBe(1);
    f.engine.release(f.app);
    expect([f.engine.reassemblyStates, f.app.dnsTcp?.[0].stream]).toEqual([0, null]);
    f.engine.release(f.app); // twice: nothing more to give back
    expect(f.engine.reassemblyStates).toBe(0);
  });
});

describe('QUIC', () => {
  const initials = split(PQ, 2);
  /** A client's first datagram with an unknown version, padded to 1200 bytes. */
  const unknown = Buffer.concat([hex('c0 1a2a3a4a 08 0102030405060708 00'), Buffer.alloc(1200 - 15)]);
  const vn = hex('80 00000000 00 08 0102030405060708 00000001');

  it('reads the ClientHello of two Initials', () => {
    const f = new Flow('UDP', 50000, 443);
    expect(f.udp(true, initials[0])).toBe(false);
    expect(f.engine.reassemblyStates).toBe(1);
    expect(f.udp(true, initials[1])).toBe(true);
    expect(f.events).toEqual([['quic', { sni: 'example.org', alpn: ['h3'], ech: false, version: '0x00000001' }]]);
    expect(f.nonZeroCounters()).toEqual({ quic: 1 });
    expect([f.engine.reassemblyStates, f.app.quic, f.app.naming]).toEqual([0, null, false]);
  });

  it('judges a client that never completes its ClientHello without a name after 8 datagrams', () => {
    const f = new Flow('UDP', 50001, 443);
    const r = Array.from({ length: 8 }, () => f.udp(true, initials[0]));
    expect(r).toEqual([false, false, false, false, false, false, false, true]);
    expect(f.nonZeroCounters()).toEqual({ quic: 1, unnamed: 1 });
  });

  it('calls an unknown version QUIC when the server answers with Version Negotiation', () => {
    const f = new Flow('UDP', 50002, 443);
    expect(f.udp(false, vn)).toBe(false); // no client datagram yet: not a reply to anything
    expect(f.udp(true, unknown)).toBe(false);
    expect(f.udp(false, Buffer.alloc(0))).toBe(false);
    expect(f.udp(false, vn)).toBe(true);
    expect(f.events).toEqual([['quic', { version: '0x1a2a3a4a', sni: null, alpn: [], ech: false }]]);
    expect(f.fired()).toEqual({ 'quic.unknown_version': 1 });
    expect(f.nonZeroCounters()).toEqual({ quic: 1 });
  });

  it('calls an unknown version a look-alike when the server answers with anything else', () => {
    const f = new Flow('UDP', 50003, 443);
    f.udp(true, unknown);
    expect(f.udp(false, Buffer.from('not quic'))).toBe(true);
    expect(f.fired()).toEqual({ 'quic.not_quic': 1 });
    expect(f.nonZeroCounters()).toEqual({ unnamed: 1 });
    expect(f.events).toEqual([]);
  });

  it('gives up on an unknown version the server never answers, after 8 more client datagrams', () => {
    const f = new Flow('UDP', 50004, 443);
    const r = Array.from({ length: 9 }, () => f.udp(true, unknown));
    expect(r).toEqual([false, false, false, false, false, false, false, false, true]);
    expect(f.fired()).toEqual({ 'quic.not_quic': 1 });
  });

  it.each<[string, Buffer, Record<string, number>]>([
    ['a short datagram with a long header', Buffer.from([0xc0, 0, 0, 0, 1, 0, 0, 0]), { 'quic.not_quic': 1 }],
    ['a datagram that does not look like QUIC', Buffer.alloc(1300, 0x11), {}],
  ])('names nothing for %s', (_what, payload, fired) => {
    const f = new Flow('UDP', 50005, 443);
    expect(f.udp(true, payload)).toBe(true);
    expect(f.fired()).toEqual(fired);
    expect(f.nonZeroCounters()).toEqual({ unnamed: 1 });
  });

  it('takes no QUIC state over the reassembly bound', () => {
    const f = new Flow('UDP', 50006, 443, 0);
    expect(f.udp(true, initials[0])).toBe(true);
    expect(f.nonZeroCounters()).toEqual({ unnamed: 1, reassemblyLimit: 1 });
  });

  it('ignores empty client datagrams', () => {
    const f = new Flow('UDP', 50007, 443);
    expect(f.udp(true, Buffer.alloc(0))).toBe(false);
    expect(f.app.naming).toBe(true);
  });
});

describe('ICMP and the packets the stage wants', () => {
  it('decides an ICMP flow at its first packet', () => {
    const f = new Flow('ICMP', 0, 0);
    const frame = ethernet(
      ipPacket({ src: CLIENT, dst: SERVER }, icmpEcho({ v6: false, reply: false, id: 1, seq: 1 })),
    );
    const p = new Packet();
    decodePacket(frame, 0, frame.length, 1, p, f.anomalies.counts);
    expect(f.engine.onPacket(f.app, p, frame, true, T0)).toBe(true);
    expect(f.app.naming).toBe(false);
    expect(f.engine.wantsPacket(p, false)).toBe(true);
    expect(f.nonZeroCounters()).toEqual({}); // not read as a datagram with no name
    // Whichever side speaks first.
    const g = new Flow('ICMP', 0, 0);
    expect(g.engine.onPacket(g.app, p, frame, false, T0)).toBe(true);
    expect([g.app.naming, g.nonZeroCounters()]).toEqual([false, {}]);
  });

  const packetOf = (l4: { proto: number; bytes: Buffer }) => {
    const frame = ethernet(ipPacket({ src: CLIENT, dst: SERVER }, l4));
    const p = new Packet();
    decodePacket(frame, 0, frame.length, 1, p, new Anomalies().counts);
    return p;
  };
  const tcp = (flags: number, payload?: Buffer) =>
    packetOf(tcpSegment({ src: CLIENT, dst: SERVER, sport: 1, dport: 2, flags, payload }));
  const udp = (sport: number, dport: number, payload?: Buffer) =>
    packetOf(udpDatagram({ src: CLIENT, dst: SERVER, sport, dport, payload }));

  it.each<[string, Packet, boolean, boolean]>([
    ['a SYN from the client', tcp(SYN), true, true],
    ['a SYN-ACK', tcp(SYN | ACK), true, false],
    ['an empty ACK', tcp(ACK), true, false],
    ['client data', tcp(PSH | ACK, Buffer.from('x')), true, true],
    ['server data', tcp(PSH | ACK, Buffer.from('x')), false, false],
    ['a SYN from the server side', tcp(SYN), false, false],
    ['UDP to port 53, either way', udp(1000, 53), false, true],
    ['UDP from port 53', udp(53, 1000), false, true],
    ['a client datagram', udp(1000, 443, Buffer.from('x')), true, true],
    ['an empty client datagram', udp(1000, 443), true, false],
    ['a server datagram', udp(1000, 443, Buffer.from('x')), false, false],
  ])('%s', (_what, p, toServer, wanted) => {
    const f = new Flow('TCP', 1, 2);
    expect(f.engine.wantsPacket(p, toServer)).toBe(wanted);
  });
});
