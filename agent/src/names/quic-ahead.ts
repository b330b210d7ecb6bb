// QUIC Initial packets opened ahead of the pipeline, on the second core
// (issue 15: "use both cores where it pays"). Deriving a connection's
// Initial keys and decrypting its first Initial is a sixth of a scan of
// gateway-shaped traffic, and it needs nothing the pipeline knows: the keys
// come from the packet's own Destination Connection ID (RFC 9001 §5.2) and
// the first packet number of a flow is read with none before it. So a worker
// (quic-ahead-worker.ts) reads the same capture file, opens every datagram
// that starts with a client Initial, and leaves the keys and plaintext in a
// ring of slots in shared memory, in packet order. The pipeline takes a
// slot when it reaches that packet as a flow's first Initial; it never waits:
// a packet the worker has not reached, could not open, or that does not
// match byte for byte is opened on the pipeline's thread as before, so the
// output is the same whether the worker keeps up, lags, or dies.
//
// Single producer, single consumer: the worker writes slots and advances
// WRITTEN; the pipeline passes over slots of packets behind it and advances
// TAKEN. Once every slot is full the worker waits (Atomics.wait) until half
// are free, and says so in WAITING, so the pipeline wakes it only then.

import { Worker } from 'node:worker_threads';
import type { OpenKeys } from './quic-keys.js';

/** Slots in the ring (a power of two). */
export const SLOTS = 512;
/** A worker that found every slot full goes on once at most this many are. */
export const RESUME_AT = SLOTS / 2;
/** Bytes per slot: a header, then the plaintext (room for a 2,000-byte Initial; a larger one is opened by the pipeline). */
export const SLOT_BYTES = 2304;
const HEADER_BYTES = 288;
/** Largest plaintext a slot holds; a larger packet is opened by the pipeline. */
export const MAX_PLAIN = SLOT_BYTES - HEADER_BYTES;

/** The worker's module, beside this one once built (tests running the sources pass the built one). */
export const WORKER_FILE = new URL('./quic-ahead-worker.js', import.meta.url);

/** Control words (Int32) at the start of the shared buffer. */
export const Ctl = { WRITTEN: 0, TAKEN: 1, STOP: 2, DONE: 3, WAITING: 4, TRIED: 5 } as const;
const CTL_WORDS = 16;
const CTL_BYTES = CTL_WORDS * 4;

// A slot: the packet's index as float64 at byte 0, then int32 fields, then bytes.
const I_PLAIN_LEN = 2; // int32 words from the slot's start (bytes 8…)
const I_PN = 3;
const I_PACKET_LEN = 4;
const I_VERSION = 5;
const I_DCID_LEN = 6;
const B_KEY = 32;
const B_IV = 48;
const B_TAG = 64;
const B_DCID = 80; // up to 20 bytes
/** The header protection key's AES-128 schedule (aes.ts): 44 words. */
const B_HP = 104;
const HP_WORDS = 44;
const TAG = 16;

/** The shared buffer's views, as both sides use them. */
export class AheadRing {
  readonly ctl: Int32Array;
  readonly bytes: Uint8Array;
  readonly words: Int32Array;
  readonly index: Float64Array;

  constructor(readonly sab: SharedArrayBuffer) {
    this.ctl = new Int32Array(sab, 0, CTL_WORDS);
    this.bytes = new Uint8Array(sab, CTL_BYTES, SLOTS * SLOT_BYTES);
    this.words = new Int32Array(sab, CTL_BYTES, (SLOTS * SLOT_BYTES) / 4);
    this.index = new Float64Array(sab, CTL_BYTES, (SLOTS * SLOT_BYTES) / 8);
  }

  static create(): AheadRing {
    return new AheadRing(new SharedArrayBuffer(CTL_BYTES + SLOTS * SLOT_BYTES));
  }

  /**
   * The worker's side: slot `n` (of WRITTEN) filled with packet `index`'s
   * opening; the packet spans buf[start, end), its first Initial under `keys`.
   */
  fill(
    n: number,
    index: number,
    buf: Uint8Array,
    start: number,
    end: number,
    version: number,
    dcid: Uint8Array,
    keys: OpenKeys,
    pn: number,
    plain: Uint8Array,
  ): void {
    const at = (n & (SLOTS - 1)) * SLOT_BYTES;
    const w = at >> 2;
    this.index[at >> 3] = index;
    this.words[w + I_PLAIN_LEN] = plain.length;
    this.words[w + I_PN] = pn;
    this.words[w + I_PACKET_LEN] = end - start;
    this.words[w + I_VERSION] = version;
    this.words[w + I_DCID_LEN] = dcid.length;
    const b = this.bytes;
    b.set(keys.key, at + B_KEY);
    b.set(keys.iv, at + B_IV);
    this.words.set(keys.hp, (at + B_HP) >> 2);
    b.set(buf.subarray(end - TAG, end), at + B_TAG);
    b.set(dcid, at + B_DCID);
    b.set(plain, at + HEADER_BYTES);
  }
}

/** What the pipeline takes from a slot (one object, reused; it and its keys and plaintext, views of the slot, are valid until the next take). */
export interface Taken {
  keys: OpenKeys;
  pn: number;
  plain: Uint8Array;
}

export interface AheadCounters {
  /** First Initials the pipeline took opened from the ring. */
  taken: number;
  /** First Initials it opened itself: the worker had not reached them, could not open them, or they did not match. */
  missed: number;
}

export class QuicAhead {
  /** Index (from 0) of the packet the pipeline is on; the pipeline sets it. */
  index = 0;
  /** Why the worker failed, if it did (the pipeline opened the rest itself). */
  error: Error | null = null;
  readonly counters: AheadCounters = { taken: 0, missed: 0 };
  private taken = 0;
  private readonly out: Taken = {
    keys: { key: Buffer.alloc(0), iv: Buffer.alloc(0), hp: new Int32Array(0) },
    pn: 0,
    plain: new Uint8Array(0),
  };
  private worker: Worker | null = null;
  private up: Promise<void> = Promise.resolve();

