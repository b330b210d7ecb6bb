// Bounded flow table (after Suricata's src/flow-hash.c): a chained hash over
// normalised keys, state in fixed typed arrays sized by `maxFlows`, so memory
// is decided at start and never grows with the input. Each flow sits on one
// LRU list per timeout class, ordered by last activity, so idle expiry only
// ever looks at list tails. When the table is full, idle flows go first,
// then the least recently active one; every eviction is counted.

import { randomInt } from 'node:crypto';
import { IpProto, type Packet, TcpFlag } from '../decode/packet.js';
import { KEY_WORDS, KeyBuilder } from './key.js';
import { DEFAULT_TIMEOUTS, EndReason, type FlowTimeouts, nextTcpState, TcpState, TimeoutClass } from './state.js';

export interface FlowTableOptions {
  maxFlows?: number;
  timeouts?: Partial<FlowTimeouts>;
}

/** Receives every flow exactly once, when it ends; reads it through the table's accessors during the call. */
export interface FlowEndSink {
  flowEnded(table: FlowTable, slot: number, reason: number): void;
}

export const DEFAULT_MAX_FLOWS = 262_144;
const NONE = -1;
const CLASSES = 5;
const EXPIRY_INTERVAL_US = 1_000_000;

export class FlowTable {
  readonly maxFlows: number;
  readonly keys: Int32Array;
  readonly id: Float64Array;
  readonly firstUs: Float64Array;
  readonly lastUs: Float64Array;
  /** Packets and bytes, index 2*slot = client→server, 2*slot+1 = server→client. */
  readonly pkts: Float64Array;
  readonly bytes: Float64Array;
  /** 1 when endpoint A of the key is the client. */
  readonly clientIsA: Uint8Array;
  readonly tcpState: Uint8Array;
  /** Bit 0: FIN from client, bit 1: FIN from server. */
  readonly finSeen: Uint8Array;
  private readonly cls: Uint8Array;
  private readonly chainNext: Int32Array;
  private readonly hashes: Uint32Array;
  private readonly buckets: Int32Array;
  private readonly bucketMask: number;
  private readonly lruPrev: Int32Array;
  private readonly lruNext: Int32Array;
  private readonly head = new Int32Array(CLASSES).fill(NONE);
  private readonly tail = new Int32Array(CLASSES).fill(NONE);
  private readonly timeoutUs = new Float64Array(CLASSES);
  /** Slots freed by ended flows, reused first; then `fresh`, the lowest slot never used. */
  private readonly freeSlots: Int32Array;
  private freeTop = 0;
  private fresh = 0;
  private readonly key: KeyBuilder;
  private nextExpiryUs = 0;
  /** Set by update(): the flow was created by this packet, and the packet went client→server. */
  // Stryker disable next-line BooleanLiteral: update() sets it before it is read
  lastCreated = false;
  // Stryker disable next-line BooleanLiteral: update() sets it before it is read
  lastToServer = false;

  /** Counters, all cumulative except `active`. */
  readonly counters = {
    created: 0,
    active: 0,
    activeMax: 0,
    endedClosed: 0,
    endedTimeout: 0,
    endedPortReuse: 0,
    endedEndOfInput: 0,
    evictedLru: 0,
  };

