// The look-ahead's ring (names/quic-ahead.ts): a slot is handed to the
// pipeline only for its own packet, byte for byte; which datagrams count as a
// client Initial (locateFirstInitial); and the pipeline uses what a slot
// holds.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aes128Schedule } from '../../agent/src/names/aes.js';
import { located, locateFirstInitial } from '../../agent/src/names/quic.js';
import { AheadRing, Ctl, MAX_PLAIN, QuicAhead, SLOT_BYTES, SLOTS } from '../../agent/src/names/quic-ahead.js';
import { openAhead } from '../../agent/src/names/quic-ahead-open.js';
import { QuicVersion } from '../../agent/src/names/quic-keys.js';
import { FIXTURES_DIR } from '../support/fixtures.js';
import { scan } from '../support/quic-ahead.js';
import { protectInitial } from '../support/quic-encoder.js';
import { CID, PQ, split } from '../support/quic-flows.js';

const KEYS = {
  key: Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'),
  iv: Buffer.from('101112131415161718191a1b', 'hex'),
  hpKey: Buffer.from('202122232425262728292a2b2c2d2e2f', 'hex'),
};

/** A 60-byte "packet" whose last 16 bytes are its tag. */
function packet(seed: number): Buffer {
  return Buffer.from(Array.from({ length: 60 }, (_, i) => (seed * 31 + i) & 0xff));
}

function fill(ring: AheadRing, n: number, index: number, buf: Buffer, dcid = [1, 2, 3, 4], version = 1): void {
  ring.fill(
    n,
    index,
    buf,
    0,
    buf.length,
    version,
    Uint8Array.from(dcid),
    { key: KEYS.key, iv: KEYS.iv, hp: aes128Schedule(KEYS.hpKey) },
    7 + index,
    Uint8Array.from([index, 9, 9]),
  );
}

