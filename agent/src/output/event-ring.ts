// The scan's NDJSON lines made on a second thread (issue 15: "use both cores
// where it pays, for example worker_threads for output encoding"). Encoding
// the event lines is a fifth of a scan's time on the pipeline's thread: the
// digits, timestamps, addresses as text, the escaping checks and the bodies'
// objects. Here the pipeline writes each event as a compact record of the
// facts it already holds (numbers, address words, short codes for closed
// sets, strings as they are, a DNS message as its bytes) into a ring in
// shared memory, and the event thread (event-worker.ts) makes the very same
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

import { writeSync } from 'node:fs';
import { Anomalies } from '../decode/anomaly.js';
import { TUNNEL_NAMES } from '../decode/tunnel.js';
import { END_REASON_NAMES, TCP_STATE_NAMES } from '../flow/state.js';
import { dnsEventBody } from '../names/app-events.js';
import { parseDnsMessage } from '../names/dns.js';
import type { EncryptedDns } from '../names/encrypted-dns.js';
import type { AppProto, FlowApp } from '../names/flow-app.js';
import { type Reason, ReasonCode, type Verdict } from '../policy/policy.js';
import { formatIpv4, formatIpv6 } from '../util/ip.js';
import type { AlertRecord, AppEventRecord, FlowRecord, ProtoName } from './flow-record.js';
import { JsonBytes } from './json-bytes.js';
import { type EventFlow, writeAlertEvent, writeAppEvent, writeFlowEvent } from './ndjson.js';
import type { TunnelInfo } from './tunnel.js';

/** The ring's size in bytes (a power of two). */
export const RING_BYTES = 1024 * 1024;
/** The pipeline hands a batch to the ring once it holds this many bytes (and at each input chunk's end). */
export const BATCH_BYTES = 64 * 1024;
/** The thread gives room back after this many bytes, not only at a batch's end. */
const RELEASE_BYTES = 128 * 1024;
/** A thread with nothing to do looks for a new batch this often (ms): the pipeline does not wake it. */
export const POLL_MS = 2;
/** Output is written in pieces of this size. */
const WRITE_BYTES = 64 * 1024;
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
const Kind = { PAD: 0, FLOW: 1, ALERT: 2, APP: 3, DNS: 4, LINE: 5 } as const;
/** Every record starts with its length (u32) and kind (u8), and takes a multiple of 8 bytes. */
const ALIGN = 8;

const PROTOS: readonly ProtoName[] = ['TCP', 'UDP', 'ICMP', 'ICMPv6'];
const APP_PROTOS: readonly (AppProto | null)[] = [null, 'dns', 'tls', 'quic', 'http'];
const VERDICTS: readonly Verdict[] = ['allowed', 'medium', 'high'];
const REASONS: readonly Reason[] = Object.values(ReasonCode);
const ENCRYPTED_DNS: readonly (EncryptedDns | null)[] = [null, 'dot', 'doq', 'doh'];
/** A closed-set value that may be absent (tcp_state). */
const NONE = 0xff;
/** A string's length word for null. */
const NULL_STRING = 0xffffffff;
/** A string's length word's top bit: its code units follow as UTF-16 (any text), not one byte each (ASCII). */
const UTF16 = 0x80000000;

/** Generic values (an app event's body) by tag. */
const Tag = { NULL: 0, FALSE: 1, TRUE: 2, NUMBER: 3, STRING: 4, ARRAY: 5, OBJECT: 6 } as const;

/** The shared buffer's views, as both sides use them. */
export class EventRing {
  readonly ctl: Int32Array;
  readonly bytes: Buffer;
  readonly view: DataView;

  constructor(readonly sab: SharedArrayBuffer) {
    this.ctl = new Int32Array(sab, 0, CTL_BYTES / 4);
    this.bytes = Buffer.from(sab, CTL_BYTES, RING_BYTES);
    this.view = new DataView(sab, CTL_BYTES, RING_BYTES);
  }

  static create(): EventRing {
    return new EventRing(new SharedArrayBuffer(CTL_BYTES + RING_BYTES));
  }
}

