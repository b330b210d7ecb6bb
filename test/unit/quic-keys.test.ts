// QUIC Initial keys (RFC 9001 §5.2, RFC 9369 §3.3): the client secret for
// Destination Connection IDs of every length checked against node's own
// HKDF (RFC 5869) — also past hkdf.ts's one-block path, which no valid
// Initial takes — and the bounded cache of derived keys (least recently used
// goes first, counted).

import { createHmac, hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../agent/src/decode/anomaly.js';
import { QuicInitialAssembler } from '../../agent/src/names/quic.js';
import {
  clientInitialSecrets,
  initialKeyCacheCounters,
  isKnownQuicVersion,
  KEY_CACHE_SIZE,
  QuicVersion,
} from '../../agent/src/names/quic-keys.js';
import { hex } from '../support/tls-hello.js';

const SALTS: Record<number, string> = {
  [QuicVersion.V1]: '38762cf7f55934b34d179ae6a4c80cadccbb7f0a',
  [QuicVersion.V2]: '0dede3def700a6db819381be6e269dcbf9bd2ed9',
};

/** HKDF-Expand-Label(secret, label, "", length) (RFC 8446 §7.1): RFC 5869 Expand, one block: HMAC(secret, info | 0x01). */
function expandLabel(secret: Buffer, label: string, length: number): string {
  const full = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.concat([Buffer.from([length >> 8, length & 0xff, full.length]), full, Buffer.from([0, 1])]);
  return createHmac('sha256', secret).update(info).digest().subarray(0, length).toString('hex');
}

describe('client Initial secrets for any Destination Connection ID length', () => {
  it.each([
    [QuicVersion.V1, 0],
    [QuicVersion.V1, 8],
    [QuicVersion.V1, 20],
    [QuicVersion.V1, 55], // the longest hkdf.ts hashes in one block
    [QuicVersion.V1, 56],
    [QuicVersion.V1, 100],
    [QuicVersion.V2, 8],
    [QuicVersion.V2, 64],
  ])('version %i, %i-byte DCID: the client secret is HKDF(salt, dcid, "client in")', (version, n) => {
    const dcid = Buffer.alloc(n);
    for (let i = 0; i < n; i++) dcid[i] = (i * 37 + n) & 0xff;
    const s = clientInitialSecrets(version, dcid);
    if (s === null) throw new Error('no secrets');
    const label = Buffer.from('tls13 client in', 'latin1');
    const info = Buffer.concat([Buffer.from([0, 32, label.length]), label, Buffer.from([0])]);
    const want = Buffer.from(hkdfSync('sha256', dcid, hex(SALTS[version]), info, 32));
    expect(s.clientSecret.toString('hex')).toBe(want.toString('hex'));
    const v2 = version === QuicVersion.V2 ? 'quicv2' : 'quic';
    expect(s.key.toString('hex')).toBe(expandLabel(s.clientSecret, `${v2} key`, 16));
    expect(s.iv.toString('hex')).toBe(expandLabel(s.clientSecret, `${v2} iv`, 12));
    expect(s.hp.toString('hex')).toBe(expandLabel(s.clientSecret, `${v2} hp`, 16));
  });

  it.each([
    [QuicVersion.V1, true],
    [QuicVersion.V2, true],
    [QuicVersion.NEGOTIATION, false],
    [0xff00001d, false], // draft-29
    [0x709a50c4, false], // the v2 draft codepoint
  ])('version 0x%s is one it can open: %s', (version, known) => {
    expect(isKnownQuicVersion(version)).toBe(known);
    expect(clientInitialSecrets(version, hex('0102030405060708')) === null).toBe(!known);
  });
});

describe('the Initial key cache', () => {
  /** A datagram that reaches key derivation for `cid` (then fails to decrypt: the keys are made and kept all the same). */
  const probe = (cid: Buffer) => Buffer.concat([hex('c0 00000001 08'), cid, hex('00 00 4020'), Buffer.alloc(32)]);
  const cid = (i: number) => {
    const b = Buffer.alloc(8);
    b.writeUInt32BE(0xcafe0000, 0);
    b.writeUInt32BE(i, 4);
    return b;
  };
  const open = (c: Buffer) => {
    const d = probe(c);
    const anomalies = new Anomalies();
    expect(new QuicInitialAssembler().addDatagram(d, 0, d.length, anomalies)).toEqual({
      kind: 'invalid',
      anomaly: 'quic.decrypt_failed',
    });
  };
  const evictions = () => initialKeyCacheCounters().evictions;

  it(`holds at most ${KEY_CACHE_SIZE} keys, and lets the least recently used go first`, () => {
    for (let i = 0; i < KEY_CACHE_SIZE; i++) open(cid(i)); // now full of these alone
    expect(initialKeyCacheCounters().size).toBe(KEY_CACHE_SIZE);
    const e0 = evictions();
    open(cid(0)); // a hit: cid 0 becomes the most recently used
    expect(evictions()).toBe(e0);
    open(cid(KEY_CACHE_SIZE)); // a miss: cid 1, now the least recently used, goes
    expect(evictions()).toBe(e0 + 1);
    expect(initialKeyCacheCounters().size).toBe(KEY_CACHE_SIZE);
    open(cid(0)); // still held
    expect(evictions()).toBe(e0 + 1);
    open(cid(1)); // gone: made again, pushing out cid 2
    expect(evictions()).toBe(e0 + 2);
    open(cid(3)); // still held
    expect(evictions()).toBe(e0 + 2);
  });
});