describe('the ring: a slot is taken only for its own packet, byte for byte', () => {
  it('hands over keys, packet number and plaintext of a matching slot', () => {
    const ring = AheadRing.create();
    const ahead = new QuicAhead(ring);
    const buf = packet(1);
    fill(ring, 0, 5, buf);
    Atomics.store(ring.ctl, Ctl.WRITTEN, 1);
    ahead.index = 5;
    const got = ahead.take(buf, 0, buf.length, 1, Uint8Array.from([1, 2, 3, 4]));
    expect(got).not.toBeNull();
    expect(got!.keys.key).toEqual(KEYS.key);
    expect(got!.keys.iv).toEqual(KEYS.iv);
    expect(got!.keys.hp).toEqual(aes128Schedule(KEYS.hpKey));
    expect(got!.pn).toBe(12);
    expect([...got!.plain]).toEqual([5, 9, 9]);
    expect(ahead.counters).toEqual({ taken: 1, missed: 0 });
    // Its slot stays until a later packet passes it.
    expect(Atomics.load(ring.ctl, Ctl.TAKEN)).toBe(0);
  });

  const cases: [string, (b: Buffer) => [Buffer, number, number, Uint8Array]][] = [
    ['another version', (b) => [b, b.length, 2, Uint8Array.from([1, 2, 3, 4])]],
    ['another length', (b) => [b, b.length - 1, 1, Uint8Array.from([1, 2, 3, 4])]],
    ['another Connection ID', (b) => [b, b.length, 1, Uint8Array.from([1, 2, 3, 5])]],
    ['a shorter Connection ID', (b) => [b, b.length, 1, Uint8Array.from([1, 2, 3])]],
    [
      'another tag',
      (b) => {
        const c = Buffer.from(b);
        c[c.length - 16] ^= 1;
        return [c, c.length, 1, Uint8Array.from([1, 2, 3, 4])];
      },
    ],
    [
      'another last tag byte',
      (b) => {
        const c = Buffer.from(b);
        c[c.length - 1] ^= 0x80;
        return [c, c.length, 1, Uint8Array.from([1, 2, 3, 4])];
      },
    ],
  ];
  it.each(cases)('refuses a slot for %s (counted as missed)', (_what, vary) => {
    const ring = AheadRing.create();
    const ahead = new QuicAhead(ring);
    const buf = packet(2);
    fill(ring, 0, 3, buf);
    Atomics.store(ring.ctl, Ctl.WRITTEN, 1);
    ahead.index = 3;
    const [b, end, version, dcid] = vary(buf);
    expect(ahead.take(b, 0, end, version, dcid)).toBeNull();
    expect(ahead.counters).toEqual({ taken: 0, missed: 1 });
  });

  it('refuses a slot of a later packet, even one with the same bytes', () => {
    const ring = AheadRing.create();
    const ahead = new QuicAhead(ring);
    const buf = packet(4);
    fill(ring, 0, 8, buf);
    Atomics.store(ring.ctl, Ctl.WRITTEN, 1);
    ahead.index = 7;
    expect(ahead.take(buf, 0, buf.length, 1, Uint8Array.from([1, 2, 3, 4]))).toBeNull();
    ahead.index = 8;
    expect(ahead.take(buf, 0, buf.length, 1, Uint8Array.from([1, 2, 3, 4]))).not.toBeNull();
  });

  it('refuses a slot for a packet of another length that ends in the same tag', () => {
    const ring = AheadRing.create();
    const ahead = new QuicAhead(ring);
    const buf = packet(5);
    fill(ring, 0, 2, buf);
    Atomics.store(ring.ctl, Ctl.WRITTEN, 1);
    ahead.index = 2;
    expect(ahead.take(buf, 1, buf.length, 1, Uint8Array.from([1, 2, 3, 4]))).toBeNull();
  });

  it('passes over slots of packets behind, and answers none for a packet the worker has not reached', () => {
    const ring = AheadRing.create();
    const ahead = new QuicAhead(ring);
    const bufs = [packet(10), packet(11), packet(12)];
    fill(ring, 0, 1, bufs[0]);
    fill(ring, 1, 3, bufs[1]);
    fill(ring, 2, 5, bufs[2]);
    Atomics.store(ring.ctl, Ctl.WRITTEN, 3);
    ahead.index = 4; // packet 4: slots of 1 and 3 let go, 5 kept
    expect(ahead.take(bufs[1], 0, 60, 1, Uint8Array.from([1, 2, 3, 4]))).toBeNull();
    expect(Atomics.load(ring.ctl, Ctl.TAKEN)).toBe(2);
    ahead.index = 5;
    expect(ahead.take(bufs[2], 0, 60, 1, Uint8Array.from([1, 2, 3, 4]))?.pn).toBe(12);
    ahead.index = 9; // beyond everything written
    expect(ahead.take(bufs[2], 0, 60, 1, Uint8Array.from([1, 2, 3, 4]))).toBeNull();
    expect(Atomics.load(ring.ctl, Ctl.TAKEN)).toBe(3);
    expect(ahead.counters).toEqual({ taken: 1, missed: 2 });
  });

  it('wraps around its slots', () => {
    const ring = AheadRing.create();
    const ahead = new QuicAhead(ring);
    for (let n = 0; n < SLOTS * 2 + 3; n++) {
      const buf = packet(n);
      fill(ring, n, 2 * n, buf);
      Atomics.store(ring.ctl, Ctl.WRITTEN, n + 1);
      ahead.index = 2 * n;
      const got = ahead.take(buf, 0, buf.length, 1, Uint8Array.from([1, 2, 3, 4]));
      expect(got?.plain[0]).toBe((2 * n) & 0xff);
    }
    expect(ahead.counters.taken).toBe(SLOTS * 2 + 3);
  });
});

