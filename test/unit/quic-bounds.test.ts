// The edges of the QUIC Initial assembler, one byte either side of each
// bound: packet numbers at exactly half a window from the expected one
// (RFC 9000 A.3), frames that end exactly at the end of the packet or one
// byte past it (RFC 9000 §19), the shortest packet header protection can
// sample (RFC 9001 §5.4.2), connection IDs of 20 bytes (RFC 9000 §17.2), a
// Retry header and a zero-length packet coalesced after Initials
// (RFC 9000 §12.2), and offsets and lengths outside the buffer.

import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../agent/src/decode/anomaly.js';
import { MAX_CRYPTO, QuicInitialAssembler } from '../../agent/src/names/quic.js';
import { QuicVersion } from '../../agent/src/names/quic-keys.js';
import { cryptoFrames, frame, protectInitial, varint } from '../support/quic-encoder.js';
import { CID, feed, initial, PQ, PQ_INFO, split } from '../support/quic-flows.js';
import { V1 } from '../support/quic-vectors.js';
import { clientHello, hex } from '../support/tls-hello.js';

const DONE = { kind: 'done', value: PQ_INFO };
const invalid = (anomaly: string) => ({ kind: 'invalid', anomaly });

describe('packet numbers at the edges of the window (RFC 9000 A.3)', () => {
  // Each flow carries the ClientHello in one CRYPTO frame per packet: a packet number
  // decoded wrong gives the wrong nonce, so the packet does not decrypt and the hello stays incomplete.
  // Each packet: its number / bytes of it on the wire.
  it.each([
    ['a first packet number above half the window', '200/1 201/1'],
    ['exactly half a window below the expected one: the later of the two', '500/4 629/1'],
    ['exactly half a window above the expected one: kept', '511/4 640/1'],
    ['just over half a window above: the earlier one', '511/4 385/1'],
    ['a late packet does not lower the largest one received', '511/4 385/1 640/1'],
    ['the RFC 9000 A.3 example, 2 bytes after 4', `${0xa82f30ea}/4 ${0xa82f9b32}/2`],
  ])('%s: %s', (_n, sequence) => {
    const numbers = sequence.split(' ').map((s) => s.split('/').map(Number));
    const frames = cryptoFrames(PQ, Math.ceil(PQ.length / numbers.length));
    const pkts = numbers.map(([pn, pnLen], i) => initial({ pn, pnLen, payload: frames[i] }));
    const { q, last, fired } = feed(pkts);
    expect(fired).toEqual({});
    expect(last).toEqual(DONE);
    expect(q.packets).toBe(numbers.length);
  });
});

describe('frames that end at the end of the packet, or one byte past it', () => {
  // A ClientHello small enough for one packet, then the frame under test as the packet's last bytes.
  const HELLO = clientHello({ sni: 'one.example', alpn: ['h3'] });
  const HELLO_DONE = { kind: 'done', value: expect.objectContaining({ sni: 'one.example' }) };
  const packet = (...frames: Buffer[]) => protectInitial({ dcid: CID, pn: 0, payload: Buffer.concat(frames) });
  const hello = frame.crypto(0, HELLO);

  it.each([
    ['a PING as the last byte', [hello, frame.ping()]],
    ['an ACK with one range as the last bytes', [hello, frame.ack(5, 0, [[0, 1]])]],
    [
      'an ACK_ECN with two ranges before the CRYPTO frame',
      [
        frame.ack(
          20,
          1,
          [
            [1, 2],
            [3, 4],
          ],
          [1, 2, 3],
        ),
        hello,
      ],
    ],
    ['an ACK with 2- and 4-byte fields', [frame.ack(0x3fff, 0x40, [[0x4000, 1]]), hello]],
    ['an empty CRYPTO frame', [frame.crypto(0, Buffer.alloc(0)), hello]],
    ['a CONNECTION_CLOSE with an empty reason', [frame.connectionClose(0x0a, ''), hello]],
    ['a CONNECTION_CLOSE whose reason runs to the end', [hello, frame.connectionClose(0x0a, 'bye')]],
  ])('read: %s', (_n, frames) => {
    expect(feed([packet(...frames)])).toMatchObject({ outcomes: [HELLO_DONE], fired: {} });
  });

  it.each([
    ['an ACK cut inside its first fields', hex('02 05')],
    ['an ACK cut inside its 2-byte First ACK Range', hex('02 05 00 00 40')],
    ['an ACK range cut after a 2-byte gap', Buffer.concat([hex('02 05 00 01 00'), varint(5, 2)])],
    ['an ACK_ECN missing its last ECN count', hex('03 05 00 00 00 01 01')],
    ['a CRYPTO frame one byte longer than what is left', hex('06 00 05 01020304')],
    ['a CRYPTO frame with a 2-byte type and a cut 4-byte offset', hex('4006 800000')],
    ['a CRYPTO frame with a 2-byte offset and a cut 8-byte length', hex('06 4000 c00000')],
    ['a CRYPTO frame with a cut 2-byte length', hex('06 00 40')],
    ['a CONNECTION_CLOSE with a cut 8-byte error code', hex('1c c0000000000000')],
    ['a CONNECTION_CLOSE with a 2-byte frame type and a cut reason length', hex('1c 00 4000 c000')],
    ['a CONNECTION_CLOSE reason one byte longer than what is left', hex('1c 00 00 04 616263')],
  ])('refused: %s', (_n, last) => {
    expect(feed([packet(hello, last)])).toMatchObject({
      outcomes: [invalid('quic.bad_frame')],
      fired: { 'quic.bad_frame': 1 },
    });
  });

  it(`CRYPTO data ending exactly at ${MAX_CRYPTO} bytes is kept`, () => {
    const { outcomes, fired } = feed([packet(frame.crypto(MAX_CRYPTO - 10, Buffer.alloc(10, 1)))]);
    expect(outcomes).toEqual([{ kind: 'need', bytes: expect.any(Number) }]);
    expect(fired).toEqual({});
  });
});

