// The look-ahead's opener (names/quic-ahead-open.ts), run on the test's own
// thread as the worker runs it: a slot per client Initial datagram, at its
// packet index, none for what is no client Initial or does not fit; waiting
// while every slot is full and stopping when told (a helper thread plays the
// pipeline).

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { AheadRing, Ctl, MAX_PLAIN, QuicAhead, SLOT_BYTES, SLOTS } from '../../agent/src/names/quic-ahead.js';
import { openAhead } from '../../agent/src/names/quic-ahead-open.js';
import { ethernet, ipPacket, pcapFile, udpDatagram } from '../support/builders.js';
import { FIXTURES_DIR } from '../support/fixtures.js';
import { gatewayCapture } from '../support/gateway-capture.js';
import { scan } from '../support/quic-ahead.js';
import { protectInitial } from '../support/quic-encoder.js';
import { CID, PQ, split } from '../support/quic-flows.js';

/** Client Initial datagrams in each fixture (tshark: quic.long.packet_type == 0 from the client). */
const INITIAL_DATAGRAMS: Record<string, number> = {
  'names/quic-chromium': 2,
  'names/quic-ngtcp2': 1,
  'names/quic-silent': 3,
};

describe('the opener, run on this thread (what the worker runs)', () => {
  it.each(['names/quic-chromium', 'names/quic-ngtcp2', 'names/quic-silent'])(
    '%s: a slot per client Initial datagram, the first of each flow taken',
    async (name) => {
      const input = join(FIXTURES_DIR, name, 'input.pcap');
      const ring = AheadRing.create();
      openAhead(input, ring);
      expect(Atomics.load(ring.ctl, Ctl.DONE)).toBe(1);
      const plain = await scan(input, undefined);
      // Every client Initial that starts a datagram (retransmissions and a ClientHello's second packet too).
      expect(Atomics.load(ring.ctl, Ctl.WRITTEN)).toBe(INITIAL_DATAGRAMS[name]);
      const ahead = new QuicAhead(ring);
      const withRing = await scan(input, undefined, ahead);
      expect(withRing.lines).toEqual(plain.lines);
      expect(ahead.counters).toEqual({ taken: plain.quicEvents, missed: 0 });
    },
  );

  it('opens nothing of look-alikes and of a version it cannot open (tunnel/quic-lookalikes)', async () => {
    const input = join(FIXTURES_DIR, 'tunnel/quic-lookalikes', 'input.pcap');
    const ring = AheadRing.create();
    openAhead(input, ring);
    expect(Atomics.load(ring.ctl, Ctl.WRITTEN)).toBe(0);
    expect(Atomics.load(ring.ctl, Ctl.DONE)).toBe(1);
    const ahead = new QuicAhead(ring);
    expect((await scan(input, undefined, ahead)).lines).toEqual((await scan(input, undefined)).lines);
  });

  it('reads nothing once told to stop, and stops at input that is no capture', () => {
    const input = join(FIXTURES_DIR, 'names/quic-ngtcp2', 'input.pcap');
    const stopped = AheadRing.create();
    Atomics.store(stopped.ctl, Ctl.STOP, 1);
    openAhead(input, stopped);
    expect(Atomics.load(stopped.ctl, Ctl.WRITTEN)).toBe(0);
    expect(Atomics.load(stopped.ctl, Ctl.DONE)).toBe(1);
    const junk = AheadRing.create();
    openAhead(join(FIXTURES_DIR, 'names/quic-ngtcp2', 'README.md'), junk);
    expect(Atomics.load(junk.ctl, Ctl.WRITTEN)).toBe(0);
    expect(Atomics.load(junk.ctl, Ctl.DONE)).toBe(1);
  });
});