function code<T>(table: readonly T[], v: T): number {
  const i = table.indexOf(v);
  if (i < 0) throw new Error(`event record: no code for ${String(v)}`);
  return i;
}

/** The pipeline's side: events as records, gathered in a batch and handed to the ring. */
export class EventProducer {
  private batch = new Uint8Array(2 * BATCH_BYTES);
  private dv = new DataView(this.batch.buffer);
  private pos = 0;
  /** Where the record being written starts in the batch. */
  private start = 0;
  private head = 0;
  /** Times the pipeline found the ring full and waited. */
  waits = 0;

  constructor(readonly ring: EventRing) {}

  flow(r: FlowRecord): void {
    this.begin(Kind.FLOW);
    this.facts(r.app);
    this.strs(r.names);
    this.u8(code(VERDICTS, r.verdict));
    this.reasons(r.reasons);
    this.f64(r.pktsToServer);
    this.f64(r.pktsToClient);
    this.f64(r.bytesToServer);
    this.f64(r.bytesToClient);
    this.f64(r.startUs);
    this.f64(r.endUs);
    this.u8(r.tcpState === null ? NONE : code(TCP_STATE_NAMES, r.tcpState));
    this.u8(code(END_REASON_NAMES, r.endReason));
    this.tunnel(r.tunnel);
    this.end();
  }

  alert(a: AlertRecord): void {
    this.begin(Kind.ALERT);
    this.f64(a.tsUs);
    this.facts(a.app);
    this.strs(a.names);
    this.u8(a.severity === 'high' ? 1 : 0);
    this.reasons(a.reasons);
    this.str(a.text);
    this.tunnel(a.tunnel);
    this.end();
  }

  /** A dns, tls, quic or http event: a DNS message goes as its bytes, any other body as a value. */
  app(e: AppEventRecord): void {
    const dns = e.dns;
    this.begin(dns === null ? Kind.APP : Kind.DNS);
    this.f64(e.tsUs);
    this.tuple(e.app);
    if (dns === null) {
      this.u8(code(APP_PROTOS, e.type));
      this.value(e.body);
    } else {
      this.u32(dns.len);
      this.room(dns.len);
      this.batch.set(dns.buf.subarray(dns.off, dns.off + dns.len), this.pos);
      this.pos += dns.len;
    }
    this.end();
  }

  /** A line made already (capture_gap, lookup events). */
  line(text: string): void {
    this.begin(Kind.LINE);
    this.str(text);
    this.end();
  }

  /** Hand what is gathered to the ring (the end of an input chunk: the lines go out while the next is read). */
  flush(): void {
    if (this.pos > 0) this.publish();
  }

  /** The last batch: the thread writes it and ends. */
  finish(): void {
    this.flush();
    const ctl = this.ring.ctl;
    Atomics.store(ctl, Ctl.DONE, 1);
    Atomics.add(ctl, Ctl.BELL, 1);
    Atomics.notify(ctl, Ctl.BELL);
  }

  private begin(kind: number): void {
    this.start = this.pos;
    this.room(ALIGN);
    this.pos += 4;
    this.batch[this.pos++] = kind;
  }

  private end(): void {
    let len = this.pos - this.start;
    len = (len + ALIGN - 1) & -ALIGN;
    if (len > MAX_RECORD_BYTES) throw new Error(`event record of ${len} bytes: more than a record may hold`);
    this.room(len - (this.pos - this.start));
    this.dv.setUint32(this.start, len, true);
    this.pos = this.start + len;
    if (this.pos >= BATCH_BYTES) this.publish();
  }

  /** The batch into the ring: contiguous, after a pad record if it would not fit before the ring's end. */
  private publish(): void {
    const r = this.ring;
    const n = this.pos;
    let off = this.head & (RING_BYTES - 1);
    const pad = RING_BYTES - off < n ? RING_BYTES - off : 0;
    this.waitForRoom(pad + n);
    if (pad > 0) {
      r.view.setUint32(off, pad, true);
      r.bytes[off + 4] = Kind.PAD;
      this.head = (this.head + pad) | 0;
      off = 0;
    }
    r.bytes.set(this.batch.subarray(0, n), off);
    this.head = (this.head + n) | 0;
    this.pos = 0;
    Atomics.store(r.ctl, Ctl.HEAD, this.head);
    // The thread is not woken: it looks again within POLL_MS. A wake-up per batch cost more than the
    // batch (the woken thread took this one's core: 0.27 s of a 2 M-packet scan).
    Atomics.add(r.ctl, Ctl.BELL, 1);
  }

