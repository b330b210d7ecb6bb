// The names stage's edges (names/engine.ts), packet by packet and in process,
// each packet's return value asserted: first segments of one to three bytes
// (a ClientHello split to hide its name), sequence number 0 with and without
// a SYN, a server that speaks first, a CONNECT tunnel's first bytes out of
// order, empty or from the server, encrypted DNS counted, DNS without a
// question, and QUIC datagrams whose UDP length says more than the capture
// holds, says 0, or says less than the 1200 bytes of an Initial (RFC 9000 §14.1).

import { describe, expect, it } from 'vitest';
import { A_RESPONSE, bytes, QUERY, tcpStream } from '../support/dns-vectors.js';
import { ACK, Flow, ISN, PSH, SYN } from '../support/names-flow.js';
import { PQ, split } from '../support/quic-flows.js';
import { clientHello, hex, records } from '../support/tls-hello.js';

/** One TCP packet: from the client (true) or the server, its flags, its seq, its payload. */
type Step = [boolean, number, number, Buffer?];

const hello = records(clientHello({ sni: 'a.example' }));
const get = Buffer.from('GET / HTTP/1.1\r\nHost: www.example.org\r\n\r\n');
const data = (seq: number, payload: Buffer): Step => [true, PSH | ACK, seq, payload];

/** What a flow shows after its packets. */
function after(f: Flow) {
  return {
    naming: f.app.naming,
    appProto: f.app.appProto,
    name: f.app.sni ?? f.app.httpHost,
    states: f.engine.reassemblyStates,
    counters: f.nonZeroCounters(),
  };
}

describe('TCP: the first bytes of the client', () => {
  it.each<[string, number, Step[], boolean[], ReturnType<typeof after>]>([
    [
      'a ClientHello whose first segment is one byte',
      443,
      [[true, SYN, ISN], data(ISN + 1, hello.subarray(0, 1)), data(ISN + 2, hello.subarray(1))],
      [false, false, true],
      { naming: false, appProto: 'tls', name: 'a.example', states: 0, counters: { tls: 1 } },
    ],
    [
      'a ClientHello whose first segment is two bytes',
      443,
      [[true, SYN, ISN], data(ISN + 1, hello.subarray(0, 2)), data(ISN + 3, hello.subarray(2))],
      [false, false, true],
      { naming: false, appProto: 'tls', name: 'a.example', states: 0, counters: { tls: 1 } },
    ],
    [
      'a ClientHello whose first segment is the record header',
      443,
      [[true, SYN, ISN], data(ISN + 1, hello.subarray(0, 5)), data(ISN + 6, hello.subarray(5))],
      [false, false, true],
      { naming: false, appProto: 'tls', name: 'a.example', states: 0, counters: { tls: 1 } },
    ],
    [
      'two bytes of a record of another version',
      443,
      [[true, SYN, ISN], data(ISN + 1, hex('16 02'))],
      [false, true],
      { naming: false, appProto: null, name: null, states: 0, counters: { unnamed: 1 } },
    ],
    [
      'a ClientHello in two segments, no SYN seen',
      443,
      [data(5000, hello.subarray(0, 100)), data(5100, hello.subarray(100))],
      [false, true],
      { naming: false, appProto: 'tls', name: 'a.example', states: 0, counters: { tls: 1 } },
    ],
    [
      'a ClientHello after a SYN with sequence number 0, second segment first',
      443,
      [[true, SYN, 0], data(101, hello.subarray(100)), data(1, hello.subarray(0, 100))],
      [false, false, true],
      { naming: false, appProto: 'tls', name: 'a.example', states: 0, counters: { tls: 1 } },
    ],
    [
      'a request at sequence number 0, no SYN seen',
      80,
      [data(0, get)],
      [true],
      { naming: false, appProto: 'http', name: 'www.example.org', states: 0, counters: { http: 1 } },
    ],
    [
      'a request after its SYN: judged, and no CONNECT state kept',
      80,
      [[true, SYN, ISN], data(ISN + 1, get)],
      [false, true],
      { naming: false, appProto: 'http', name: 'www.example.org', states: 0, counters: { http: 1 } },
    ],
    [
      'a CONNECT after a SYN with sequence number 0: waits for the reply',
      8888,
      [[true, SYN, 0], data(1, Buffer.from('CONNECT t.example:443 HTTP/1.1\r\nHost: t.example:443\r\n\r\n'))],
      [false, true],
      { naming: true, appProto: 'http', name: 't.example', states: 1, counters: { http: 1 } },
    ],
    [
      'the server speaking first, no SYN seen',
      443,
      [
        [false, PSH | ACK, 7000, Buffer.from('HTTP/1.1 200 OK\r\n\r\n')],
        [false, PSH | ACK, 7019, hello],
      ],
      [false, false],
      { naming: true, appProto: null, name: null, states: 0, counters: {} },
    ],
    [
      'DNS over TCP seen from port 53 (the capture took the server for the client)',
      40000,
      [data(1, tcpStream(A_RESPONSE))],
      [true],
      { naming: false, appProto: 'dns', name: null, states: 0, counters: { dns: 1 } },
    ],
    [
      'DNS over TLS: counted as encrypted DNS',
      853,
      [[true, SYN, ISN], data(ISN + 1, hello)],
      [false, true],
      { naming: false, appProto: 'tls', name: 'a.example', states: 0, counters: { tls: 1, encryptedDns: 1 } },
    ],
  ])('%s', (_what, port, steps, returns, state) => {
    const f = port === 40000 ? new Flow('TCP', 53, port) : new Flow('TCP', 40000, port);
    expect(steps.map(([toServer, flags, seq, payload]) => f.tcp(toServer, flags, seq, payload))).toEqual(returns);
    expect(after(f)).toEqual(state);
    expect(f.app.encryptedDns).toBe(port === 853 ? 'dot' : null);
  });
});

