// The pipeline's side of the event ring (event-ring.ts says why and how):
// each event as a record of the facts the pipeline holds, gathered in a batch
// and copied into the ring a batch at a time.

import { IpProto } from '../decode/packet.js';
import { TUNNEL_NAMES } from '../decode/tunnel.js';
import { END_REASON_NAMES, TCP_STATE_NAMES } from '../flow/state.js';
import type { FlowTable } from '../flow/table.js';
import type { FlowApp } from '../names/flow-app.js';
import type { Reason } from '../policy/policy.js';
import {
  ALIGN,
  APP_PROTOS,
  BATCH_BYTES,
  Ctl,
  code,
  ENCRYPTED_DNS,
  type EventRing,
  Kind,
  MAX_RECORD_BYTES,
  NONE,
  NULL_STRING,
  PROTOS,
  REASONS,
  RING_BYTES,
  Tag,
  UTF16,
  VERDICTS,
} from './event-ring.js';
import type { AlertFactsRecord, AlertRecord, AppEventRecord, FlowRecord, ProtoName } from './flow-record.js';
import type { TunnelInfo } from './tunnel.js';

/** A flow with no judgement (never decided): as readFlowRecord() reads it. */
const ALLOWED = code(VERDICTS, 'allowed');
const NO_REASONS: readonly Reason[] = [];

/** The pipeline's side: events as records, gathered in a batch and handed to the ring. */
export class EventProducer {
  // Stryker disable next-line ArithmeticOperator: a smaller first batch buffer only grows sooner (room())
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

  /**
   * A FLOW record read where the flow lies (flow()'s record, without the
   * object: the pipeline's table slot and FlowApp, for EventOutput.flowAt).
   */
  flowAt(t: FlowTable, slot: number, reason: number, app: FlowApp, tunnel: TunnelInfo | null): void {
    this.begin(Kind.FLOW);
    this.facts(app);
    this.strs(app.names());
    const j = app.judgement;
    this.u8(j === null ? ALLOWED : code(VERDICTS, j.verdict));
    this.reasons(j === null ? NO_REASONS : j.reasons);
    this.f64(t.pkts[2 * slot]);
    this.f64(t.pkts[2 * slot + 1]);
    this.f64(t.bytes[2 * slot]);
    this.f64(t.bytes[2 * slot + 1]);
    this.f64(t.firstUs[slot]);
    this.f64(t.lastUs[slot]);
    this.u8(t.proto(slot) === IpProto.TCP ? t.tcpState[slot] : NONE);
    this.u8(reason);
    this.tunnel(tunnel);
    this.end();
  }

  alert(a: AlertRecord): void {
    this.begin(Kind.ALERT);
    this.alertHead(a.tsUs, a.app, a.names, a.severity, a.reasons);
    this.str(a.text);
    this.tunnel(a.tunnel);
    this.end();
  }

  /** An alert whose text the thread makes (describeJudgement): the flow's own names and the rules that matched go instead. */
  alertFacts(a: AlertFactsRecord): void {
    this.begin(Kind.ALERT_FACTS);
    const j = a.judgement;
    this.alertHead(a.tsUs, a.app, a.names, a.severity, j.reasons);
    this.str(a.app.sni);
    this.str(a.app.httpHost);
    const m = j.matched;
    this.str(m.deny_domain ?? null);
    this.str(m.deny_country ?? null);
    this.str(m.deny_as_country ?? null);
    this.str(m.deny_asn ?? null);
    this.tunnel(a.tunnel);
    this.end();
  }

  /** What both kinds of alert record start with. */
  private alertHead(
    tsUs: number,
    app: FlowApp,
    names: readonly string[],
    severity: string,
    reasons: readonly Reason[],
  ): void {
    this.f64(tsUs);
    this.facts(app);
    this.strs(names);
    this.u8(severity === 'high' ? 1 : 0);
    this.reasons(reasons);
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
    // Stryker disable next-line ConditionalExpression,EqualityOperator: handing over an empty batch moves nothing
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
    // Stryker disable next-line ArithmeticOperator: a longer record only carries padding: the thread reads its fields and skips by its length
    let len = this.pos - this.start;
    // Stryker disable next-line ArithmeticOperator: rounding up further only pads
    len = (len + ALIGN - 1) & -ALIGN;
    if (len > MAX_RECORD_BYTES) throw new Error(`event record of ${len} bytes: more than a record may hold`);
    // Stryker disable next-line ArithmeticOperator: reserving more than the padding needs changes no byte written
    this.room(len - (this.pos - this.start));
    this.dv.setUint32(this.start, len, true);
    this.pos = this.start + len;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: when a batch is handed over changes its size, not the records or their order
    if (this.pos >= BATCH_BYTES) this.publish();
  }

  /** The batch into the ring: contiguous, after a pad record if it would not fit before the ring's end. */
  private publish(): void {
    const r = this.ring;
    const n = this.pos;
    let off = this.head & (RING_BYTES - 1);
    // Stryker disable next-line EqualityOperator: a batch that would end exactly at the ring's end padded over instead: the same records, at offset 0
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
      // Stryker disable next-line EqualityOperator: waiting for one byte more room than needed only waits longer
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
    // Stryker disable next-line EqualityOperator: growing a buffer that would just fit changes no byte
    if (this.pos + n <= this.batch.length) return;
    // Stryker disable next-line MethodExpression,ArithmeticOperator: a record is at most MAX_RECORD_BYTES, and every variant still holds the bytes a string can take (room() reserves two a code unit)
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
    // Stryker disable next-line EqualityOperator: one step past the end reads NaN, writes a byte that the next field overwrites
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      // Stryker disable next-line EqualityOperator: DEL (0x7f) as a UTF-16 unit decodes to the same string
      if (c > 0x7f) {
        this.dv.setUint32(this.pos, (n | UTF16) >>> 0, true);
        // Stryker disable next-line EqualityOperator: one unit past the end writes a NaN as 0 where the next field goes
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
  // Stryker disable next-line ConditionalExpression: no event body holds a symbol
  return v !== undefined && typeof v !== 'function' && typeof v !== 'symbol';
}