  private waitForRoom(need: number): void {
    const ctl = this.ring.ctl;
    for (;;) {
      const tail = Atomics.load(ctl, Ctl.TAIL);
      if (((this.head - tail) | 0) + need <= RING_BYTES) return;
      if (Atomics.load(ctl, Ctl.FAILED) !== 0) throw new Error('the event thread failed');
      this.waits++;
      Atomics.store(ctl, Ctl.PIPELINE_WAITING, 1);
      // Returns at once if the thread has taken more since TAIL was read; the timeout only re-checks FAILED.
      Atomics.wait(ctl, Ctl.TAIL, tail, 1000);
      Atomics.store(ctl, Ctl.PIPELINE_WAITING, 0);
    }
  }

  private room(n: number): void {
    if (this.pos + n <= this.batch.length) return;
    const bigger = new Uint8Array(Math.max(2 * this.batch.length, this.pos + n));
    bigger.set(this.batch.subarray(0, this.pos));
    this.batch = bigger;
    this.dv = new DataView(bigger.buffer);
  }

  private u8(v: number): void {
    this.room(1);
    this.batch[this.pos++] = v;
  }

  private u32(v: number): void {
    this.room(4);
    this.dv.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  private i32(v: number): void {
    this.room(4);
    this.dv.setInt32(this.pos, v, true);
    this.pos += 4;
  }

  private f64(v: number): void {
    this.room(8);
    this.dv.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** A string as it is: ASCII a byte a character, anything else as UTF-16 code units (exact for any text). */
  private str(s: string | null): void {
    if (s === null) {
      this.u32(NULL_STRING);
      return;
    }
    const n = s.length;
    this.room(4 + 2 * n);
    const b = this.batch;
    const at = this.pos + 4;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) {
        this.dv.setUint32(this.pos, (n | UTF16) >>> 0, true);
        for (let k = 0; k < n; k++) this.dv.setUint16(at + 2 * k, s.charCodeAt(k), true);
        this.pos = at + 2 * n;
        return;
      }
      b[at + i] = c;
    }
    this.dv.setUint32(this.pos, n, true);
    this.pos = at + n;
  }

  private strs(list: readonly string[]): void {
    this.u32(list.length);
    for (let i = 0; i < list.length; i++) this.str(list[i]);
  }

  private reasons(list: readonly Reason[]): void {
    this.u8(list.length);
    for (let i = 0; i < list.length; i++) this.u8(code(REASONS, list[i]));
  }

  private tuple(a: FlowApp | EventFlowFacts): void {
    this.f64(a.flowId);
    this.u8(a.v6 ? 1 : 0);
    this.i32(a.c0);
    this.i32(a.d0);
    if (a.v6) {
      this.i32(a.c1);
      this.i32(a.c2);
      this.i32(a.c3);
      this.i32(a.d1);
      this.i32(a.d2);
      this.i32(a.d3);
    }
    this.i32(a.srcPort ?? -1);
    this.i32(a.destPort ?? -1);
    this.u8(code(PROTOS, a.proto));
  }

  private facts(a: FlowApp): void {
    this.tuple(a);
    this.u8(code(APP_PROTOS, a.appProto));
    this.str(a.country);
    this.f64(a.asn ?? -1);
    this.str(a.asOrg);
    this.str(a.asCountry);
    this.u8(a.ech ? 1 : 0);
    this.u8(code(ENCRYPTED_DNS, a.encryptedDns));
  }

  private tunnel(t: TunnelInfo | null | undefined): void {
    if (!t) {
      this.u8(NONE);
      return;
    }
    this.u8(code(TUNNEL_NAMES, t.type));
    this.str(t.outerSrcIp);
    this.str(t.outerDestIp);
  }