describe('TCP: the first bytes inside an opened CONNECT tunnel', () => {
  const connect = Buffer.from('CONNECT tunnel.example:443 HTTP/1.1\r\nHost: tunnel.example:443\r\n\r\n');
  const inner = records(clientHello({ sni: 'inner.example' }));
  const ssh = Buffer.from('SSH-2.0-x\r\n');
  const at = ISN + 1 + connect.length; // the tunnel's first client byte

  // Each step's return value and whether the flow is still being named after it.
  it.each<[string, Step[], [boolean, boolean][], string | null]>([
    ['the hello in one segment', [data(at, inner)], [[true, false]], 'inner.example'],
    [
      "the hello's second segment first",
      [data(at + 100, inner.subarray(100)), data(at, inner.subarray(0, 100))],
      [
        [false, true],
        [true, false],
      ],
      'inner.example',
    ],
    [
      'an empty ACK at the first byte, then the hello',
      [[true, ACK, at], data(at, inner)],
      [
        [false, true],
        [true, false],
      ],
      'inner.example',
    ],
    [
      "a server segment at the client's first sequence number, then the hello",
      [[false, PSH | ACK, at, ssh], data(at, inner)],
      [
        [false, true],
        [true, false],
      ],
      'inner.example',
    ],
    [
      'something else than TLS, second segment first',
      [data(at + 4, ssh.subarray(4)), data(at, ssh.subarray(0, 4))],
      [
        [false, true],
        [true, false],
      ],
      null,
    ],
    ['something else than TLS', [data(at, ssh)], [[false, false]], null],
    ['nothing yet', [], [], null],
  ])('%s', (_what, steps, returns, sni) => {
    const f = new Flow('TCP', 41000, 8888);
    f.tcp(true, SYN, ISN);
    expect(f.tcp(true, PSH | ACK, ISN + 1, connect)).toBe(true);
    expect(f.tcp(false, PSH | ACK, 500, Buffer.from('HTTP/1.1 200 OK\r\n\r\n'))).toBe(false);
    const seen = steps.map(([toServer, flags, seq, payload]) => [f.tcp(toServer, flags, seq, payload), f.app.naming]);
    expect(seen).toEqual(returns);
    const naming = steps.length === 0;
    expect([f.app.sni, f.app.naming, f.engine.reassemblyStates]).toEqual([sni, naming, naming ? 1 : 0]);
  });
});

