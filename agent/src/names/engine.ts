// The names stage (DESIGN.md "names"): from the first bytes a client sends,
// who it is talking to — TLS ClientHello SNI (reassembled across segments),
// HTTP Host, QUIC Initial SNI — and, from every DNS message, which names led
// each client to which address. Extractors are chosen by a descriptor table
// (Zeek's analyzer registry): adding a protocol is one entry and one parser.
// Here: the dispatch, the TCP client stream (TLS, HTTP, CONNECT) and the
// bound on reassembly buffers; DNS in dns-names.ts, QUIC in quic-names.ts,
// the events' bodies in app-events.ts.

import { isIP } from 'node:net';
import type { Anomalies } from '../decode/anomaly.js';
import { IpProto, type Packet, TcpFlag } from '../decode/packet.js';
import { type AppEventSink, helloEventBody, httpEventBody } from './app-events.js';
import { ConnectState, isConnectSuccess } from './connect.js';
import type { DnsAnswerCache } from './dns-cache.js';
import { DNS_PORT, DnsNames } from './dns-names.js';
import { encryptedDnsOf } from './encrypted-dns.js';
import type { AppProto, FlowApp } from './flow-app.js';
import { type HttpRequestInfo, looksLikeHttpRequest, parseHttpRequest } from './http.js';
import type { QuicAhead } from './quic-ahead.js';
import { type NamingSteps, QuicNames } from './quic-names.js';
import { TcpStreamAssembler } from './stream.js';
import { parseTlsClientHello } from './tls.js';
import type { ClientHelloInfo } from './types.js';

const TLS_HANDSHAKE = 0x16;

interface Extractor {
  name: AppProto;
  transport: number;
  /** Does the start of the client's stream look like this protocol? */
  probe(buf: Uint8Array, off: number, len: number, p: Packet): boolean;
}

/** Client-side extractors for TCP streams, tried in order on the first bytes. */
const TCP_EXTRACTORS: Extractor[] = [
  { name: 'dns', transport: IpProto.TCP, probe: (_b, _o, _l, p) => p.dstPort === DNS_PORT || p.srcPort === DNS_PORT },
  // A first segment of one or two bytes (a ClientHello split to hide its name) is read on as TLS.
  { name: 'tls', transport: IpProto.TCP, probe: (b, o, l) => b[o] === TLS_HANDSHAKE && (l < 2 || b[o + 1] === 0x03) },
  { name: 'http', transport: IpProto.TCP, probe: looksLikeHttpRequest },
];

export interface NamesCounters {
  /** Flows whose client payload was read for a name, by what it turned out to be. */
  tls: number;
  quic: number;
  http: number;
  dns: number;
  /** Flows that showed no name in their first payload. */
  unnamed: number;
  /** TLS ClientHellos offering ECH (the real name may be hidden). */
  ech: number;
  /** Flows speaking DNS over TLS, QUIC or HTTPS (names hidden from the gateway). */
  encryptedDns: number;
  /** Flows that needed a reassembly buffer when MAX_REASSEMBLY_STATES were in use: judged without a name. */
  reassemblyLimit: number;
}

/**
 * Flows that may hold a reassembly buffer at once (TCP ClientHello/request
 * heads up to 16 KiB, QUIC CRYPTO up to 64 KiB, DNS over TCP out of order):
 * the bound on this stage's memory, independent of the flow table's.
 */
export const MAX_REASSEMBLY_STATES = 4096;

export class NamesEngine implements NamingSteps {
  readonly counters: NamesCounters = {
    tls: 0,
    quic: 0,
    http: 0,
    dns: 0,
    unnamed: 0,
    ech: 0,
    encryptedDns: 0,
    reassemblyLimit: 0,
  };
  /** Flows holding a reassembly buffer now. */
  reassemblyStates = 0;

  /** DNS messages over UDP and TCP (dns-names.ts). */
  private readonly dns: DnsNames;
  /** QUIC Initials and look-alikes (quic-names.ts). */
  private readonly quic: QuicNames;

  constructor(
    private readonly anomalies: Anomalies,
    dnsCache: DnsAnswerCache,
    private readonly emit: AppEventSink,
    private readonly maxReassemblyStates = MAX_REASSEMBLY_STATES,
    quicAhead: QuicAhead | null = null,
  ) {
    this.dns = new DnsNames(anomalies, dnsCache, emit, (app) => this.acquire(app));
    this.quic = new QuicNames(anomalies, emit, this.counters, this, quicAhead);
  }