  /** A JSON value as JsonBytes.value() would write it: members that are undefined (or functions) left out, in arrays null. */
  private value(v: unknown): void {
    switch (typeof v) {
      case 'string':
        this.u8(Tag.STRING);
        this.str(v);
        return;
      case 'number':
        this.u8(Tag.NUMBER);
        this.f64(v);
        return;
      case 'boolean':
        this.u8(v ? Tag.TRUE : Tag.FALSE);
        return;
      case 'object':
        break;
      default:
        this.u8(Tag.NULL);
        return;
    }
    if (v === null) {
      this.u8(Tag.NULL);
      return;
    }
    if (Array.isArray(v)) {
      this.u8(Tag.ARRAY);
      this.u32(v.length);
      for (let i = 0; i < v.length; i++) this.value(v[i]);
      return;
    }
    const o = v as Record<string, unknown>;
    let n = 0;
    for (const k in o) if (isMember(o[k])) n++;
    this.u8(Tag.OBJECT);
    this.u32(n);
    for (const k in o) {
      const m = o[k];
      if (!isMember(m)) continue;
      this.str(k);
      this.value(m);
    }
  }
}

/** The tuple's fields as a FlowApp holds them (the words of both addresses). */
interface EventFlowFacts {
  flowId: number;
  v6: boolean;
  c0: number;
  c1: number;
  c2: number;
  c3: number;
  d0: number;
  d1: number;
  d2: number;
  d3: number;
  srcPort: number | null;
  destPort: number | null;
  proto: ProtoName;
}

function isMember(v: unknown): boolean {
  return v !== undefined && typeof v !== 'function' && typeof v !== 'symbol';
}

/** A flow as the thread makes it again from a record: what the event lines read. */
class RecordFlow implements EventFlow {
  flowId = 0;
  srcIp = '';
  srcPort: number | null = null;
  destIp = '';
  destPort: number | null = null;
  proto: ProtoName = 'TCP';
  appProto: AppProto | null = null;
  country: string | null = null;
  asn: number | null = null;
  asOrg: string | null = null;
  asCountry: string | null = null;
  ech = false;
  encryptedDns: EncryptedDns | null = null;

  hiddenBy(): string[] {
    const by: string[] = [];
    if (this.ech) by.push('ech');
    if (this.encryptedDns !== null) by.push(this.encryptedDns);
    return by;
  }
}

/**
 * The event thread's side: takes records from the ring as they come, makes
 * each line and writes the lines to `fd`, until the pipeline is done and
 * every record is written. Runs on the thread that calls it (event-worker.ts
 * calls it; tests call it on their own thread).
 */
export function drainEvents(ring: EventRing, fd: number): void {
  const c = new EventConsumer(ring, fd);
  c.guard(() => c.run());
}

export class EventConsumer {
  private tail = 0;
  private at = 0;
  private readonly out: JsonBytes;
  private readonly flow = new RecordFlow();
  /** Anomalies of the DNS messages parsed again here: the pipeline counted them already. */
  private readonly anomalies = new Anomalies();
  /** The output's reader went away (EPIPE): the rest is taken and dropped, as LineWriter does. */
  private closed = false;

  constructor(
    private readonly ring: EventRing,
    private readonly fd: number,
  ) {
    this.out = new JsonBytes(Buffer.allocUnsafeSlow(2 * WRITE_BYTES), (out, need) => {
      this.writeOut();
      if (need > out.buf.length) out.buf = Buffer.allocUnsafeSlow(need);
    });
  }

  /** Runs `work`; if it throws, the pipeline is told (FAILED) before the error goes on, so it never waits for room in vain. */
  guard(work: () => void): void {
    try {
      work();
    } catch (err) {
      Atomics.store(this.ring.ctl, Ctl.FAILED, 1);
      Atomics.notify(this.ring.ctl, Ctl.TAIL);
      throw err;
    }
  }

  /** The records handed over so far, without waiting for more (between other work of the thread). */
  poll(): void {
    const head = Atomics.load(this.ring.ctl, Ctl.HEAD);
    if (head !== this.tail) this.take(head);
  }

