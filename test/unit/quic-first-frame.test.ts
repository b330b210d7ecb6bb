// A flow's first CRYPTO frame at offset 0 is read where it lies (names/quic.ts,
// QuicInitialAssembler): the outcome is the one reassembly gives, whatever
// frames come after it (in the same packet, in later ones, again, empty);
// and what a datagram lends for the moment (its plaintext, the look-ahead's
// keys: views of a ring slot the worker fills again) is copied when the
// ClientHello needs another datagram.

import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../agent/src/decode/anomaly.js';
import { aes128Schedule } from '../../agent/src/names/aes.js';
import {
  located,
  locateFirstInitial,
  openedPn,
  openInitialPacket,
  QuicInitialAssembler,
} from '../../agent/src/names/quic.js';
import { AheadRing, Ctl, QuicAhead } from '../../agent/src/names/quic-ahead.js';
import { clientInitialSecrets } from '../../agent/src/names/quic-keys.js';
import { cryptoFrames, frame } from '../support/quic-encoder.js';
import { CID, feed, initial, PQ, PQ_INFO, split } from '../support/quic-flows.js';
import { clientHello } from '../support/tls-hello.js';

const SMALL = clientHello({ sni: 'a.example', alpn: ['h3'], versions: [0x0304] });
const OTHER = clientHello({ sni: 'b.example', alpn: ['h3'], versions: [0x0304] });
const SMALL_INFO = { sni: 'a.example', alpn: ['h3'], ech: false, legacyVersion: 0x0303, supportedVersions: [0x0304] };

describe('the first CRYPTO frame, read in place', () => {
  it('a whole ClientHello in one frame at offset 0: decided from it', () => {
    expect(OTHER.length).toBe(SMALL.length);
    const { outcomes, fired } = feed([initial({ pn: 0, payload: frame.crypto(0, SMALL) })]);
    expect(outcomes).toEqual([{ kind: 'done', value: SMALL_INFO }]);
    expect(fired).toEqual({});
  });

  it('the first copy of a byte wins over a later frame at offset 0 in the same packet', () => {
    const payload = Buffer.concat([frame.crypto(0, SMALL), frame.ping(), frame.crypto(0, OTHER)]);
    expect(feed([initial({ pn: 0, payload })]).outcomes).toEqual([{ kind: 'done', value: SMALL_INFO }]);
    // And in the other order, the other name: the frame read in place came first.
    const swapped = Buffer.concat([frame.crypto(0, OTHER), frame.crypto(0, SMALL)]);
    expect(feed([initial({ pn: 0, payload: swapped })]).last).toMatchObject({ value: { sni: 'b.example' } });
  });

  it('a frame after it in the same packet carries on from where it ends', () => {
    const [a, b] = cryptoFrames(PQ, 1000);
    const { outcomes, fired } = feed([initial({ pn: 0, payload: Buffer.concat([a, b]), padTo: 2400 })]);
    expect(outcomes).toEqual([{ kind: 'done', value: PQ_INFO }]);
    expect(fired).toEqual({});
  });

  it('a frame past a hole before it: the hole filled by the offset-0 frame', () => {
    const [a, b] = cryptoFrames(PQ, 1000);
    const { outcomes } = feed([initial({ pn: 0, payload: Buffer.concat([b, a]), padTo: 2400 })]);
    expect(outcomes).toEqual([{ kind: 'done', value: PQ_INFO }]);
  });

  it('an empty frame at offset 0 first, then the ClientHello', () => {
    const payload = Buffer.concat([frame.crypto(0, Buffer.alloc(0)), frame.crypto(0, SMALL)]);
    expect(feed([initial({ pn: 0, payload })]).outcomes).toEqual([{ kind: 'done', value: SMALL_INFO }]);
  });

  it('half a ClientHello in place, the rest in the next datagram; again from the start after that', () => {
    const { outcomes, fired } = feed(split(PQ, 2));
    expect(outcomes.map((o) => o?.kind)).toEqual(['need', 'done']);
    expect(outcomes[1]).toEqual({ kind: 'done', value: PQ_INFO });
    expect(fired).toEqual({});
    // The second datagram starting at offset 0 again (a retransmission of the first half, then the rest).
    const [first] = split(PQ, 2);
    const again = feed([first, initial({ pn: 1, payload: frame.crypto(0, PQ), padTo: 2400 })]);
    expect(again.outcomes[1]).toEqual({ kind: 'done', value: PQ_INFO });
  });
});

/** A look-ahead ring whose slot 0 holds datagram `d` opened as the worker opens it: a flow's first Initial, under its own Connection ID. */
function openedAhead(d: Buffer): { ring: AheadRing; ahead: QuicAhead } {
  const ring = AheadRing.create();
  expect(locateFirstInitial(d, 0, d.length)).toBe(true);
  const s = clientInitialSecrets(1, CID)!;
  const keys = { key: s.key, iv: s.iv, hp: aes128Schedule(s.hp) };
  const plain = openInitialPacket(d, 0, located.pnOff, located.end, keys, -1);
  if (typeof plain === 'string') throw new Error(plain);
  ring.fill(0, 0, d, 0, located.end, 1, CID, keys, openedPn, plain);
  Atomics.store(ring.ctl, Ctl.WRITTEN, 1);
  return { ring, ahead: new QuicAhead(ring) };
}

describe('what the look-ahead lends a flow that needs another datagram', () => {
  it('the keys and the first half are kept when the worker fills the slot again', () => {
    const [d1, d2] = split(PQ, 2);
    const { ring, ahead } = openedAhead(d1);

    const q = new QuicInitialAssembler(ahead);
    const anomalies = new Anomalies();
    ahead.index = 0;
    expect(q.addDatagram(d1, 0, d1.length, anomalies)).toEqual({ kind: 'need', bytes: expect.any(Number) });
    expect(ahead.counters).toEqual({ taken: 1, missed: 0 });
    // The worker writes that slot again for a later packet: every byte of it changes.
    ring.bytes.fill(0xee);
    ahead.index = 1;
    expect(q.addDatagram(d2, 0, d2.length, anomalies)).toEqual({ kind: 'done', value: PQ_INFO });
    expect(Object.values(anomalies.toJSON()).every((n) => n === 0)).toBe(true);
    expect(q.packets).toBe(2);
  });

  it('a flow decided by its first datagram keeps nothing of the slot, and needs nothing more', () => {
    const d = initial({ pn: 0, payload: frame.crypto(0, SMALL) });
    const { ring, ahead } = openedAhead(d);
    const q = new QuicInitialAssembler(ahead);
    expect(q.addDatagram(d, 0, d.length, new Anomalies())).toEqual({ kind: 'done', value: SMALL_INFO });
    ring.bytes.fill(0xee);
    expect(q.outcome).toEqual({ kind: 'done', value: SMALL_INFO });
    expect(q.addDatagram(d, 0, d.length, new Anomalies())).toBeNull();
  });
});
