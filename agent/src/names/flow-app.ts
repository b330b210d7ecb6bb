// What the names, enrich and policy stages know about one flow, while they
// work on it: made when a packet of the flow needs them, and kept only while
// it holds reassembly or DNS-over-TCP state (bounded per flow, released as
// soon as a name is found). Between packets the rest of it is recorded in
// slot-indexed arrays (settled.ts), and it is made again from there.

import type { GeoAnswer } from '../enrich/geo.js';
import type { ProtoName } from '../output/flow-record.js';
import type { Judgement } from '../policy/verdict.js';
import { formatIpv4, formatIpv6 } from '../util/ip.js';
import { sortNames } from '../util/sort.js';
import type { DnsTcpFramer } from './dns-tcp.js';
import type { EncryptedDns } from './encrypted-dns.js';
import type { QuicInitialAssembler } from './quic.js';
import type { TcpStreamAssembler } from './stream.js';

export type AppProto = 'dns' | 'tls' | 'quic' | 'http';

/** Severity rank for "alert again only if the severity rises". */
export const SEVERITY_RANK = { allowed: 0, medium: 1, high: 2 } as const;

/**
 * One direction of DNS over TCP, framed by length. Segments in order go
 * straight to the framer; only once one arrives out of order is a
 * reassembly buffer made (`stream`), from then on for that direction.
 */
export interface DnsTcpDirection {
  /** Sequence number of the next in-order byte; -1 before the first data segment. */
  next: number;
  stream: TcpStreamAssembler | null;
  framer: DnsTcpFramer;
  /** Bytes of `stream`'s in-order prefix already handed to the framer. */
  framed: number;
}

/** Shared empty list: most flows never get names of their own. */
const NONE: readonly string[] = Object.freeze([]);

export class FlowApp implements GeoAnswer {
  appProto: AppProto | null = null;
  /** TLS/QUIC server_name, lowercased. */
  private sniName: string | null = null;
  /** HTTP Host without port. */
  private hostName: string | null = null;
  /** names(), kept until a name is added. */
  private namesMemo: string[] | null = null;
  /** encrypted_client_hello offered: the real name may be hidden. */
  ech = false;
  /** DNS over TLS, QUIC or HTTPS: the names this client looks up are hidden from the gateway. */
  encryptedDns: EncryptedDns | null = null;
  /** DNS names that led this client to this destination (answers seen before). */
  private dnsNameList: readonly string[] = NONE;
  /** Still waiting for the client's first payload to carry (or fail to carry) a name. */
  naming = true;
  /** Initial sequence number of the client's SYN; -1 when the capture began mid-connection. */
  clientIsn = -1;
  clientStream: TcpStreamAssembler | null = null;
  /** Counted against the names stage's bound on reassembly buffers (MAX_REASSEMBLY_STATES). */
  holdsReassembly = false;
  dnsTcp: [DnsTcpDirection, DnsTcpDirection] | null = null;
  quic: QuicInitialAssembler | null = null;
  quicDatagrams = 0;
  /** HTTP CONNECT (names/connect.ts): ConnectState, and the client sequence number after the CONNECT head. */
  connectState = 0;
  connectSeq = 0;
  // The enrich stage's answer for the destination, filled in place (FlowApp is its own GeoAnswer).
  country: string | null = null;
  asn: number | null = null;
  asOrg: string | null = null;
  asCountry: string | null = null;
  internet = false;
  decided = false;
  /** Highest severity already alerted: 0 none, 1 medium, 2 high. */
  alerted = 0;
  judgement: Judgement | null = null;
  /** The names() the judgement was made with (the memo: the same array while no name is added). */
  judgedNames: readonly string[] | null = null;
  /** The addresses as text, made when first asked for. */
  private srcText: string | null = null;
  private destText: string | null = null;

  // The flow's identity: set by the constructor and again by reuse(), read-only for everyone else.
  constructor(
    public flowId: number,
    public srcPort: number | null,
    public destPort: number | null,
    public proto: ProtoName,
    public v6: boolean,
    /** Client address words as the flow table stores them (IPv4: c0 only). */
    public c0: number,
    public c1: number,
    public c2: number,
    public c3: number,
    /** Destination address words as the flow table stores them (IPv4: d0 only). */
    public d0: number,
    public d1: number,
    public d2: number,
    public d3: number,
  ) {}