describe('which datagrams the opener takes for a client Initial (locateFirstInitial)', () => {
  const packet = split(PQ, 1)[0]; // DCID CID (8 bytes), no SCID, no token, a 2-byte Length, 1,200 bytes
  const pnOff = 1 + 4 + 1 + 8 + 1 + 1 + 2;

  it('finds a client Initial and where its parts are', () => {
    expect(locateFirstInitial(packet, 0, packet.length)).toBe(true);
    expect({ ...located }).toEqual({
      version: QuicVersion.V1,
      dcidOff: 6,
      dcidLen: 8,
      scidOff: 15,
      scidLen: 0,
      pnOff,
      end: packet.length,
    });
    // Coalesced with more after it, and not at the buffer's start: its own end, its own offsets.
    const two = Buffer.concat([Buffer.alloc(3), packet, Buffer.alloc(40, 0x41)]);
    expect(locateFirstInitial(two, 3, two.length - 3)).toBe(true);
    expect({ ...located }).toEqual({
      version: QuicVersion.V1,
      dcidOff: 9,
      dcidLen: 8,
      scidOff: 18,
      scidLen: 0,
      pnOff: 3 + pnOff,
      end: 3 + packet.length,
    });
  });

  it('finds a QUIC v2 Initial (RFC 9369: other type bits)', () => {
    const v2 = protectInitial({ version: QuicVersion.V2, dcid: CID, pn: 0, payload: Buffer.alloc(40), padTo: 1200 });
    expect(locateFirstInitial(v2, 0, v2.length)).toBe(true);
    expect(located.version).toBe(QuicVersion.V2);
  });

  const edit = (at: number, value: number, cut = packet.length) => {
    const b = Buffer.from(packet.subarray(0, cut));
    if (at >= 0) b[at] = value;
    return b;
  };
  const refused: [string, Buffer][] = [
    ['fewer than 7 bytes', packet.subarray(0, 6)],
    ['a short header', edit(0, packet[0] & 0x7f)],
    ['an unknown version', edit(4, 0x02)],
    ['a Handshake packet', edit(0, (packet[0] & 0xcf) | 0x20)],
    ['a Connection ID over 20 bytes', edit(5, 21)],
    ['a Connection ID running to the end', edit(-1, 0, 14)],
    ['a source Connection ID over 20 bytes', edit(14, 21)],
    ['a source Connection ID past the end', edit(14, 5, 18)],
    ['a token length past the end', edit(15, 0x40, 16)],
    ['a token longer than the datagram', edit(15, 0x3f, 40)],
    ['a Length past the end', edit(-1, 0, 17)],
    ['a Length longer than the datagram', edit(-1, 0, 1100)],
  ];
  it.each(refused)('refuses %s', (_what, b) => {
    expect(locateFirstInitial(b, 0, b.length)).toBe(false);
  });

  it('takes Connection IDs of up to 20 bytes and a token, and refuses Connection IDs of 21 (RFC 9000 §17.2)', () => {
    const made = (o: { dcid?: Buffer; scid?: Buffer; token?: Buffer }) =>
      protectInitial({ dcid: CID, pn: 0, payload: Buffer.alloc(40), padTo: 1200, ...o });
    const twenty = made({ dcid: Buffer.alloc(20, 7), scid: Buffer.alloc(20, 8) });
    expect(locateFirstInitial(twenty, 0, twenty.length)).toBe(true);
    expect([located.dcidLen, located.scidOff, located.scidLen, located.pnOff]).toEqual([
      20,
      27,
      20,
      1 + 4 + 1 + 20 + 1 + 20 + 1 + 2,
    ]);
    const withToken = made({ token: Buffer.alloc(30, 9) });
    expect(locateFirstInitial(withToken, 0, withToken.length)).toBe(true);
    expect(located.pnOff).toBe(1 + 4 + 1 + 8 + 1 + 1 + 30 + 2);
    for (const b of [made({ dcid: Buffer.alloc(21, 7) }), made({ scid: Buffer.alloc(21, 8) })]) {
      expect(locateFirstInitial(b, 0, b.length)).toBe(false);
    }
  });

  it('refuses a datagram one byte shorter than the packet its Length gives', () => {
    expect(locateFirstInitial(packet, 0, packet.length - 1)).toBe(false);
  });

  it('refuses a packet too short to sample for header protection, and takes one just long enough', () => {
    const at = (length: number) => {
      const b = Buffer.from(packet.subarray(0, pnOff + length));
      b.writeUInt16BE(0x4000 | length, pnOff - 2);
      return locateFirstInitial(b, 0, b.length);
    };
    expect(at(19)).toBe(false);
    expect(at(20)).toBe(true);
  });
});

describe('the pipeline uses what the ring holds', () => {
  it('a slot whose plaintext names another server names the flow by it', async () => {
    const input = join(FIXTURES_DIR, 'names/quic-ngtcp2', 'input.pcap');
    const ring = AheadRing.create();
    openAhead(input, ring);
    const plain = await scan(input, undefined);
    const sni = plain.lines.map((l) => JSON.parse(l)).find((e) => e.event_type === 'quic').quic.sni as string;
    // The same name with its first letter changed, in the slot's plaintext only.
    const bytes = ring.bytes.subarray(SLOT_BYTES - MAX_PLAIN, SLOT_BYTES);
    const at = Buffer.from(bytes).indexOf(sni, 0, 'latin1');
    expect(at).toBeGreaterThan(0);
    bytes[at] = sni.charCodeAt(0) === 0x78 ? 0x79 : 0x78;
    const forged = (await scan(input, undefined, new QuicAhead(ring))).lines.map((l) => JSON.parse(l));
    const named = forged.find((e) => e.event_type === 'quic').quic.sni as string;
    expect(named).not.toBe(sni);
    expect(named.slice(1)).toBe(sni.slice(1));
  });
});
