// QUIC Initials opened ahead of the pipeline by a worker thread
// (names/quic-ahead.ts): the ring's matching rules, and scans with and
// without the worker on the real-client QUIC fixtures and on a generated
// gateway-shaped capture (more Initials than the ring has slots, so it wraps
// and the worker waits for the pipeline). The output is the same whether the
// worker keeps up, lags or cannot read its file; what it opened is counted.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureReader } from '../../agent/src/capture/reader.js';
import { aes128Schedule } from '../../agent/src/names/aes.js';
import { located, locateFirstInitial } from '../../agent/src/names/quic.js';
import { AheadRing, Ctl, MAX_PLAIN, QuicAhead, SLOT_BYTES, SLOTS } from '../../agent/src/names/quic-ahead.js';
import { openAhead } from '../../agent/src/names/quic-ahead-open.js';
import { QuicVersion } from '../../agent/src/names/quic-keys.js';
import { alertEventLine, appEventLine, flowEventLine } from '../../agent/src/output/ndjson.js';
import { ScanPipeline } from '../../agent/src/pipeline.js';
import type { Policy } from '../../agent/src/policy/policy.js';
import { ethernet, ipPacket, pcapFile, udpDatagram } from '../support/builders.js';
import { EGRESS_BIN, ROOT } from '../support/cli.js';
import { FIXTURES_DIR } from '../support/fixtures.js';
import { gatewayCapture } from '../support/gateway-capture.js';
import { protectInitial } from '../support/quic-encoder.js';
import { CID, PQ, split } from '../support/quic-flows.js';

/** The built worker: the sources here run under vitest, the worker runs as plain JavaScript. */
const WORKER = pathToFileURL(join(ROOT, 'agent/dist/names/quic-ahead-worker.js'));

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

interface Scan {
  lines: string[];
  quicEvents: number;
}

function scan(file: string, policy: Policy | undefined, quicAhead?: QuicAhead): Promise<Scan> {
  const lines: string[] = [];
  let quicEvents = 0;
  const p = new ScanPipeline(
    {
      flow: (r) => lines.push(flowEventLine(r)),
      alert: (a) => lines.push(alertEventLine(a)),
      app: (e) => {
        if (e.type === 'quic') quicEvents++;
        lines.push(appEventLine(e));
      },
    },
    { policy, quicAhead },
  );
  const capture = readFileSync(file);
  const reader = new CaptureReader(p, p.anomalies);
  // Chunks unlike the worker's (1 MiB): packets are numbered the same however the file is cut.
  for (let off = 0; off < capture.length; off += 65_536) reader.push(capture.subarray(off, off + 65_536));
  expect(reader.end()).toBeNull();
  return p.finish().then(() => ({ lines, quicEvents }));
}