  constructor(readonly ring: AheadRing) {}

  /**
   * A worker opening the Initials of capture `file` ahead of a pipeline that
   * reads the same file. `settled` runs once the worker is up and again once
   * it has ended (the caller's V8 flags, which starting a worker resets).
   */
  static start(
    file: string,
    settled: () => void = () => {},
    workerFile: URL = WORKER_FILE,
    waitMs?: number,
  ): QuicAhead {
    const ahead = new QuicAhead(AheadRing.create());
    const worker = new Worker(workerFile, {
      workerData: { file, sab: ahead.ring.sab, waitMs },
      // Its own heap stays small: a read buffer, one packet's opening at a time.
      // Stryker disable next-line ObjectLiteral: only bounds the worker's memory
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 },
    });
    // A worker that fails leaves the ring as it is: the pipeline opens the rest itself.
    worker.on('error', (err) => {
      ahead.error = err;
    });
    worker.on('online', settled);
    worker.on('exit', settled);
    // Held by the event loop until it runs (ready() waits for that), then not: a pipeline that
    // fails or ends early never waits for it.
    ahead.up = new Promise<void>((resolve) => {
      worker.once('online', () => {
        worker.unref();
        resolve();
      });
      // Stryker disable next-line StringLiteral,ArrowFunction: a worker that ends before it runs JavaScript (no thread, no memory); not made to happen here
      worker.once('exit', () => resolve());
    });
    ahead.worker = worker;
    return ahead;
  }

  /** Over a ring that a thread started elsewhere fills (output/event-thread.ts): stop() only tells it to stop. */
  static over(ring: AheadRing): QuicAhead {
    return new QuicAhead(ring);
  }

  /**
   * Resolves once the worker runs (or has ended): then `settled` has run. A
   * caller that allocates much should wait for it first, or its heap grows
   * under V8's default flags meanwhile.
   */
  ready(): Promise<void> {
    return this.up;
  }

  /**
   * The opening of the current packet's Initial at buf[start, end), when the
   * worker left one for it that matches: same version, Connection ID, length
   * and authentication tag. Slots of packets behind this one are let go.
   */
  take(buf: Uint8Array, start: number, end: number, version: number, dcid: Uint8Array): Taken | null {
    const r = this.ring;
    const written = Atomics.load(r.ctl, Ctl.WRITTEN);
    let t = this.taken;
    while (t !== written && r.index[((t & (SLOTS - 1)) * SLOT_BYTES) >> 3] < this.index) t = (t + 1) | 0;
    // Stryker disable next-line ConditionalExpression: storing TAKEN unchanged, and waking nobody, changes nothing
    if (t !== this.taken) {
      this.taken = t;
      Atomics.store(r.ctl, Ctl.TAKEN, t);
      // A worker waits once every slot is full, until half are free again (it looks at TAKEN as
      // it starts to wait, so one about to is not missed): woken once per RESUME_AT slots, not
      // per slot, since each wake-up costs several microseconds here.
      // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator: waking a worker that does not wait, or one slot later, changes no result (only its cost)
      if (Atomics.load(r.ctl, Ctl.WAITING) !== 0 && ((written - t) | 0) <= RESUME_AT) Atomics.notify(r.ctl, Ctl.TAKEN);
    }
    // Stryker disable next-line ConditionalExpression: slot t of an empty ring is one already passed, of an earlier packet: matches() refuses it by its index
    if (t === written || !this.matches(t, buf, start, end, version, dcid)) {
      this.counters.missed++;
      return null;
    }
    const at = (t & (SLOTS - 1)) * SLOT_BYTES;
    const w = at >> 2;
    const b = r.bytes;
    const out = this.out;
    // Views of the slot, not copies: most flows need their keys for this packet only (quic.ts copies
    // them for a flow that goes on). The worker never writes the slot TAKEN points at.
    const sab = r.sab;
    out.keys = {
      key: Buffer.from(sab, CTL_BYTES + at + B_KEY, 16),
      iv: Buffer.from(sab, CTL_BYTES + at + B_IV, 12),
      hp: new Int32Array(sab, CTL_BYTES + at + B_HP, HP_WORDS),
    };
    out.pn = r.words[w + I_PN];
    out.plain = b.subarray(at + HEADER_BYTES, at + HEADER_BYTES + r.words[w + I_PLAIN_LEN]);
    this.counters.taken++;
    return out;
  }

  private matches(t: number, buf: Uint8Array, start: number, end: number, version: number, dcid: Uint8Array): boolean {
    const r = this.ring;
    const at = (t & (SLOTS - 1)) * SLOT_BYTES;
    const w = at >> 2;
    if (r.index[at >> 3] !== this.index) return false;
    if (r.words[w + I_VERSION] !== version || r.words[w + I_PACKET_LEN] !== end - start) return false;
    if (r.words[w + I_DCID_LEN] !== dcid.length) return false;
    const b = r.bytes;
    for (let i = 0; i < dcid.length; i++) if (b[at + B_DCID + i] !== dcid[i]) return false;
    for (let i = 0; i < TAG; i++) if (b[at + B_TAG + i] !== buf[end - TAG + i]) return false;
    return true;
  }

  /** The pipeline is done: the worker stops and its thread ends. */
  async stop(): Promise<void> {
    Atomics.store(this.ring.ctl, Ctl.STOP, 1);
    Atomics.notify(this.ring.ctl, Ctl.TAKEN);
    const w = this.worker;
    this.worker = null;
    if (w !== null) await w.terminate();
  }
}