  constructor(
    private readonly sink: FlowEndSink,
    options: FlowTableOptions = {},
  ) {
    const max = options.maxFlows ?? DEFAULT_MAX_FLOWS;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxFlows must be a positive integer, got ${max}`);
    this.maxFlows = max;
    this.keys = new Int32Array(max * KEY_WORDS);
    this.id = new Float64Array(max);
    this.firstUs = new Float64Array(max);
    this.lastUs = new Float64Array(max);
    this.pkts = new Float64Array(max * 2);
    this.bytes = new Float64Array(max * 2);
    this.clientIsA = new Uint8Array(max);
    this.tcpState = new Uint8Array(max);
    this.finSeen = new Uint8Array(max);
    this.cls = new Uint8Array(max);
    this.chainNext = new Int32Array(max);
    this.hashes = new Uint32Array(max);
    this.lruPrev = new Int32Array(max);
    this.lruNext = new Int32Array(max);
    let nb = 1;
    // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: the bucket count changes chain lengths (speed), not which flow a key finds
    while (nb < max * 2) nb <<= 1;
    this.buckets = new Int32Array(nb).fill(NONE);
    this.bucketMask = nb - 1;
    this.freeSlots = new Int32Array(max);
    const t = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.timeoutUs[TimeoutClass.TCP_NEW] = t.tcpNew * 1e6;
    this.timeoutUs[TimeoutClass.TCP_ESTABLISHED] = t.tcpEstablished * 1e6;
    this.timeoutUs[TimeoutClass.TCP_CLOSED] = t.tcpClosed * 1e6;
    this.timeoutUs[TimeoutClass.UDP] = t.udp * 1e6;
    this.timeoutUs[TimeoutClass.OTHER] = t.other * 1e6;
    this.key = new KeyBuilder(randomInt(0x7fffffff));
  }

  /** Account one decoded packet; returns its flow's slot. */
  update(p: Packet, buf: Buffer, wireLen: number, tsUs: number): number {
    if (tsUs >= this.nextExpiryUs) {
      this.expireIdle(tsUs);
      this.nextExpiryUs = tsUs + EXPIRY_INTERVAL_US;
    }
    const key = this.key;
    key.build(p, buf);
    let slot = this.lookup(key.words, key.hash);
    // Stryker disable next-line ConditionalExpression: with no slot, lastUs[-1] and tcpState[-1] are undefined and neither test holds
    if (slot !== NONE) {
      const stale = tsUs - this.lastUs[slot] > this.timeoutUs[this.cls[slot]];
      const reuse =
        // Stryker disable next-line ConditionalExpression: only a TCP flow is ever CLOSED
        p.proto === IpProto.TCP &&
        this.tcpState[slot] === TcpState.CLOSED &&
        (p.tcpFlags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN;
      if (stale || reuse) {
        // Past its grace a closed connection ends as closed, as the sweep (expireIdle) ends it.
        const idle = this.cls[slot] === TimeoutClass.TCP_CLOSED ? EndReason.CLOSED : EndReason.TIMEOUT;
        this.end(slot, stale ? idle : EndReason.PORT_REUSE);
        slot = NONE;
      }
    }
    this.lastCreated = slot === NONE;
    if (slot === NONE) slot = this.create(p, key, tsUs);
    const toServer = key.srcIsA === (this.clientIsA[slot] === 1);
    this.lastToServer = toServer;
    const dir = toServer ? 0 : 1;
    this.pkts[2 * slot + dir]++;
    this.bytes[2 * slot + dir] += wireLen;
    // Stryker disable next-line EqualityOperator: on equal times the same value is stored
    if (tsUs > this.lastUs[slot]) this.lastUs[slot] = tsUs;
    let cls = this.cls[slot];
    if (p.proto === IpProto.TCP) {
      if (p.tcpFlags & TcpFlag.FIN) this.finSeen[slot] |= toServer ? 1 : 2;
      const st = nextTcpState(this.tcpState[slot], p.tcpFlags, this.finSeen[slot]);
      this.tcpState[slot] = st;
      cls =
        st === TcpState.CLOSED
          ? TimeoutClass.TCP_CLOSED
          : st >= TcpState.ESTABLISHED
            ? TimeoutClass.TCP_ESTABLISHED
            : TimeoutClass.TCP_NEW;
    }
    this.touch(slot, cls);
    return slot;
  }

  /** End every flow idle for longer than its class timeout at `nowUs`. */
  expireIdle(nowUs: number): void {
    // Stryker disable next-line EqualityOperator: class index 5 reads undefined (no list there)
    for (let c = 0; c < CLASSES; c++) {
      const limit = this.timeoutUs[c];
      // Stryker disable next-line ConditionalExpression: lastUs[-1] is undefined, so the idle test also stops at the end of the list
      for (let s = this.tail[c]; s !== NONE && nowUs - this.lastUs[s] > limit; s = this.tail[c]) {
        this.end(s, c === TimeoutClass.TCP_CLOSED ? EndReason.CLOSED : EndReason.TIMEOUT);
      }
    }
  }

  /**
   * End of input: the open flows, in the order they began. End them with
   * `endAtEndOfInput`, in batches if the output needs to breathe between them.
   */
  openFlowsInOrder(): Int32Array | number[] {
    const n = this.counters.active;
    // Sorted as numbers, without a compare function: id and slot packed into one exact double.
    const span = 2 ** Math.ceil(Math.log2(this.maxFlows + 1));
    // Stryker disable next-line ConditionalExpression,EqualityOperator,BlockStatement: the unpacked path gives the same order (tested with ids too large to pack), only slower; the product is even, never equal
    if (this.counters.created * span < Number.MAX_SAFE_INTEGER) {
      const packed = new Float64Array(n);
      let i = 0;
      for (let c = 0; c < CLASSES; c++) {
        for (let s = this.head[c]; s !== NONE; s = this.lruNext[s]) packed[i++] = this.id[s] * span + s;
      }
      packed.sort();
      const slots = new Int32Array(n);
      // Stryker disable next-line EqualityOperator: a write past the end of a typed array is ignored
      for (let j = 0; j < n; j++) slots[j] = packed[j] % span;
      return slots;
    }
    const slots: number[] = [];
    for (let c = 0; c < CLASSES; c++) for (let s = this.head[c]; s !== NONE; s = this.lruNext[s]) slots.push(s);
    return slots.sort((a, b) => this.id[a] - this.id[b]);
  }

  endAtEndOfInput(slot: number): void {
    this.end(slot, EndReason.END_OF_INPUT);
  }

  /** Word i (0–3) of the client's address; IPv4 uses word 0 only. */
  clientWord(slot: number, i: number): number {
    return this.keys[slot * KEY_WORDS + (this.clientIsA[slot] ? 0 : 4) + i];
  }

  serverWord(slot: number, i: number): number {
    return this.keys[slot * KEY_WORDS + (this.clientIsA[slot] ? 4 : 0) + i];
  }

  clientPort(slot: number): number {
    const ports = this.keys[slot * KEY_WORDS + 8];
    return this.clientIsA[slot] ? ports >>> 16 : ports & 0xffff;
  }

  serverPort(slot: number): number {
    const ports = this.keys[slot * KEY_WORDS + 8];
    return this.clientIsA[slot] ? ports & 0xffff : ports >>> 16;
  }

  proto(slot: number): number {
    return this.keys[slot * KEY_WORDS + 9] >>> 8;
  }

  addrLen(slot: number): number {
    return this.keys[slot * KEY_WORDS + 9] & 0xff;
  }

  private lookup(w: Int32Array, hash: number): number {
    const keys = this.keys;
    for (let s = this.buckets[hash & this.bucketMask]; s !== NONE; s = this.chainNext[s]) {
      const k = s * KEY_WORDS;
      if (
        keys[k + 9] === w[9] &&
        keys[k + 8] === w[8] &&
        keys[k] === w[0] &&
        keys[k + 4] === w[4] &&
        keys[k + 1] === w[1] &&
        keys[k + 2] === w[2] &&
        keys[k + 3] === w[3] &&
        keys[k + 5] === w[5] &&
        keys[k + 6] === w[6] &&
        keys[k + 7] === w[7]
      )
        return s;
    }
    return NONE;
  }

  private create(p: Packet, key: KeyBuilder, tsUs: number): number {
    if (this.freeTop === 0 && this.fresh === this.maxFlows) {
      this.expireIdle(tsUs);
      if (this.freeTop === 0) this.evictLeastRecent();
    }
    const slot = this.freeTop > 0 ? this.freeSlots[--this.freeTop] : this.fresh++;
    this.keys.set(key.words, slot * KEY_WORDS);
    this.hashes[slot] = key.hash;
    const b = key.hash & this.bucketMask;
    this.chainNext[slot] = this.buckets[b];
    this.buckets[b] = slot;
    // The client sent the first packet, unless that packet is the server's SYN-ACK.
    const synAck =
      // Stryker disable next-line ConditionalExpression: only TCP packets carry flags (Packet.reset clears them)
      p.proto === IpProto.TCP && (p.tcpFlags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK);
    this.clientIsA[slot] = key.srcIsA !== synAck ? 1 : 0;
    this.id[slot] = ++this.counters.created;
    this.firstUs[slot] = tsUs;
    this.lastUs[slot] = tsUs;
    this.pkts[2 * slot] = this.pkts[2 * slot + 1] = 0;
    this.bytes[2 * slot] = this.bytes[2 * slot + 1] = 0;
    this.tcpState[slot] = TcpState.NONE;
    this.finSeen[slot] = 0;
    this.cls[slot] =
      // Stryker disable next-line ConditionalExpression: a TCP flow's class is set from its state by update() right after
      p.proto === IpProto.TCP
        ? TimeoutClass.TCP_NEW
        : // On its own line, outside the directive above (which covers the TCP test only): UDP or another class.
          p.proto === IpProto.UDP
          ? TimeoutClass.UDP
          : TimeoutClass.OTHER;
    this.linkHead(slot, this.cls[slot]);
    // Stryker disable next-line EqualityOperator: on equal counts the same value is stored
    if (++this.counters.active > this.counters.activeMax) this.counters.activeMax = this.counters.active;
    return slot;
  }

  private evictLeastRecent(): void {
    let victim = NONE;
    // Stryker disable next-line EqualityOperator: class index 5 reads undefined (no list there)
    for (let c = 0; c < CLASSES; c++) {
      const t = this.tail[c];
      // Stryker disable next-line ConditionalExpression,EqualityOperator: an empty list (t = NONE) reads lastUs[-1], undefined, never older; a tie may go to either class
      if (t !== NONE && (victim === NONE || this.lastUs[t] < this.lastUs[victim])) victim = t;
    }
    this.counters.evictedLru++;
    this.end(victim, EndReason.EVICTED);
  }

  private end(slot: number, reason: number): void {
    this.sink.flowEnded(this, slot, reason);
    const c = this.counters;
    if (reason === EndReason.CLOSED) c.endedClosed++;
    else if (reason === EndReason.TIMEOUT) c.endedTimeout++;
    else if (reason === EndReason.PORT_REUSE) c.endedPortReuse++;
    else if (reason === EndReason.END_OF_INPUT) c.endedEndOfInput++;
    c.active--;
    this.unlinkLru(slot);
    this.unlinkChain(slot);
    this.freeSlots[this.freeTop++] = slot;
  }

  private unlinkChain(slot: number): void {
    const b = this.hashes[slot] & this.bucketMask;
    if (this.buckets[b] === slot) {
      this.buckets[b] = this.chainNext[slot];
      return;
    }
    for (let s = this.buckets[b]; s !== NONE; s = this.chainNext[s]) {
      if (this.chainNext[s] === slot) {
        this.chainNext[s] = this.chainNext[slot];
        return;
      }
    }
  }

  /** Move to the head (most recent) of the list for class `cls`. */
  private touch(slot: number, cls: number): void {
    // Stryker disable next-line ConditionalExpression: unlinking the head and linking it at the head again gives the same list
    if (this.head[cls] === slot) return;
    this.unlinkLru(slot);
    this.linkHead(slot, cls);
  }

  private linkHead(slot: number, cls: number): void {
    this.cls[slot] = cls;
    this.lruPrev[slot] = NONE;
    this.lruNext[slot] = this.head[cls];
    // Stryker disable next-line ConditionalExpression: lruPrev[-1] = slot writes nothing (typed array)
    if (this.head[cls] !== NONE) this.lruPrev[this.head[cls]] = slot;
    this.head[cls] = slot;
    if (this.tail[cls] === NONE) this.tail[cls] = slot;
  }

  private unlinkLru(slot: number): void {
    const cls = this.cls[slot];
    const prev = this.lruPrev[slot];
    const next = this.lruNext[slot];
    if (prev !== NONE) this.lruNext[prev] = next;
    else this.head[cls] = next;
    if (next !== NONE) this.lruPrev[next] = prev;
    else this.tail[cls] = prev;
  }
}
