// QUIC Initial keys and packet protection against the sample packets of
// RFC 9001 and RFC 9369 Appendix A: the key schedule, the client Initial
// opened and its ClientHello read, and the test protector rebuilding the RFC
// packets byte for byte.

import { describe, expect, it } from 'vitest';
import { clientInitialSecrets, QuicVersion } from '../../agent/src/names/quic-keys.js';
import { protectInitial } from '../support/quic-encoder.js';
import { feed } from '../support/quic-flows.js';
import { RFC_CRYPTO_FRAME, RFC_DCID, V1, V2 } from '../support/quic-vectors.js';
import { hex } from '../support/tls-hello.js';

const DCID = hex(RFC_DCID);
const RFC_HELLO = {
  sni: 'example.com',
  alpn: ['alpn'],
  ech: false,
  legacyVersion: 0x0303,
  supportedVersions: [0x0304],
};

describe('RFC 9001 and RFC 9369 Appendix A', () => {
  it.each([
    ['v1 (RFC 9001 A.1)', QuicVersion.V1, V1],
    ['v2 (RFC 9369 A.1)', QuicVersion.V2, V2],
  ])('derives the client Initial secrets and keys, %s', (_n, version, v) => {
    const s = clientInitialSecrets(version, DCID)!;
    expect({
      initialSecret: s.initialSecret.toString('hex'),
      clientSecret: s.clientSecret.toString('hex'),
      key: s.key.toString('hex'),
      iv: s.iv.toString('hex'),
      hp: s.hp.toString('hex'),
    }).toEqual({ initialSecret: v.initialSecret, clientSecret: v.clientSecret, key: v.key, iv: v.iv, hp: v.hp });
  });

  it.each([
    ['v1 (RFC 9001 A.2)', QuicVersion.V1, V1],
    ['v2 (RFC 9369 A.2)', QuicVersion.V2, V2],
  ])('opens the client Initial and reads example.com from its ClientHello, %s', (_n, version, v) => {
    const packet = hex(v.packet);
    expect(packet.length).toBe(1200);
    const { q, outcomes, fired } = feed([packet]);
    expect(outcomes).toEqual([{ kind: 'done', value: RFC_HELLO }]);
    expect(q.version).toBe(version);
    expect(q.packets).toBe(1);
    expect(fired).toEqual({});
  });

  it.each([
    ['v1', QuicVersion.V1, V1],
    ['v2', QuicVersion.V2, V2],
  ])('our test protector rebuilds the RFC packet byte for byte, %s', (_n, version, v) => {
    const payload = Buffer.concat([hex(RFC_CRYPTO_FRAME), Buffer.alloc(1162 - hex(RFC_CRYPTO_FRAME).length)]);
    const packet = protectInitial({ version, dcid: DCID, pn: 2, pnLen: 4, payload });
    expect(packet.toString('hex')).toBe(v.packet);
    // Version, connection IDs, token and Length: the header bytes that header protection leaves alone.
    expect(packet.subarray(1, 18).toString('hex')).toBe(v.header.slice(2, 36));
  });
});
