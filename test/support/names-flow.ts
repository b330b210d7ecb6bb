// Shared by the names-stage tests (test/unit/names-engine*.test.ts): one flow
// through one NamesEngine (names/engine.ts), packet by packet and in process,
// with each packet's return value, the events, the counters and the anomalies
// that fired.

import { expect } from 'vitest';
import { Anomalies } from '../../agent/src/decode/anomaly.js';
import { decodePacket } from '../../agent/src/decode/decode.js';
import { DecodeResult, Packet } from '../../agent/src/decode/packet.js';
import { dnsEventBody } from '../../agent/src/names/app-events.js';
import { DnsAnswerCache } from '../../agent/src/names/dns-cache.js';
import { NamesEngine } from '../../agent/src/names/engine.js';
import { FlowApp } from '../../agent/src/names/flow-app.js';
import { ethernet, ipPacket, tcpSegment, udpDatagram } from './builders.js';

export const CLIENT = '10.0.0.2';
export const SERVER = '203.0.113.10';
export const SYN = 0x02;
export const ACK = 0x10;
export const PSH = 0x08;
export const T0 = 1_767_225_600_000_000;

export type Proto = 'TCP' | 'UDP' | 'ICMP';

/** One flow through one NamesEngine: each packet's return value, the events, the counters. */
export class Flow {
  readonly anomalies = new Anomalies();
  readonly cache = new DnsAnswerCache();
  readonly events: [string, Record<string, unknown>][] = [];
  readonly engine: NamesEngine;
  readonly app: FlowApp;
  private t = T0;

  constructor(
    readonly proto: Proto,
    readonly sport: number,
    readonly dport: number,
    maxReassemblyStates?: number,
  ) {
    this.engine = new NamesEngine(
      this.anomalies,
      this.cache,
      (_app, _ts, type, body, dns) => this.events.push([type, body ?? dnsEventBody(dns!.message)]),
      maxReassemblyStates,
    );
    this.app = new FlowApp(1, sport, dport, proto, false, 0x0a000002, 0, 0, 0, 0xcb00710a | 0, 0, 0, 0);
  }

  /** One whole frame through the engine (a cut capture or an odd header: build with *Frame, then change it). */
  packet(frame: Buffer, toServer: boolean): boolean {
    const p = new Packet();
    expect(decodePacket(frame, 0, frame.length, 1, p, this.anomalies.counts)).toBe(DecodeResult.TRANSPORT);
    return this.engine.onPacket(this.app, p, frame, toServer, this.t++);
  }

  tcp(toServer: boolean, flags: number, seq: number, payload?: Buffer): boolean {
    const [src, dst, sport, dport] = toServer
      ? [CLIENT, SERVER, this.sport, this.dport]
      : [SERVER, CLIENT, this.dport, this.sport];
    return this.packet(
      ethernet(ipPacket({ src, dst }, tcpSegment({ src, dst, sport, dport, flags, seq: seq >>> 0, payload }))),
      toServer,
    );
  }

  udp(toServer: boolean, payload: Buffer): boolean {
    return this.packet(this.udpFrame(toServer, payload), toServer);
  }

  udpFrame(toServer: boolean, payload: Buffer): Buffer {
    const [src, dst, sport, dport] = toServer
      ? [CLIENT, SERVER, this.sport, this.dport]
      : [SERVER, CLIENT, this.dport, this.sport];
    return ethernet(ipPacket({ src, dst }, udpDatagram({ src, dst, sport, dport, payload })));
  }

  fired(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.anomalies.toJSON()).filter(([, n]) => n !== 0));
  }

  nonZeroCounters(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.engine.counters).filter(([, n]) => n !== 0));
  }
}

export const ISN = 0xfffffff0; // the client's stream wraps past 2^32