describe('headers at their bounds', () => {
  const [a, b] = cryptoFrames(PQ, 950).map((f, pn) => protectInitial({ dcid: CID, pn, payload: f }));

  it.each([
    ['a 7-byte Retry header after the Initials ends the walk', hex('f0 00000001 00 00')],
    ['a 0-RTT packet of Length 0 after the Initials', Buffer.concat([hex('d1 00000001 08'), CID, hex('00 00')])],
  ])('%s', (_n, tail) => {
    expect(feed([Buffer.concat([a, b, tail])])).toEqual(expect.objectContaining({ outcomes: [DONE], fired: {} }));
  });

  // After authenticated Initials a bad header is counted, the rest of the datagram skipped, and the hello still read.
  it.each([
    ['a Retry header cut inside its Source Connection ID', hex('f0 00000001 00 05 aabb')],
    ['a Retry header cut inside its Destination Connection ID', hex('f0 00000001 08 c0ff')],
    ['a 0-RTT packet cut inside its Length', Buffer.concat([hex('d1 00000001 08'), CID, hex('00 40')])],
    ['an Initial of another connection ID cut inside its Token Length', hex('c0 00000001 08 0102030405060708 00 8000')],
  ])('%s, with nothing after it in the buffer', (_n, tail) => {
    expect(feed([Buffer.concat([a, b, tail])], Buffer.alloc(0))).toEqual(
      expect.objectContaining({ outcomes: [DONE], fired: { 'quic.bad_header': 1 } }),
    );
  });

  it.each([
    ['a 21-byte Destination Connection ID', { dcid: Buffer.alloc(21, 0xd7) }],
    ['a 21-byte Source Connection ID', { scid: Buffer.alloc(21, 0x5c) }],
  ])('an Initial that would decrypt, but with %s, is a bad header', (_n, o) => {
    const pkt = protectInitial({ dcid: CID, pn: 0, payload: frame.crypto(0, PQ.subarray(0, 900)), ...o });
    expect(feed([pkt])).toEqual(
      expect.objectContaining({ outcomes: [invalid('quic.bad_header')], fired: { 'quic.bad_header': 1 } }),
    );
  });

  it('an Initial one byte shorter than its Length is a bad header', () => {
    expect(feed([a.subarray(0, a.length - 1)])).toEqual(
      expect.objectContaining({ outcomes: [invalid('quic.bad_header')], fired: { 'quic.bad_header': 1 } }),
    );
  });

  it('a v2 Initial after a v1 one, under a new Destination Connection ID, opens with the first one’s keys', () => {
    const f = cryptoFrames(PQ, 950);
    const v2 = initial({ pn: 1, payload: f[1], version: QuicVersion.V2, dcid: hex('5e7e4c1d'), keysFrom: CID });
    expect(feed([initial({ pn: 0, payload: f[0] }), v2]).last).toEqual(DONE);
  });

  it('20-byte Destination and Source Connection IDs', () => {
    const pkts = split(PQ, 2, { dcid: Buffer.alloc(20, 0xd7), scid: Buffer.alloc(20, 0x5c) });
    expect(feed(pkts)).toEqual(
      expect.objectContaining({ outcomes: [expect.objectContaining({ kind: 'need' }), DONE] }),
    );
  });

  it('the shortest packet header protection can sample: 20 bytes from the packet number', () => {
    const tiny = protectInitial({ dcid: CID, pn: 0, pnLen: 1, payload: frame.ping() });
    expect(tiny.length).toBe(1 + 4 + 1 + CID.length + 1 + 1 + 2 + 20);
    const rest = cryptoFrames(PQ, 950).map((f, i) => initial({ pn: i + 1, payload: f }));
    const { outcomes, fired, q } = feed([tiny, ...rest]);
    expect(outcomes.map((o) => o?.kind)).toEqual(['need', 'need', 'done']);
    expect([fired, q.packets]).toEqual([{}, 3]);
  });

  it('skips a coalesced packet whose Destination Connection ID is a prefix of the first one', () => {
    const f = cryptoFrames(PQ, 950);
    const prefix = protectInitial({ dcid: CID.subarray(0, 4), keysFrom: CID, pn: 1, payload: f[1] });
    const { outcomes, fired } = feed([Buffer.concat([a, prefix]), b]);
    expect(outcomes.map((o) => o?.kind)).toEqual(['need', 'done']);
    expect(fired).toEqual({});
  });

  it('after an authenticated Initial, a datagram of an unknown version is counted and answers null', () => {
    const other = Buffer.from(b);
    other.writeUInt32BE(0x1a2a3a4a, 1);
    expect(feed([a, other, b])).toEqual(
      expect.objectContaining({
        outcomes: [expect.objectContaining({ kind: 'need' }), null, DONE],
        fired: { 'quic.unknown_version': 1 },
      }),
    );
  });

  it('a datagram of 5 bytes, ending the buffer, is a bad header', () => {
    expect(feed([hex('c0 00000001')], Buffer.alloc(0))).toEqual(
      expect.objectContaining({ outcomes: [invalid('quic.bad_header')], fired: { 'quic.bad_header': 1 } }),
    );
  });

  it.each([
    ['nothing', Buffer.alloc(0)],
    ['junk', Buffer.alloc(9, 0xc3)],
    ['zeros', Buffer.alloc(9)],
  ])('a datagram that ends right after its Destination Connection ID, followed in the buffer by %s', (_n, after) => {
    const cut = Buffer.concat([hex('c0 00000001 08'), CID]);
    expect(feed([cut], after)).toEqual(
      expect.objectContaining({ outcomes: [invalid('quic.bad_header')], fired: { 'quic.bad_header': 1 } }),
    );
  });
});