describe('the opener, in detail', () => {
  const dir = mkdtempSync(join(tmpdir(), 'egress-opener-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const ends = { src: '10.1.0.2', dst: '203.0.113.9' };
  const datagram = (payload: Buffer, sport = 50000) =>
    ethernet(ipPacket(ends, udpDatagram({ ...ends, sport, dport: 443, payload })));
  const write = (name: string, payloads: Buffer[]) => {
    const file = join(dir, name);
    writeFileSync(file, pcapFile(payloads.map((p, i) => ({ tsUs: 1_700_000_000_000_000 + i * 1000, data: p }))));
    return file;
  };

  it('on a capture over one read (1 MiB): a slot per Initial at its packet index, and the same scan', async () => {
    const { pcap, policy } = gatewayCapture(4000, 50);
    expect(readFileSync(pcap).length).toBeGreaterThan(1024 * 1024);
    const ring = AheadRing.create();
    openAhead(pcap, ring);
    const written = Atomics.load(ring.ctl, Ctl.WRITTEN);
    expect(written).toBeGreaterThan(10);
    expect(written).toBeLessThan(SLOTS);
    const indexes = Array.from({ length: written }, (_, n) => ring.index[(n * SLOT_BYTES) / 8]);
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
    expect(indexes[0]).toBeGreaterThan(0);
    const plain = await scan(pcap, policy);
    const ahead = new QuicAhead(ring);
    expect((await scan(pcap, policy, ahead)).lines).toEqual(plain.lines);
    expect(ahead.counters).toEqual({ taken: plain.quicEvents, missed: 0 });
  });

  it("does not try a server's Initial to a client it opened, nor a first Initial's too-short Connection ID", () => {
    const scid = Buffer.from('5c1d5c1d5c1d5c1d', 'hex');
    const client = protectInitial({ dcid: CID, scid, pn: 0, payload: Buffer.alloc(40), padTo: 1200 });
    // A server's Initial: to the client's address and port, with the client's Source Connection ID.
    const reply = (dport: number) =>
      ethernet(
        ipPacket(
          { src: ends.dst, dst: ends.src },
          udpDatagram({
            src: ends.dst,
            dst: ends.src,
            sport: 443,
            dport,
            payload: protectInitial({ dcid: scid, pn: 0, payload: Buffer.alloc(40), padTo: 1200 }),
          }),
        ),
      );
    const short = protectInitial({ dcid: Buffer.alloc(7, 3), pn: 0, payload: Buffer.alloc(40), padTo: 1200 });
    const ring = AheadRing.create();
    openAhead(
      write('server.pcap', [datagram(client, 50010), reply(50010), reply(50011), datagram(short, 50012)]),
      ring,
    );
    // Tried: the client's Initial, and the reply to another port (it could be another client's).
    expect(Atomics.load(ring.ctl, Ctl.TRIED)).toBe(2);
    expect([...ring.index.subarray(0, 1)]).toEqual([0]);
  });

  it('takes no TCP segment and no datagram whose plaintext would not fit a slot', () => {
    const hello = split(PQ, 1)[0];
    const tcp = ethernet(
      ipPacket(ends, {
        proto: 6,
        bytes: Buffer.concat([Buffer.from('c35000bb000000000000000050180000', 'hex'), Buffer.alloc(4), hello]),
      }),
    );
    const big = protectInitial({ dcid: CID, pn: 0, payload: Buffer.alloc(40), padTo: 2100 });
    const fits = protectInitial({ dcid: CID, pn: 0, payload: Buffer.alloc(40), padTo: 1900 });
    const ring = AheadRing.create();
    openAhead(write('odd.pcap', [tcp, datagram(big, 50001), datagram(fits, 50002)]), ring);
    expect(Atomics.load(ring.ctl, Ctl.WRITTEN)).toBe(1);
    expect(ring.index[0]).toBe(2);
  });

  it('takes a plaintext that just fits a slot, and not one byte more', () => {
    // 18 header bytes, a 4-byte packet number, the plaintext, a 16-byte tag.
    const room = protectInitial({ dcid: CID, pn: 0, payload: Buffer.alloc(40), padTo: 18 + 4 + MAX_PLAIN + 16 });
    const over = protectInitial({ dcid: CID, pn: 0, payload: Buffer.alloc(40), padTo: 18 + 4 + MAX_PLAIN + 17 });
    const ring = AheadRing.create();
    openAhead(write('room.pcap', [datagram(over, 50003), datagram(room, 50004)]), ring);
    expect(Atomics.load(ring.ctl, Ctl.WRITTEN)).toBe(1);
    expect(ring.index[0]).toBe(1);
    expect(ring.words[2]).toBe(MAX_PLAIN);
  });

  it('closes the file it read', () => {
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    openAhead(join(FIXTURES_DIR, 'names/quic-chromium', 'input.pcap'), AheadRing.create());
    expect(fds()).toBe(before);
  });

  /** Runs `code` on a helper thread with the ring's buffer as `sab` (the pipeline's side, played by it). */
  function helper(ring: AheadRing, code: string): Worker {
    return new Worker(
      `const { workerData: { sab } } = require('node:worker_threads'); const ctl = new Int32Array(sab, 0, 16); ${code}`,
      { eval: true, workerData: { sab: ring.sab } },
    );
  }
  const initials = (n: number) =>
    Array.from({ length: n }, (_, i) =>
      datagram(split(PQ, 1, { dcid: Buffer.from([i, i, i, i, 1, 2, 3, 4]) })[0], 40000 + i),
    );

  /**
   * Opens three Initials into a ring whose every slot looks taken by packets the pipeline has not
   * passed (TAKEN as far behind as it can be); after 200 ms a helper thread runs `then` and wakes
   * the opener, which this thread runs meanwhile (blocked while it waits).
   */
  async function openWithFullRing(name: string, then: string): Promise<AheadRing> {
    const file = write(name, initials(3));
    const ring = AheadRing.create();
    Atomics.store(ring.ctl, Ctl.TAKEN, -SLOTS);
    const h = helper(ring, `setTimeout(() => { ${then} Atomics.notify(ctl, ${Ctl.TAKEN}); }, 200);`);
    await new Promise((r) => h.once('online', r));
    openAhead(file, ring, 60_000);
    await h.terminate();
    return ring;
  }

  it('when every slot is full it waits, says so, and goes on once half are free', async () => {
    const ring = await openWithFullRing(
      'full.pcap',
      `ctl[8] = Atomics.load(ctl, ${Ctl.WAITING}); Atomics.store(ctl, ${Ctl.TAKEN}, -${SLOTS / 2});`,
    );
    expect(Atomics.load(ring.ctl, 8)).toBe(1); // it said it waited
    expect(Atomics.load(ring.ctl, Ctl.WAITING)).toBe(0);
    expect(Atomics.load(ring.ctl, Ctl.WRITTEN)).toBe(3);
  });

  it("runs the thread's other work (meanwhile) every 64 packets", () => {
    let calls = 0;
    openAhead(write('meanwhile.pcap', initials(130)), AheadRing.create(), 1, () => calls++);
    expect(calls).toBe(3); // packets 0, 64 and 128
  });

  it('runs the other work while it waits for free slots, not only between packets', () => {
    const ring = AheadRing.create();
    Atomics.store(ring.ctl, Ctl.TAKEN, -SLOTS); // every slot full, and nobody to take one
    let calls = 0;
    openAhead(write('meanwhile-full.pcap', initials(3)), ring, 1, () => {
      // The event lines drained here are what lets the pipeline go on and free slots: told to stop after a few.
      if (++calls === 6) Atomics.store(ring.ctl, Ctl.STOP, 1);
    });
    expect(calls).toBe(6);
    expect(Atomics.load(ring.ctl, Ctl.WRITTEN)).toBe(0);
  });

  it('stops waiting, and writes nothing more, once told to stop', async () => {
    const ring = await openWithFullRing('stop.pcap', `Atomics.store(ctl, ${Ctl.STOP}, 1);`);
    expect(Atomics.load(ring.ctl, Ctl.WRITTEN)).toBe(0);
    expect(Atomics.load(ring.ctl, Ctl.DONE)).toBe(1);
  });
});