  /**
   * One packet of a flow still being named (or a DNS flow). Returns true when
   * naming just ended: the name is known, or the client's payload showed none.
   */
  onPacket(app: FlowApp, p: Packet, buf: Buffer, toServer: boolean, tsUs: number): boolean {
    if (p.proto === IpProto.TCP) return this.onTcp(app, p, buf, toServer, tsUs);
    if (p.proto === IpProto.UDP) return this.onUdp(app, p, buf, toServer, tsUs);
    // ICMP carries no name: its first packet is all there is to decide on.
    this.done(app);
    return true;
  }

  /**
   * Can this packet matter to a flow still being named that holds no
   * reassembly state (no protocol chosen yet)? The same tests onTcp and
   * onUdp begin with; the caller skips the rest.
   */
  wantsPacket(p: Packet, toServer: boolean): boolean {
    if (p.proto === IpProto.TCP) {
      return toServer && (p.payloadLen > 0 || (p.tcpFlags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN);
    }
    if (p.proto === IpProto.UDP)
      return p.dstPort === DNS_PORT || p.srcPort === DNS_PORT || (toServer && p.payloadLen > 0);
    return true;
  }

  private onTcp(app: FlowApp, p: Packet, buf: Buffer, toServer: boolean, tsUs: number): boolean {
    if (app.appProto === 'dns') return this.dns.onTcp(app, p, buf, toServer, tsUs);
    if (app.connectState !== ConnectState.NONE && !this.onConnect(app, p, buf, toServer)) return false;
    if (!toServer) return false;
    if ((p.tcpFlags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN) {
      app.clientIsn = p.tcpSeq;
      return false;
    }
    if (p.payloadLen === 0) return false;
    // Common case: the first data segment starts the stream and holds the whole
    // ClientHello or request head. It is read in place; only when more is
    // needed (or segments come out of order) is a reassembly buffer made.
    let hbuf: Uint8Array = buf;
    let hoff = p.payloadOff;
    let hlen = p.payloadLen;
    let stream = app.clientStream;
    if (stream !== null || (app.clientIsn >= 0 && p.tcpSeq !== (app.clientIsn + 1) >>> 0)) {
      stream = this.clientStream(app);
      if (stream === null) return this.unnamed(app);
      stream.add(p.tcpSeq, buf, p.payloadOff, p.payloadLen);
      hbuf = stream.contiguous();
      hoff = 0;
      hlen = hbuf.length;
      if (hlen === 0) return false; // the first segment is still missing
    }
    if (app.appProto === null) {
      const x = TCP_EXTRACTORS.find((e) => e.probe(hbuf, hoff, hlen, p));
      if (x === undefined) return this.unnamed(app);
      app.appProto = x.name;
      this.counters[x.name]++;
      if (x.name === 'dns') {
        app.dnsTcp = [this.dns.direction(), this.dns.direction()];
        if (stream === null) this.dns.onTcp(app, p, buf, true, tsUs);
        else {
          // Reassembly had already begun: the client's stream carries on as the query stream.
          app.dnsTcp[0].stream = stream;
          this.dns.frame(app, app.dnsTcp[0], tsUs);
        }
        app.clientStream = null;
        app.naming = false;
        return true;
      }
    }
    const r =
      app.appProto === 'tls'
        ? parseTlsClientHello(hbuf, hoff, hlen, this.anomalies)
        : parseHttpRequest(hbuf, hoff, hlen, this.anomalies);
    if (r.kind === 'need') {
      if (stream === null) {
        const fresh = this.clientStream(app);
        if (fresh === null) return this.unnamed(app);
        fresh.add(p.tcpSeq, buf, p.payloadOff, p.payloadLen);
      } else if (stream.overflow) return this.unnamed(app);
      return false;
    }
    if (r.kind === 'done') {
      if (app.appProto === 'tls') this.clientHello(app, r.value as ClientHelloInfo, 'tls', tsUs);
      else {
        const req = r.value as HttpRequestInfo;
        this.httpRequest(app, req, tsUs);
        // A CONNECT: judged now by its target, and read again once the proxy opens the tunnel.
        if (req.method === 'CONNECT' && app.clientIsn >= 0 && this.acquire(app)) {
          app.connectState = ConnectState.AWAIT_REPLY;
          app.connectSeq = (app.clientIsn + 1 + req.headLength) >>> 0;
          app.clientStream = null;
          return true;
        }
      }
    }
    this.done(app);
    return true;
  }

  /**
   * A CONNECT flow (names/connect.ts): false while the packet is not for the
   * ClientHello reader; true to let the client's tunnelled bytes through it.
   */
  private onConnect(app: FlowApp, p: Packet, buf: Buffer, toServer: boolean): boolean {
    if (app.connectState === ConnectState.AWAIT_REPLY) {
      if (toServer || p.payloadLen === 0) return false;
      if (!isConnectSuccess(buf, p.payloadOff, p.payloadLen)) {
        this.done(app);
        // Stryker disable next-line BooleanLiteral: a server packet: onTcp returns false for it next either way
        return false;
      }
      // The tunnel is open: the client's stream starts again right after the CONNECT head.
      app.connectState = ConnectState.TUNNEL;
      app.clientIsn = (app.connectSeq - 1) >>> 0;
      app.appProto = 'tls';
      // Stryker disable next-line BooleanLiteral: a server packet: onTcp returns false for it next either way
      return false;
    }
    // ConnectState.TUNNEL: the first tunnelled bytes must open a TLS handshake record.
    if (
      toServer &&
      p.payloadLen > 0 &&
      p.tcpSeq === app.connectSeq &&
      app.clientStream === null &&
      !(buf[p.payloadOff] === TLS_HANDSHAKE && (p.payloadLen < 2 || buf[p.payloadOff + 1] === 0x03))
    ) {
      this.done(app);
      return false;
    }
    return true;
  }

  /** The client's reassembly buffer, made on first need; null when the stage's bound is reached. */
  private clientStream(app: FlowApp): TcpStreamAssembler | null {
    if (app.clientStream === null) {
      if (!this.acquire(app)) return null;
      app.clientStream = new TcpStreamAssembler(undefined, this.anomalies);
      if (app.clientIsn >= 0) app.clientStream.start(app.clientIsn);
    }
    return app.clientStream;
  }

  /** A reassembly buffer for this flow, within MAX_REASSEMBLY_STATES; false (counted) when none may be taken. */
  acquire(app: FlowApp): boolean {
    if (app.holdsReassembly) return true;
    if (this.reassemblyStates >= this.maxReassemblyStates) {
      this.counters.reassemblyLimit++;
      return false;
    }
    this.reassemblyStates++;
    app.holdsReassembly = true;
    return true;
  }

  /** The flow ended (or needs no buffer any more): its reassembly state goes. */
  release(app: FlowApp): void {
    if (!app.holdsReassembly) return;
    app.holdsReassembly = false;
    this.reassemblyStates--;
    app.clientStream = null;
    app.quic = null;
    if (app.dnsTcp !== null) for (const dir of app.dnsTcp) dir.stream = null;
  }

  /** Naming is over for this flow; DNS over TCP keeps its buffers until the flow ends. */
  done(app: FlowApp): void {
    app.stopNaming();
    app.encryptedDns = encryptedDnsOf(app.proto, app.destPort, app.destIp, app.appProto, app.sni);
    if (app.encryptedDns !== null) this.counters.encryptedDns++;
    // Stryker disable next-line ConditionalExpression: a DNS-over-TCP flow never gets here (onTcp hands its packets to DnsNames.onTcp)
    if (app.dnsTcp === null) this.release(app);
  }

  private httpRequest(app: FlowApp, req: HttpRequestInfo, tsUs: number): void {
    // A Host that is an address literal names nothing.
    app.httpHost = req.host !== null && !isIP(req.host) ? req.host : null;
    this.emit(app, tsUs, 'http', httpEventBody(req), null);
  }

  clientHello(app: FlowApp, hello: ClientHelloInfo, type: 'tls' | 'quic', tsUs: number, version?: number): void {
    app.sni = hello.sni;
    app.ech = hello.ech;
    if (hello.ech) this.counters.ech++;
    this.emit(app, tsUs, type, helloEventBody(hello, type, version), null);
  }

  private onUdp(app: FlowApp, p: Packet, buf: Buffer, toServer: boolean, tsUs: number): boolean {
    // Stryker disable next-line ConditionalExpression: a UDP flow is 'dns' only through its port 53, and its ports do not change
    if (app.appProto === 'dns' || p.dstPort === DNS_PORT || p.srcPort === DNS_PORT) {
      if (app.appProto === null) {
        app.appProto = 'dns';
        this.counters.dns++;
      }
      if (p.payloadLen > 0) this.dns.message(app, buf, p.payloadOff, p.payloadLen, tsUs);
      if (app.naming && toServer && p.payloadLen > 0) {
        app.naming = false;
        return true;
      }
      return false;
    }
    if (!toServer) return app.quic !== null && app.appProto === null ? this.quic.onReply(app, p, buf, tsUs) : false;
    if (p.payloadLen === 0) return false;
    return this.quic.onDatagram(app, p, buf, tsUs);
  }

  /** Naming is over and found no name. */
  unnamed(app: FlowApp): boolean {
    this.counters.unnamed++;
    this.done(app);
    return true;
  }
}