describe('UDP', () => {
  it('DNS: an empty client datagram neither parses nor ends naming; the first query does', () => {
    const f = new Flow('UDP', 53000, 53);
    expect([f.udp(true, Buffer.alloc(0)), f.app.naming, f.fired()]).toEqual([false, true, {}]);
    expect([f.udp(true, QUERY), f.app.naming, f.events.length]).toEqual([true, false, 1]);
  });

  it('DNS: an answer without a question has no name and no type', () => {
    const f = new Flow('UDP', 53000, 53);
    expect(f.udp(false, bytes('1234 8180 0000 0000 0000 0000'))).toBe(false);
    expect(f.events).toEqual([
      ['dns', { type: 'answer', id: 0x1234, rrname: null, rrtype: null, rcode: 'NOERROR', answers: [] }],
    ]);
  });

  const initials = split(PQ, 2);
  /** The offset of the UDP length field in a frame from Flow.udpFrame (Ethernet, IPv4 without options). */
  const UDP_LENGTH_AT = 14 + 20 + 4;

  it('QUIC: a server datagram between two client Initials is not an answer to an unknown version', () => {
    const f = new Flow('UDP', 50000, 443);
    expect([f.udp(true, initials[0]), f.udp(false, Buffer.from('server')), f.udp(true, initials[1])]).toEqual([
      false,
      false,
      true,
    ]);
    expect([f.app.sni, f.nonZeroCounters()]).toEqual(['example.org', { quic: 1 }]);
  });

  it('QUIC: an Initial cut short by the capture is still known as QUIC by its UDP length', () => {
    const f = new Flow('UDP', 50000, 443);
    const frame = f.udpFrame(true, initials[0]);
    // 300 of its 1200 bytes captured: QUIC, though its packet cannot be opened.
    expect(f.packet(frame.subarray(0, UDP_LENGTH_AT + 4 + 300), true)).toBe(true);
    expect([f.app.appProto, f.nonZeroCounters(), f.fired()]).toEqual(['quic', { quic: 1 }, { 'quic.bad_header': 1 }]);
  });

  it('QUIC: a UDP length of 0 (as in an IPv6 jumbogram) takes the datagram as captured', () => {
    const f = new Flow('UDP', 50000, 443);
    const frame = f.udpFrame(true, initials[0]);
    frame.writeUInt16BE(0, UDP_LENGTH_AT);
    expect([f.packet(frame, true), f.udp(true, initials[1])]).toEqual([false, true]);
    expect(f.app.sni).toBe('example.org');
  });

  it('QUIC: an Initial header in a datagram under 1200 bytes is a look-alike', () => {
    const f = new Flow('UDP', 50000, 443);
    // 1195 bytes: under the minimum, and over it by the UDP header's 8 bytes if those were counted twice.
    const short = Buffer.concat([hex('c0 00000001 08 0102030405060708 00'), Buffer.alloc(1195 - 15)]);
    expect(f.udp(true, short)).toBe(true);
    expect([f.fired(), f.nonZeroCounters()]).toEqual([{ 'quic.not_quic': 1 }, { unnamed: 1 }]);
  });

  it('QUIC: counted as encrypted DNS on port 853', () => {
    const f = new Flow('UDP', 50000, 853);
    expect([f.udp(true, initials[0]), f.udp(true, initials[1])]).toEqual([false, true]);
    expect([f.app.encryptedDns, f.nonZeroCounters()]).toEqual(['doq', { quic: 1, encryptedDns: 1 }]);
  });
});
