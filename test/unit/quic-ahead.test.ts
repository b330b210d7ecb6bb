// QUIC Initials opened ahead of the pipeline by a worker thread
// (names/quic-ahead.ts): the ring's matching rules, and scans with and
// without the worker on the real-client QUIC fixtures and on a generated
// gateway-shaped capture (more Initials than the ring has slots, so it wraps
// and the worker waits for the pipeline). The output is the same whether the
// worker keeps up, lags or cannot read its file; what it opened is counted.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureReader } from '../../agent/src/capture/reader.js';
import { aes128Schedule } from '../../agent/src/names/aes.js';
import { AheadRing, Ctl, QuicAhead, SLOTS } from '../../agent/src/names/quic-ahead.js';
import { openAhead } from '../../agent/src/names/quic-ahead-open.js';
import { alertEventLine, appEventLine, flowEventLine } from '../../agent/src/output/ndjson.js';
import { ScanPipeline } from '../../agent/src/pipeline.js';
import { loadPolicy } from '../../agent/src/policy/load.js';
import type { Policy } from '../../agent/src/policy/policy.js';
import { EGRESS_BIN, ROOT } from '../support/cli.js';
import { FIXTURES_DIR } from '../support/fixtures.js';

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
    KEYS,
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
    const pcap = join(dir, 'gw.pcap');
    const yaml = join(dir, 'gw.yaml');
    const gen = spawnSync(
      'node',
      [`${ROOT}scripts/bench-lib/gateway.mjs`, pcap, '--packets', '60000', '--clients', '300', '--policy', yaml],
      { encoding: 'utf8' },
    );
    expect(gen.status, gen.stderr).toBe(0);
    const policy = loadPolicy({ file: yaml });
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
