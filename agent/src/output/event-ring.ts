// The scan's NDJSON lines made on a second thread (issue 15: "use both cores
// where it pays, for example worker_threads for output encoding"). Encoding
// the event lines is a fifth of a scan's time on the pipeline's thread: the
// digits, timestamps, addresses as text, the escaping checks and the bodies'
// objects. Here the pipeline writes each event as a compact record of the
// facts it already holds (numbers, address words, short codes for closed
// sets, strings as they are, a DNS message as its bytes) into a ring in
// shared memory (event-producer.ts), and the event thread (event-worker.ts,
// event-consumer.ts) makes the very same
// line from it with the same writers (ndjson.ts) and writes it to the output.
//
// One producer (the pipeline), one consumer (the event thread), records in
// the order the pipeline made them, so the lines come out in the same order
// as when the pipeline writes them itself. Records are gathered in a batch
// and copied into the ring a batch at a time. When the ring is full the
// pipeline waits for room (a slow reader of the output holds the scan back,
// as 'drain' did); when it is empty the thread waits for the next batch.
// Nothing is dropped: the thread writes every record it was given before it
// ends, and the pipeline's stats line comes after that.
//
// Written here because no library encodes such records into shared memory:
// structured clone (postMessage) copies each object with a per-message cost
// larger than the line it would save.

import type { EncryptedDns } from '../names/encrypted-dns.js';
import type { AppProto } from '../names/flow-app.js';
import { type Reason, ReasonCode, type Verdict } from '../policy/policy.js';
import type { ProtoName } from './flow-record.js';

/** The ring's size in bytes (a power of two). */
export const RING_BYTES = 1024 * 1024;
/** The pipeline hands a batch to the ring once it holds this many bytes (and at each input chunk's end). */
export const BATCH_BYTES = 64 * 1024;
/** The thread gives room back after this many bytes, not only at a batch's end. */
export const RELEASE_BYTES = 128 * 1024;
/** A thread with nothing to do looks for a new batch this often (ms): the pipeline does not wake it. */
export const POLL_MS = 2;
/** Output is written in pieces of this size. */
export const WRITE_BYTES = 64 * 1024;
/** A record may be at most this large; the largest possible is a DNS-over-TCP message of 65,535 bytes with its tuple. */
export const MAX_RECORD_BYTES = RING_BYTES / 4;

/** Control words (Int32) before the ring's bytes. */
export const Ctl = {
  /** Bytes the pipeline has put in the ring (counted modulo 2^32). */
  HEAD: 0,
  /** Bytes the thread has taken out. */
  TAIL: 1,
  /** Rung (incremented) by the pipeline at each batch and at the end: the thread waits on it. */
  BELL: 2,
  /** The pipeline has handed over its last batch. */
  DONE: 3,
  PIPELINE_WAITING: 4,
  /** The thread failed (its error goes to the pipeline's side as the worker's 'error'). */
  FAILED: 5,
  /** Never changed: the thread sleeps on it between writes to an output that is not ready. */
  NAP: 6,
} as const;
const CTL_BYTES = 64;

/** Record kinds (the byte after a record's length). */
export const Kind = { PAD: 0, FLOW: 1, ALERT: 2, APP: 3, DNS: 4, LINE: 5, ALERT_FACTS: 6 } as const;
/** Every record starts with its length (u32) and kind (u8), and takes a multiple of 8 bytes. */
export const ALIGN = 8;

export const PROTOS: readonly ProtoName[] = ['TCP', 'UDP', 'ICMP', 'ICMPv6'];
export const APP_PROTOS: readonly (AppProto | null)[] = [null, 'dns', 'tls', 'quic', 'http'];
export const VERDICTS: readonly Verdict[] = ['allowed', 'medium', 'high'];
export const REASONS: readonly Reason[] = Object.values(ReasonCode);
export const ENCRYPTED_DNS: readonly (EncryptedDns | null)[] = [null, 'dot', 'doq', 'doh'];
/** A closed-set value that may be absent (tcp_state). */
export const NONE = 0xff;
/** A string's length word for null. */
export const NULL_STRING = 0xffffffff;
/** A string's length word's top bit: its code units follow as UTF-16 (any text), not one byte each (ASCII). */
export const UTF16 = 0x80000000;

/** Generic values (an app event's body) by tag. */
export const Tag = { NULL: 0, FALSE: 1, TRUE: 2, NUMBER: 3, STRING: 4, ARRAY: 5, OBJECT: 6 } as const;

/** The shared buffer's views, as both sides use them. */
export class EventRing {
  readonly ctl: Int32Array;
  readonly bytes: Buffer;
  readonly view: DataView;

  constructor(readonly sab: SharedArrayBuffer) {
    // Stryker disable next-line ArithmeticOperator: a longer view of the same words (only the first seven are used)
    this.ctl = new Int32Array(sab, 0, CTL_BYTES / 4);
    this.bytes = Buffer.from(sab, CTL_BYTES, RING_BYTES);
    this.view = new DataView(sab, CTL_BYTES, RING_BYTES);
  }

  static create(): EventRing {
    return new EventRing(new SharedArrayBuffer(CTL_BYTES + RING_BYTES));
  }
}

export function code<T>(table: readonly T[], v: T): number {
  const i = table.indexOf(v);
  if (i < 0) throw new Error(`event record: no code for ${String(v)}`);
  return i;
}
