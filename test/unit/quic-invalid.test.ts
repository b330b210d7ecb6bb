// Every way the QUIC Initial assembler gives up, each with its anomaly name:
// unknown versions, Initials that do not decrypt, frames an Initial may not
// hold, CRYPTO data past the limit, and headers that do not parse.

import { describe, expect, it } from 'vitest';
import { MAX_CRYPTO } from '../../agent/src/names/quic.js';
import { cryptoFrames, frame, protectInitial } from '../support/quic-encoder.js';
import { CID, feed, initial, PQ, PQ_INFO, split } from '../support/quic-flows.js';
import { hex } from '../support/tls-hello.js';

describe('what cannot be read', () => {
  const good = split(PQ, 2);
  const invalid = (anomaly: string) => ({ kind: 'invalid', anomaly });
  const withVersion = (v: number) => {
    const b = Buffer.from(good[0]);
    b.writeUInt32BE(v >>> 0, 1);
    return b;
  };

  it.each([
    ['version negotiation', 0x00000000],
    ['a GREASE version', 0x1a2a3a4a],
    ['another GREASE version', 0xfafafafa],
    ['draft-29', 0xff00001d],
    ['Google QUIC Q050', 0x51303530],
    ['the v2 draft codepoint', 0x709a50c4],
  ])('an unknown version: %s', (_n, version) => {
    const { q, outcomes, fired } = feed([withVersion(version), good[1]]);
    expect(outcomes).toEqual([invalid('quic.unknown_version'), null]);
    expect(q.version).toBe(version);
    expect(fired).toEqual({ 'quic.unknown_version': 1 });
  });

  it('a first Initial that does not decrypt (wrong keys, altered byte)', () => {
    const altered = Buffer.from(good[0]);
    altered[600] ^= 1;
    for (const bad of [altered, initial({ pn: 0, payload: frame.ping(), keysFrom: hex('0000000000000000') })]) {
      const { outcomes, fired } = feed([bad, good[1]]);
      expect(outcomes).toEqual([invalid('quic.decrypt_failed'), null]);
      expect(fired).toEqual({ 'quic.decrypt_failed': 1 });
    }
  });

  it('a corrupt packet after a good one is counted and skipped; the retransmission completes the hello', () => {
    const altered = Buffer.from(good[1]);
    altered[1100] ^= 0x80;
    const retx = initial({ pn: 5, payload: cryptoFrames(PQ, Math.ceil(PQ.length / 2))[1] });
    const { outcomes, fired } = feed([good[0], altered, retx]);
    expect(outcomes.map((o) => o?.kind)).toEqual(['need', 'need', 'done']);
    expect(fired).toEqual({ 'quic.decrypt_failed': 1 });
  });

  it.each([
    ['a STREAM frame', Buffer.from([0x08, 0x00, 0x01])],
    ['an application CONNECTION_CLOSE (0x1d)', Buffer.from([0x1d, 0x00, 0x00])],
    ['a NEW_TOKEN frame', Buffer.from([0x07, 0x01, 0xaa])],
    ['a truncated CRYPTO frame', Buffer.concat([Buffer.from([0x06, 0x00, 0x44, 0x00]), Buffer.alloc(10)])],
    ['an ACK with more ranges than bytes', Buffer.from([0x02, 0x05, 0x00, 0x7f, 0xff, 0x00])],
  ])('an authenticated Initial holding %s', (_n, frames) => {
    // Enough padding precedes the bad frame that it is the last thing in the packet.
    const pkt = protectInitial({ dcid: CID, pn: 0, payload: Buffer.concat([frame.padding(1100), frames]) });
    expect(feed([pkt])).toMatchObject({ outcomes: [invalid('quic.bad_frame')], fired: { 'quic.bad_frame': 1 } });
  });

  it('a CONNECTION_CLOSE from the client is a frame an Initial may hold', () => {
    const pkt = initial({
      pn: 0,
      payload: Buffer.concat([frame.connectionClose(0x0a, 'bye'), cryptoFrames(PQ, 2000)[0]]),
    });
    expect(feed([pkt]).last).toEqual({ kind: 'done', value: PQ_INFO });
  });

  it(`CRYPTO data beyond ${MAX_CRYPTO} bytes`, () => {
    const pkt = initial({ pn: 0, payload: frame.crypto(MAX_CRYPTO - 10, Buffer.alloc(20, 1)) });
    expect(feed([pkt])).toMatchObject({
      outcomes: [invalid('quic.crypto_overflow')],
      fired: { 'quic.crypto_overflow': 1 },
    });
  });

  it('a ClientHello that is not one', () => {
    const pkt = initial({ pn: 0, payload: frame.crypto(0, hex('02000004 03030000')) });
    expect(feed([pkt])).toMatchObject({ outcomes: [invalid('tls.not_client_hello')] });
  });

  it.each([
    ['a datagram cut inside the header', good[0].subarray(0, 6)],
    ['a datagram cut inside the connection IDs', good[0].subarray(0, 12)],
    ['a 21-byte connection ID', Buffer.concat([hex('c0 00000001 15'), Buffer.alloc(60)])],
    ['a Length past the datagram', good[0].subarray(0, 1000)],
    ['a token length past the datagram', Buffer.concat([hex('c0 00000001 08'), CID, hex('00 7fff'), Buffer.alloc(40)])],
    // No token, Length 16: 16 bytes from the packet number, 20 needed.
    ['a packet too short to sample', Buffer.concat([hex('c0 00000001 08'), CID, hex('00 00 10'), Buffer.alloc(16)])],
  ])('%s', (_n, datagram) => {
    expect(feed([datagram])).toMatchObject({ outcomes: [invalid('quic.bad_header')], fired: { 'quic.bad_header': 1 } });
  });
});