describe('offsets and lengths outside the buffer', () => {
  const RFC = hex(V1.packet);
  const add = (buf: Buffer, off: number, len: number) => {
    const anomalies = new Anomalies();
    const r = new QuicInitialAssembler().addDatagram(buf, off, len, anomalies);
    return { r, fired: Object.fromEntries(Object.entries(anomalies.toJSON()).filter(([, n]) => n !== 0)) };
  };

  it.each([
    ['a negative offset reads from 0', -3],
    ['a NaN offset reads from 0', Number.NaN],
  ])('%s', (_n, off) => {
    expect(add(RFC, off, RFC.length).r).toMatchObject({ kind: 'done', value: { sni: 'example.com' } });
  });

  it('a length past the buffer is cut to the buffer: a Length past it is a bad header', () => {
    const cut = RFC.subarray(0, 1000);
    expect(add(cut, 0, 5000)).toEqual({ r: invalid('quic.bad_header'), fired: { 'quic.bad_header': 1 } });
    expect(add(RFC, 0, 5000).r).toMatchObject({ kind: 'done' });
    // From an offset: the length is cut to what follows the offset, not to the buffer.
    const shifted = Buffer.concat([Buffer.alloc(7, 0xc3), RFC.subarray(0, RFC.length - 3)]);
    expect(add(shifted, 7, 5000)).toEqual({ r: invalid('quic.bad_header'), fired: { 'quic.bad_header': 1 } });
  });
});