  /**
   * This object made over for another flow, as the constructor would make it:
   * the pipeline keeps one spare instead of leaving a new object to the
   * collector for every packet of a recorded flow (pipeline.ts, `spare`).
   * Every field is set here; a test compares a reused object with a new one.
   */
  reuse(
    flowId: number,
    srcPort: number | null,
    destPort: number | null,
    proto: ProtoName,
    v6: boolean,
    c0: number,
    c1: number,
    c2: number,
    c3: number,
    d0: number,
    d1: number,
    d2: number,
    d3: number,
  ): this {
    this.appProto = null;
    this.sniName = null;
    this.hostName = null;
    this.namesMemo = null;
    this.ech = false;
    this.encryptedDns = null;
    this.dnsNameList = NONE;
    this.naming = true;
    this.clientIsn = -1;
    this.clientStream = null;
    this.holdsReassembly = false;
    this.dnsTcp = null;
    this.quic = null;
    this.quicDatagrams = 0;
    this.connectState = 0;
    this.connectSeq = 0;
    this.country = null;
    this.asn = null;
    this.asOrg = null;
    this.asCountry = null;
    this.internet = false;
    this.decided = false;
    this.alerted = 0;
    this.judgement = null;
    this.judgedNames = null;
    this.srcText = null;
    this.destText = null;
    this.flowId = flowId;
    this.srcPort = srcPort;
    this.destPort = destPort;
    this.proto = proto;
    this.v6 = v6;
    this.c0 = c0;
    this.c1 = c1;
    this.c2 = c2;
    this.c3 = c3;
    this.d0 = d0;
    this.d1 = d1;
    this.d2 = d2;
    this.d3 = d3;
    return this;
  }

  /** The client's address: dotted quad, or IPv6 as RFC 5952 writes it. */
  get srcIp(): string {
    // Stryker disable next-line ConditionalExpression: a memo: formatting again gives the same text
    if (this.srcText === null) {
      this.srcText = this.v6 ? formatIpv6(this.c0, this.c1, this.c2, this.c3) : formatIpv4(this.c0);
    }
    return this.srcText;
  }

  get destIp(): string {
    // Stryker disable next-line ConditionalExpression: a memo: formatting again gives the same text
    if (this.destText === null) {
      this.destText = this.v6 ? formatIpv6(this.d0, this.d1, this.d2, this.d3) : formatIpv4(this.d0);
    }
    return this.destText;
  }

  /** The destination address words into `out` (reused by the caller). */
  destWords(out: Int32Array): Int32Array {
    out[0] = this.d0;
    out[1] = this.d1;
    out[2] = this.d2;
    out[3] = this.d3;
    return out;
  }

  get sni(): string | null {
    return this.sniName;
  }

  set sni(name: string | null) {
    this.sniName = name;
    this.namesMemo = null;
  }

  get httpHost(): string | null {
    return this.hostName;
  }

  set httpHost(name: string | null) {
    this.hostName = name;
    this.namesMemo = null;
  }

  get dnsNames(): readonly string[] {
    return this.dnsNameList;
  }

  /** Add DNS names (answers that led this client here); repeats are ignored. */
  addDnsNames(names: readonly string[]): void {
    // Stryker disable next-line ConditionalExpression: a shortcut: no names leave `fresh` empty, which returns next
    if (names.length === 0) return;
    // A flow's first names are taken as they are: namesFor() made the list for this flow.
    // Stryker disable next-line ConditionalExpression: a shortcut: against an empty list the filter keeps every name, a copy of the same list (the `true` variant fails at-rest-exact.test.ts)
    const fresh = this.dnsNameList.length === 0 ? names : names.filter((n) => !this.dnsNameList.includes(n));
    if (fresh.length === 0) return;
    // Stryker disable next-line ConditionalExpression: a copy of an empty list plus `fresh` has the same names as `fresh`
    this.dnsNameList = this.dnsNameList.length === 0 ? fresh : [...this.dnsNameList, ...fresh];
    this.namesMemo = null;
  }

  /** Put back the names of a recorded flow (names/at-rest.ts), and names() made from them. */
  restoreNames(dns: readonly string[], sni: string | null, host: string | null, all: string[]): void {
    this.dnsNameList = dns;
    this.sniName = sni;
    this.hostName = host;
    this.namesMemo = all;
  }

  /** Every name of the flow: DNS answers, SNI, Host; sorted, without repeats. Do not modify. */
  names(): string[] {
    if (this.namesMemo !== null) return this.namesMemo;
    if (this.dnsNameList.length === 0 && this.sniName === null && this.hostName === null) {
      this.namesMemo = NONE as string[];
      return this.namesMemo;
    }
    // Stryker disable next-line ConditionalExpression: a copy of an empty list is empty too
    let all: string[] = this.dnsNameList.length === 0 ? [] : [...this.dnsNameList];
    if (this.sniName !== null && !all.includes(this.sniName)) all.push(this.sniName);
    if (this.hostName !== null && !all.includes(this.hostName)) all.push(this.hostName);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: sorting no name or one changes nothing
    if (all.length > 1) all = sortNames(all);
    this.namesMemo = all;
    return all;
  }

  /** What hides names on this flow, for events: ECH, DoT, DoQ, DoH. */
  hiddenBy(): string[] {
    return hiddenByOf(this.ech, this.encryptedDns);
  }

  /** Free reassembly state once naming is over. */
  stopNaming(): void {
    this.naming = false;
    this.clientStream = null;
    this.quic = null;
  }
}

/** What hides a flow's names, for events: ECH, then DoT, DoQ or DoH. */
export function hiddenByOf(ech: boolean, encryptedDns: EncryptedDns | null): string[] {
  const by: string[] = [];
  if (ech) by.push('ech');
  if (encryptedDns !== null) by.push(encryptedDns);
  return by;
}
