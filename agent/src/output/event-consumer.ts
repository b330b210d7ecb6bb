// The event thread's side of the event ring (event-ring.ts says why and
// how): each record made into its line with the pipeline's own writers
// (ndjson.ts), the lines written to the output a piece at a time.

import { writeSync } from 'node:fs';
import { Anomalies } from '../decode/anomaly.js';
import { TUNNEL_NAMES } from '../decode/tunnel.js';
import { END_REASON_NAMES, TCP_STATE_NAMES } from '../flow/state.js';
import { parseDnsMessage } from '../names/dns.js';
import type { EncryptedDns } from '../names/encrypted-dns.js';
import { type AppProto, hiddenByOf } from '../names/flow-app.js';
import type { Reason } from '../policy/policy.js';
import type { Judgement } from '../policy/verdict.js';
import { formatIpv4, formatIpv6 } from '../util/ip.js';
import { describeJudgement } from './describe.js';
import {
  APP_PROTOS,
  Ctl,
  ENCRYPTED_DNS,
  type EventRing,
  Kind,
  NONE,
  NULL_STRING,
  POLL_MS,
  PROTOS,
  REASONS,
  RELEASE_BYTES,
  RING_BYTES,
  Tag,
  UTF16,
  VERDICTS,
  WRITE_BYTES,
} from './event-ring.js';
import type { ProtoName } from './flow-record.js';
import { JsonBytes } from './json-bytes.js';
import { appEventHead, type EventFlow, writeAlertEvent, writeDnsEvent, writeFlowEvent } from './ndjson.js';
import type { TunnelInfo } from './tunnel.js';

/** A flow as the thread makes it again from a record: what the event lines read. */
class RecordFlow implements EventFlow {
  flowId = 0;
  // Stryker disable next-line StringLiteral: set from every record before any line reads it
  srcIp = '';
  srcPort: number | null = null;
  // Stryker disable next-line StringLiteral: set from every record before any line reads it
  destIp = '';
  destPort: number | null = null;
  proto: ProtoName = 'TCP';
  appProto: AppProto | null = null;
  country: string | null = null;
  asn: number | null = null;
  asOrg: string | null = null;
  asCountry: string | null = null;
  // Stryker disable next-line BooleanLiteral: set from every flow and alert record; app lines do not read it
  ech = false;
  encryptedDns: EncryptedDns | null = null;
  /** The flow's own names, for an alert's text (set from ALERT_FACTS records only). */
  sni: string | null = null;
  httpHost: string | null = null;