  /** Every record until the pipeline is done, waiting for each batch. */
  run(): void {
    const ctl = this.ring.ctl;
    for (;;) {
      const bell = Atomics.load(ctl, Ctl.BELL);
      const head = Atomics.load(ctl, Ctl.HEAD);
      if (head !== this.tail) {
        this.take(head);
        continue;
      }
      if (Atomics.load(ctl, Ctl.DONE) !== 0) break;
      // Returns at once if the bell rang since it was read above; woken at the end, or looks again after POLL_MS.
      Atomics.wait(ctl, Ctl.BELL, bell, POLL_MS);
    }
    this.writeOut();
  }

  /** Every record up to `head`, giving room back as it goes. */
  private take(head: number): void {
    const r = this.ring;
    let released = this.tail;
    while (this.tail !== head) {
      const off = this.tail & (RING_BYTES - 1);
      const len = r.view.getUint32(off, true);
      const kind = r.bytes[off + 4];
      if (kind !== Kind.PAD) {
        this.at = off + 5;
        this.line(kind);
        this.out.byte(0x0a);
        if (this.out.pos >= WRITE_BYTES) this.writeOut();
      }
      this.tail = (this.tail + len) | 0;
      if (((this.tail - released) | 0) >= RELEASE_BYTES) {
        this.release();
        released = this.tail;
      }
    }
    this.release();
  }

  private release(): void {
    const ctl = this.ring.ctl;
    Atomics.store(ctl, Ctl.TAIL, this.tail);
    if (Atomics.load(ctl, Ctl.PIPELINE_WAITING) !== 0) Atomics.notify(ctl, Ctl.TAIL);
  }

  private line(kind: number): void {
    const out = this.out;
    switch (kind) {
      case Kind.FLOW: {
        const app = this.facts();
        const names = this.strs();
        const verdict = VERDICTS[this.u8()];
        const reasons = this.reasons();
        const pktsToServer = this.f64();
        const pktsToClient = this.f64();
        const bytesToServer = this.f64();
        const bytesToClient = this.f64();
        const startUs = this.f64();
        const endUs = this.f64();
        const state = this.u8();
        const tcpState = state === NONE ? null : TCP_STATE_NAMES[state];
        const endReason = END_REASON_NAMES[this.u8()];
        const tunnel = this.tunnel();
        writeFlowEvent(out, {
          app,
          names,
          verdict,
          reasons,
          pktsToServer,
          pktsToClient,
          bytesToServer,
          bytesToClient,
          startUs,
          endUs,
          tcpState,
          endReason,
          tunnel,
        });
        return;
      }
      case Kind.ALERT: {
        const tsUs = this.f64();
        const app = this.facts();
        const names = this.strs();
        const severity = this.u8() === 1 ? 'high' : 'medium';
        const reasons = this.reasons();
        const text = this.str() as string;
        const tunnel = this.tunnel();
        writeAlertEvent(out, { tsUs, app, names, severity, reasons, text, tunnel });
        return;
      }
      case Kind.APP: {
        const tsUs = this.f64();
        const app = this.tuple();
        const type = APP_PROTOS[this.u8()] as AppProto;
        const body = this.value() as Record<string, unknown>;
        writeAppEvent(out, { tsUs, app, type, body, dns: null });
        return;
      }
      case Kind.DNS: {
        const tsUs = this.f64();
        const app = this.tuple();
        const len = this.u32();
        const m = parseDnsMessage(this.ring.bytes, this.at, len, this.anomalies);
        // The pipeline parsed these bytes into an event: so do we, with the same code.
        if (m === null) throw new Error('event record: a DNS message that does not parse again');
        writeAppEvent(out, { tsUs, app, type: 'dns', body: dnsEventBody(m), dns: null });
        return;
      }
      case Kind.LINE: {
        const text = this.str() as string;
        out.room(text.length * 3);
        out.pos += out.buf.write(text, out.pos, 'utf8');
        return;
      }
      default:
        throw new Error(`event record of unknown kind ${kind}`);
    }
  }

  private u8(): number {
    return this.ring.bytes[this.at++];
  }

  private u32(): number {
    const v = this.ring.view.getUint32(this.at, true);
    this.at += 4;
    return v;
  }

