// DNS over TCP (RFC 7766 §8): the framer gives the same messages however the
// stream is split, and stops at a length prefix of 0.

import { describe, expect, it } from 'vitest';
import { readDnsTcpFrame } from '../../agent/src/names/dns-tcp.js';
import { CNAME_CHAIN, frame, QUERY, tcpStream } from '../support/dns-vectors.js';

describe('DnsTcpFramer', () => {
  const stream = tcpStream(QUERY, CNAME_CHAIN);
  const whole = [QUERY.toString('hex'), CNAME_CHAIN.toString('hex')];

  it('yields both messages of one segment', () => {
    const { out, framer } = frame(stream, []);
    expect(out).toEqual(whole);
    expect(framer.buffered).toBe(0);
  });

  it('gives the same messages with the stream split at every byte offset', () => {
    for (let cut = 0; cut <= stream.length; cut++) expect(frame(stream, [cut]).out, `cut at ${cut}`).toEqual(whole);
  });

  it('gives the same messages with the stream split at every pair of offsets, and byte by byte', () => {
    for (let a = 1; a < stream.length; a++) {
      for (let b = a; b < stream.length; b++) expect(frame(stream, [a, b]).out, `cuts ${a},${b}`).toEqual(whole);
    }
    const everyByte = Array.from({ length: stream.length - 1 }, (_, i) => i + 1);
    expect(frame(stream, everyByte).out).toEqual(whole);
  });

  it('holds what it has of an incomplete message, and nothing once it completes', () => {
    const { out, framer } = frame(stream.subarray(0, 2 + QUERY.length + 2 + 10), []);
    expect(out).toEqual([whole[0]]);
    expect(framer.buffered).toBe(12);
    expect(framer.push(stream.subarray(2 + QUERY.length + 2 + 10)).map((m) => Buffer.from(m).toString('hex'))).toEqual([
      whole[1],
    ]);
    expect(framer.buffered).toBe(0);
  });

  it('stops at a length prefix of 0 (dns.tcp_bad_length), wherever the split', () => {
    const bad = Buffer.concat([tcpStream(QUERY), Buffer.of(0, 0), tcpStream(QUERY)]);
    for (let cut = 0; cut <= bad.length; cut++) {
      const { out, framer, anomalies } = frame(bad, [cut]);
      expect(out, `cut at ${cut}`).toEqual([whole[0]]);
      expect(framer.failed).toBe(true);
      expect(anomalies.get('dns.tcp_bad_length')).toBe(1);
      expect(framer.push(tcpStream(QUERY))).toEqual([]);
    }
  });

  it('says how much a frame needs (readDnsTcpFrame)', () => {
    expect(readDnsTcpFrame(stream, 0, 1)).toEqual({ kind: 'need', bytes: 2 });
    expect(readDnsTcpFrame(stream, 0, 10)).toEqual({ kind: 'need', bytes: 2 + QUERY.length });
    expect(readDnsTcpFrame(stream, 0, stream.length)).toEqual({
      kind: 'done',
      value: { messageOff: 2, messageLen: QUERY.length, next: 2 + QUERY.length },
    });
    expect(readDnsTcpFrame(Buffer.of(0, 0), 0, 2)).toEqual({ kind: 'invalid', anomaly: 'dns.tcp_bad_length' });
  });
});
