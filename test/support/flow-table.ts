// A flow table (agent/src/flow/table.ts) fed with packets built field by field, recording every flow
// that ends as a plain object: the harness of the flow-table unit tests.

import { IpProto, Packet, TcpFlag } from '../../agent/src/decode/packet.js';
import { END_REASON_NAMES, TCP_STATE_NAMES } from '../../agent/src/flow/state.js';
import { FlowTable, type FlowTableOptions } from '../../agent/src/flow/table.js';
import { ipv4Bytes, ipv6Bytes } from './builders.js';

export const S = 1_000_000; // µs per second
export const T0 = 1_767_225_600 * S;
const { SYN, ACK } = TcpFlag;

export interface Ended {
  id: number;
  client: string;
  server: string;
  cport: number;
  sport: number;
  proto: number;
  pkts: [number, number];
  bytes: [number, number];
  first: number;
  last: number;
  state: string;
  reason: string;
}

function addr(t: FlowTable, slot: number, client: boolean): string {
  const word = (i: number) => (client ? t.clientWord(slot, i) : t.serverWord(slot, i)) >>> 0;
  if (t.addrLen(slot) === 4) return [24, 16, 8, 0].map((s) => (word(0) >>> s) & 0xff).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 4; i++) groups.push((word(i) >>> 16).toString(16), (word(i) & 0xffff).toString(16));
  return groups.join(':');
}

/** IPv6 in the form addr() prints: eight groups, no compression. */
export function full(a: string): string {
  if (!a.includes(':')) return a;
  const b = ipv6Bytes(a);
  return Array.from({ length: 8 }, (_, i) => ((b[2 * i] << 8) | b[2 * i + 1]).toString(16)).join(':');
}

function read(t: FlowTable, slot: number, reason: number | null): Ended {
  return {
    id: t.id[slot],
    client: addr(t, slot, true),
    server: addr(t, slot, false),
    cport: t.clientPort(slot),
    sport: t.serverPort(slot),
    proto: t.proto(slot),
    pkts: [t.pkts[2 * slot], t.pkts[2 * slot + 1]],
    bytes: [t.bytes[2 * slot], t.bytes[2 * slot + 1]],
    first: t.firstUs[slot],
    last: t.lastUs[slot],
    state: TCP_STATE_NAMES[t.tcpState[slot]],
    reason: reason === null ? 'open' : END_REASON_NAMES[reason],
  };
}

/** A flow table fed with packets built field by field, recording every flow that ends. */
export class Harness {
  readonly ended: Ended[] = [];
  readonly table: FlowTable;
  private readonly p = new Packet();

  constructor(options: FlowTableOptions = {}) {
    this.table = new FlowTable({ flowEnded: (t, slot, reason) => this.ended.push(read(t, slot, reason)) }, options);
  }

  /** One packet src:sport → dst:dport; returns its slot. */
  send(
    src: string,
    sport: number,
    dst: string,
    dport: number,
    o: { proto?: number; flags?: number; t: number; len?: number },
  ) {
    const v6 = src.includes(':');
    const bytes = v6 ? [...ipv6Bytes(src), ...ipv6Bytes(dst)] : [...ipv4Bytes(src), ...ipv4Bytes(dst)];
    const p = this.p;
    p.reset();
    p.addrLen = v6 ? 16 : 4;
    p.ipVersion = v6 ? 6 : 4;
    p.srcAddrOff = 0;
    p.dstAddrOff = p.addrLen;
    p.proto = o.proto ?? IpProto.UDP;
    p.srcPort = sport;
    p.dstPort = dport;
    p.tcpFlags = o.flags ?? 0;
    return this.table.update(p, Buffer.from(bytes), o.len ?? 100, o.t);
  }

  /** The open flows, oldest first, as the end-of-input flush sees them. */
  open(): Ended[] {
    return [...this.table.openFlowsInOrder()].map((slot) => read(this.table, slot, null));
  }

  reasons(): string[] {
    return this.ended.map((e) => e.reason);
  }
}

export const C = '10.0.0.2';
export const SRV = '198.51.100.10';

/** Client→server (c) or server→client (s) TCP segments with these flags. */
export type Seg = ['c' | 's', number];
export function tcp(h: Harness, segs: Seg[], t: number, port = 40000): number {
  for (const [i, [dir, flags]] of segs.entries()) {
    if (dir === 'c') h.send(C, port, SRV, 443, { proto: IpProto.TCP, flags, t: t + i });
    else h.send(SRV, 443, C, port, { proto: IpProto.TCP, flags, t: t + i });
  }
  return t + segs.length - 1;
}

export const HANDSHAKE: Seg[] = [
  ['c', SYN],
  ['s', SYN | ACK],
  ['c', ACK],
];