  private i32(): number {
    const v = this.ring.view.getInt32(this.at, true);
    this.at += 4;
    return v;
  }

  private f64(): number {
    const v = this.ring.view.getFloat64(this.at, true);
    this.at += 8;
    return v;
  }

  private str(): string | null {
    const w = this.u32();
    if (w === NULL_STRING) return null;
    const b = this.ring.bytes;
    if ((w & UTF16) === 0) {
      const s = b.toString('latin1', this.at, this.at + w);
      this.at += w;
      return s;
    }
    const n = (w & ~UTF16) >>> 0;
    const s = b.toString('utf16le', this.at, this.at + 2 * n);
    this.at += 2 * n;
    return s;
  }

  private strs(): string[] {
    const n = this.u32();
    const list: string[] = new Array(n);
    for (let i = 0; i < n; i++) list[i] = this.str() as string;
    return list;
  }

  private reasons(): Reason[] {
    const n = this.u8();
    const list: Reason[] = new Array(n);
    for (let i = 0; i < n; i++) list[i] = REASONS[this.u8()];
    return list;
  }

  /** The tuple into the one RecordFlow (its other fields as the last record left them: only tuple() readers follow). */
  private tuple(): RecordFlow {
    const f = this.flow;
    f.flowId = this.f64();
    const v6 = this.u8() === 1;
    const c0 = this.i32();
    const d0 = this.i32();
    if (v6) {
      const c1 = this.i32();
      const c2 = this.i32();
      const c3 = this.i32();
      const d1 = this.i32();
      const d2 = this.i32();
      const d3 = this.i32();
      f.srcIp = formatIpv6(c0, c1, c2, c3);
      f.destIp = formatIpv6(d0, d1, d2, d3);
    } else {
      f.srcIp = formatIpv4(c0);
      f.destIp = formatIpv4(d0);
    }
    const sp = this.i32();
    const dp = this.i32();
    f.srcPort = sp < 0 ? null : sp;
    f.destPort = dp < 0 ? null : dp;
    f.proto = PROTOS[this.u8()];
    return f;
  }

  private facts(): RecordFlow {
    const f = this.tuple();
    f.appProto = APP_PROTOS[this.u8()];
    f.country = this.str();
    const asn = this.f64();
    f.asn = asn < 0 ? null : asn;
    f.asOrg = this.str();
    f.asCountry = this.str();
    f.ech = this.u8() === 1;
    f.encryptedDns = ENCRYPTED_DNS[this.u8()];
    return f;
  }

  private tunnel(): TunnelInfo | null {
    const t = this.u8();
    if (t === NONE) return null;
    const outerSrcIp = this.str() as string;
    const outerDestIp = this.str() as string;
    return { type: TUNNEL_NAMES[t], outerSrcIp, outerDestIp };
  }

  private value(): unknown {
    switch (this.u8()) {
      case Tag.NULL:
        return null;
      case Tag.FALSE:
        return false;
      case Tag.TRUE:
        return true;
      case Tag.NUMBER:
        return this.f64();
      case Tag.STRING:
        return this.str();
      case Tag.ARRAY: {
        const n = this.u32();
        const list: unknown[] = new Array(n);
        for (let i = 0; i < n; i++) list[i] = this.value();
        return list;
      }
      default: {
        const n = this.u32();
        const o: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) {
          const k = this.str() as string;
          o[k] = this.value();
        }
        return o;
      }
    }
  }

  private writeOut(): void {
    const out = this.out;
    if (!this.closed && !writeAll(this.fd, out.buf, out.pos, this.ring.ctl)) this.closed = true;
    out.pos = 0;
  }
}

/** All of buf[0, len) to fd; an output that is not ready (EAGAIN) is waited for, a reader gone (EPIPE) ends the writing. */
function writeAll(fd: number, buf: Buffer, len: number, ctl: Int32Array): boolean {
  let done = 0;
  while (done < len) {
    try {
      done += writeSync(fd, buf, done, len - done);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') return false;
      if (code !== 'EAGAIN') throw err;
      Atomics.wait(ctl, Ctl.NAP, 0, 1);
    }
  }
  return true;
}