/** Until the worker has read its whole file, or filled every slot. */
async function workerAhead(ahead: QuicAhead): Promise<void> {
  const ctl = ahead.ring.ctl;
  for (let i = 0; i < 4000; i++) {
    if (Atomics.load(ctl, Ctl.DONE) !== 0) return;
    if (((Atomics.load(ctl, Ctl.WRITTEN) - Atomics.load(ctl, Ctl.TAKEN)) | 0) >= SLOTS) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('the worker neither finished nor filled the ring in 20 s');
}

async function withWorker(file: string, policy?: Policy, workerFile = file) {
  let settled = 0;
  const ahead = QuicAhead.start(workerFile, () => settled++, WORKER);
  try {
    await ahead.ready();
    if (workerFile === file) await workerAhead(ahead);
    return { ...(await scan(file, policy, ahead)), counters: { ...ahead.counters } };
  } finally {
    await ahead.stop();
    // Called when the worker came up (if it did) and when it ended.
    expect(settled).toBeGreaterThanOrEqual(1);
  }
}

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

describe('a scan with the worker gives what a scan without it gives', () => {
  const fixtures = ['names/quic-chromium', 'names/quic-ngtcp2', 'names/quic-silent'];

  it.each(fixtures)('%s (a real client): every first Initial opened ahead, the same events', async (name) => {
    const input = join(FIXTURES_DIR, name, 'input.pcap');
    const plain = await scan(input, undefined);
    const ahead = await withWorker(input);
    expect(ahead.lines).toEqual(plain.lines);
    expect(plain.quicEvents).toBeGreaterThan(0);
    expect(ahead.counters).toEqual({ taken: plain.quicEvents, missed: 0 });
  });

  const dir = mkdtempSync(join(tmpdir(), 'egress-ahead-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('on a gateway-shaped capture with more Initials than slots: the same events', async () => {
    const { pcap, policy } = gatewayCapture(60_000, 300);
    const plain = await scan(pcap, policy);
    const ahead = await withWorker(pcap, policy);
    expect(ahead.lines).toEqual(plain.lines);
    expect(plain.quicEvents).toBeGreaterThan(SLOTS);
    // Each QUIC flow's first Initial was asked for once: opened ahead, or (the worker behind) here.
    expect(ahead.counters.taken + ahead.counters.missed).toBe(plain.quicEvents);
    expect(ahead.counters.taken).toBeGreaterThan(0);
  });

  it('when the worker cannot read its file: the same events, every Initial opened here', async () => {
    const input = join(FIXTURES_DIR, 'names/quic-chromium', 'input.pcap');
    const plain = await scan(input, undefined);
    const ahead = await withWorker(input, undefined, join(dir, 'no-such.pcap'));
    expect(ahead.lines).toEqual(plain.lines);
    expect(ahead.counters).toEqual({ taken: 0, missed: plain.quicEvents });
  });

  it('egress scan with and without it (EGRESS_SCAN_LOOKAHEAD=1 / 0): the same output', () => {
    const input = join(FIXTURES_DIR, 'names/quic-ngtcp2', 'input.pcap');
    const run = (v: string) =>
      spawnSync('node', [EGRESS_BIN, 'scan', input, '--format', 'ndjson'], {
        encoding: 'utf8',
        env: { ...process.env, EGRESS_SCAN_LOOKAHEAD: v },
      });
    const on = run('1');
    const off = run('0');
    expect(on.status, on.stderr).toBe(0);
    expect(off.status, off.stderr).toBe(0);
    expect(on.stdout).toContain('"event_type":"quic"');
    expect(on.stdout).toBe(off.stdout);
  });
});

describe('which datagrams the opener takes for a client Initial (locateFirstInitial)', () => {
  const packet = split(PQ, 1)[0]; // DCID CID (8 bytes), no SCID, no token, a 2-byte Length, 1,200 bytes
  const pnOff = 1 + 4 + 1 + 8 + 1 + 1 + 2;

  it('finds a client Initial and where its parts are', () => {
    expect(locateFirstInitial(packet, 0, packet.length)).toBe(true);
    expect({ ...located }).toEqual({ version: QuicVersion.V1, dcidOff: 6, dcidLen: 8, pnOff, end: packet.length });
    // Coalesced with more after it, and not at the buffer's start: its own end, its own offsets.
    const two = Buffer.concat([Buffer.alloc(3), packet, Buffer.alloc(40, 0x41)]);
    expect(locateFirstInitial(two, 3, two.length - 3)).toBe(true);
    expect({ ...located }).toEqual({
      version: QuicVersion.V1,
      dcidOff: 9,
      dcidLen: 8,
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
    expect([located.dcidLen, located.pnOff]).toEqual([20, 1 + 4 + 1 + 20 + 1 + 20 + 1 + 2]);
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

  it('when every slot is full it waits, says so, and goes on once half are free', async () => {
    const file = write('full.pcap', initials(3));
    const ring = AheadRing.create();
    // Every slot looks taken by packets the pipeline has not passed: TAKEN as far behind as it can be.
    Atomics.store(ring.ctl, Ctl.TAKEN, -SLOTS);
    const h = helper(
      ring,
      `setTimeout(() => { ctl[8] = Atomics.load(ctl, ${Ctl.WAITING}); Atomics.store(ctl, ${Ctl.TAKEN}, -${SLOTS / 2}); Atomics.notify(ctl, ${Ctl.TAKEN}); }, 200);`,
    );
    await new Promise((r) => h.once('online', r));
    openAhead(file, ring, 60_000); // blocks this thread until the helper frees half
    await h.terminate();
    expect(Atomics.load(ring.ctl, 8)).toBe(1); // it said it waited
    expect(Atomics.load(ring.ctl, Ctl.WAITING)).toBe(0);
    expect(Atomics.load(ring.ctl, Ctl.WRITTEN)).toBe(3);
  });

  it('stops waiting, and writes nothing more, once told to stop', async () => {
    const file = write('stop.pcap', initials(3));
    const ring = AheadRing.create();
    Atomics.store(ring.ctl, Ctl.TAKEN, -SLOTS);
    const h = helper(
      ring,
      `setTimeout(() => { Atomics.store(ctl, ${Ctl.STOP}, 1); Atomics.notify(ctl, ${Ctl.TAKEN}); }, 200);`,
    );
    await new Promise((r) => h.once('online', r));
    openAhead(file, ring, 60_000);
    await h.terminate();
    expect(Atomics.load(ring.ctl, Ctl.WRITTEN)).toBe(0);
    expect(Atomics.load(ring.ctl, Ctl.DONE)).toBe(1);
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

describe('starting the worker', () => {
  /** Until `done()` holds (the worker's events come on this thread's event loop), at most 10 s. */
  async function until(done: () => boolean): Promise<void> {
    for (let i = 0; i < 2000 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
  }

  it('settles once it runs and once it has ended, and records why it failed', async () => {
    let settled = 0;
    const ahead = QuicAhead.start('/nonexistent/capture.pcap', () => settled++, WORKER);
    await ahead.ready();
    expect(settled).toBe(1);
    await until(() => settled === 2);
    expect(settled).toBe(2);
    expect((ahead.error as NodeJS.ErrnoException | null)?.code).toBe('ENOENT');
    await ahead.stop();
  });

  it('stop() ends a worker that waits for free slots', async () => {
    const { pcap } = gatewayCapture(60_000, 300);
    let settled = 0;
    const ahead = QuicAhead.start(pcap, () => settled++, WORKER, 60_000);
    await ahead.ready();
    await workerAhead(ahead); // every slot full: it waits (a minute at a time)
    await ahead.stop();
    expect(Atomics.load(ahead.ring.ctl, Ctl.STOP)).toBe(1);
    await until(() => settled === 2);
    expect(settled).toBe(2);
  });

  it('ready() resolves for a worker that never runs', async () => {
    const ahead = QuicAhead.start('/tmp/x.pcap', () => {}, pathToFileURL(join(ROOT, 'no-such-worker.js')));
    await ahead.ready();
    await until(() => ahead.error !== null);
    expect(ahead.error).not.toBeNull();
    await ahead.stop();
  });

  it('wakes a waiting worker: it fills the ring again and again (its own waits last a minute)', async () => {
    const { pcap, policy } = gatewayCapture(60_000, 300);
    const ahead = QuicAhead.start(pcap, () => {}, WORKER, 60_000);
    await ahead.ready();
    await workerAhead(ahead);
    const r = await scan(pcap, policy, ahead);
    await ahead.stop();
    expect(r.quicEvents).toBeGreaterThan(2 * SLOTS);
    // More than one ringful: the pipeline woke the worker once half was free (a worker never woken
    // would have slept a minute after its first ringful). Not all of them: on a loaded machine the
    // worker may fall behind for a while, and the pipeline then opens those Initials itself.
    expect(ahead.counters.taken).toBeGreaterThan(SLOTS);
  });
});