  hiddenBy(): string[] {
    return hiddenByOf(this.ech, this.encryptedDns);
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
    // Stryker disable next-line ArithmeticOperator: a smaller first buffer is flushed and replaced as needed (makeRoom)
    this.out = new JsonBytes(Buffer.allocUnsafeSlow(2 * WRITE_BYTES), (out, need) => {
      this.writeOut();
      // Stryker disable next-line ConditionalExpression,EqualityOperator: a new buffer when the old one would do changes no byte
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
    // Stryker disable next-line ConditionalExpression: taking from an empty ring takes nothing
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
        // Stryker disable next-line ConditionalExpression,EqualityOperator: when a piece is written changes the writes' sizes, not the bytes (JsonBytes flushes when full)
        if (this.out.pos >= WRITE_BYTES) this.writeOut();
      }
      this.tail = (this.tail + len) | 0;
      // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator,BlockStatement: giving room back sooner or only at the batch's end changes when the pipeline may go on, not what is written
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
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a pipeline waiting for room looks again within a second unwoken; waking one that does not wait costs only time
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
      case Kind.ALERT:
      case Kind.ALERT_FACTS: {
        const tsUs = this.f64();
        const app = this.facts();
        const names = this.strs();
        const severity = this.u8() === 1 ? 'high' : 'medium';
        const reasons = this.reasons();
        // An ALERT carries its text; an ALERT_FACTS what the text is made from, here.
        let text: string | null = null;
        let matched: Judgement['matched'] = {};
        if (kind === Kind.ALERT) text = this.str() as string;
        else {
          app.sni = this.str();
          app.httpHost = this.str();
          matched = this.matched();
        }
        const tunnel = this.tunnel();
        text ??= describeJudgement(app, names, { reasons, matched }, tunnel);
        writeAlertEvent(out, { tsUs, app, names, severity, reasons, text, tunnel });
        return;
      }
      case Kind.APP: {
        const tsUs = this.f64();
        const app = this.tuple();
        const type = APP_PROTOS[this.u8()] as AppProto;
        // The body goes from its record straight into the line, as out.value() writes the value it stands for.
        appEventHead(out, tsUs, type, app);
        this.copyValue();
        out.byte(0x7d);
        return;
      }
      case Kind.DNS: {
        const tsUs = this.f64();
        const app = this.tuple();
        const len = this.u32();
        const m = parseDnsMessage(this.ring.bytes, this.at, len, this.anomalies);
        // The pipeline parsed these bytes into an event: so do we, with the same code.
        if (m === null) throw new Error('event record: a DNS message that does not parse again');
        writeDnsEvent(out, tsUs, app, m);
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
    // Stryker disable next-line ArrayDeclaration: an array made to length or grown gives the same list
    const list: string[] = new Array(n);
    for (let i = 0; i < n; i++) list[i] = this.str() as string;
    return list;
  }

  private reasons(): Reason[] {
    const n = this.u8();
    // Stryker disable next-line ArrayDeclaration: an array made to length or grown gives the same list
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

  /** The deny rules that matched, as a judgement holds them (the producer wrote each, or null). */
  private matched(): Judgement['matched'] {
    const m: Judgement['matched'] = {};
    const domain = this.str();
    const country = this.str();
    const asCountry = this.str();
    const asn = this.str();
    if (domain !== null) m.deny_domain = domain;
    if (country !== null) m.deny_country = country;
    if (asCountry !== null) m.deny_as_country = asCountry;
    if (asn !== null) m.deny_asn = asn;
    return m;
  }

  private tunnel(): TunnelInfo | null {
    const t = this.u8();
    if (t === NONE) return null;
    const outerSrcIp = this.str() as string;
    const outerDestIp = this.str() as string;
    return { type: TUNNEL_NAMES[t], outerSrcIp, outerDestIp };
  }

  /**
   * A value record into the line: the bytes out.value() writes for the value
   * the producer took it from (event-producer.ts wrote the members it keeps,
   * in their order), with no object made for it.
   */
  private copyValue(): void {
    const out = this.out;
    switch (this.u8()) {
      case Tag.NULL:
        out.raw('null');
        return;
      case Tag.FALSE:
        out.raw('false');
        return;
      case Tag.TRUE:
        out.raw('true');
        return;
      case Tag.NUMBER:
        out.num(this.f64());
        return;
      case Tag.STRING:
        this.copyStr();
        return;
      case Tag.ARRAY: {
        const n = this.u32();
        out.byte(0x5b);
        for (let i = 0; i < n; i++) {
          if (i > 0) out.byte(0x2c);
          this.copyValue();
        }
        out.byte(0x5d);
        return;
      }
      default: {
        const n = this.u32();
        out.byte(0x7b);
        for (let i = 0; i < n; i++) {
          if (i > 0) out.byte(0x2c);
          this.copyStr();
          out.byte(0x3a);
          this.copyValue();
        }
        out.byte(0x7d);
      }
    }
  }

  /** A string record into the line as out.str() writes its text: ASCII that needs no escaping goes as its bytes. */
  private copyStr(): void {
    const w = this.ring.view.getUint32(this.at, true);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: `false`, `w === NULL_STRING` and `true` for `w !== NULL_STRING` only send strings to str(), which writes the same text (NULL_STRING has the UTF16 bit: it never takes the shortcut); the other variants fail the event tests
    if (w !== NULL_STRING && (w & UTF16) === 0 && this.out.asciiStr(this.ring.bytes, this.at + 4, w)) {
      this.at += 4 + w;
      return;
    }
    this.out.str(this.str());
  }

  private writeOut(): void {
    const out = this.out;
    // Stryker disable next-line BooleanLiteral: after EPIPE every further write fails the same way and is dropped; closed only spares the attempts
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
      // Stryker disable next-line BooleanLiteral: answered as written, the next pieces are tried and fail the same way (closed only spares that)
      if (code === 'EPIPE') return false;
      if (code !== 'EAGAIN') throw err;
      Atomics.wait(ctl, Ctl.NAP, 0, 1);
    }
  }
  return true;
}
