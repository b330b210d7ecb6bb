// The names stage (DESIGN.md "names"): from the first bytes a client sends,
// who it is talking to — TLS ClientHello SNI (reassembled across segments),
// HTTP Host, QUIC Initial SNI — and, from every DNS message, which names led
// each client to which address. Extractors are chosen by a descriptor table
// (Zeek's analyzer registry): adding a protocol is one entry and one parser.

import { isIP } from 'node:net';
import type { Anomalies } from '../decode/anomaly.js';
import { IpProto, type Packet, TcpFlag } from '../decode/packet.js';
import { u16be, u32be } from '../util/bytes.js';
import { ConnectState, isConnectSuccess } from './connect.js';
import { type DnsMessage, parseDnsMessage } from './dns.js';
import type { DnsAnswerCache } from './dns-cache.js';
import { DnsTcpFramer } from './dns-tcp.js';
import { encryptedDnsOf } from './encrypted-dns.js';
import type { AppProto, DnsTcpDirection, FlowApp } from './flow-app.js';
import { type HttpRequestInfo, looksLikeHttpRequest, parseHttpRequest } from './http.js';
import { QuicInitialAssembler } from './quic.js';
import { isVersionNegotiation, looksLikeLongHeader, probeQuicInitial, QuicProbe } from './quic-probe.js';
import { TcpStreamAssembler } from './stream.js';
import { parseTlsClientHello } from './tls.js';
import type { ClientHelloInfo } from './types.js';

const DNS_PORT = 53;
/** Header form and fixed bits of a QUIC long header (RFC 9000 §17.2). */
/** Client datagrams read for an Initial before the flow is judged without a name. */
const MAX_QUIC_DATAGRAMS = 8;
/** From a UDP payload back to the header's length field. */
const UDP_LENGTH_BACK = 4;
const TLS_HANDSHAKE = 0x16;
/** DNS over TCP is read up to this many bytes per direction; beyond it only counters move. */
const DNS_TCP_MAX_BYTES = 65_536;
/** `next` of a DNS-over-TCP direction given up on. */
const DNS_DIRECTION_DEAD = -2;

/** How app-layer events leave the stage: the pipeline adds time, flow id and tuple. */
export type AppEventSink = (app: FlowApp, tsUs: number, type: AppProto, body: Record<string, unknown>) => void;

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

export class NamesEngine {
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

  constructor(
    private readonly anomalies: Anomalies,
    private readonly dnsCache: DnsAnswerCache,
    private readonly emit: AppEventSink,
    private readonly maxReassemblyStates = MAX_REASSEMBLY_STATES,
  ) {}

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
    if (app.appProto === 'dns') return this.onDnsTcp(app, p, buf, toServer, tsUs);
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
        app.dnsTcp = [this.dnsDirection(), this.dnsDirection()];
        if (stream === null) this.onDnsTcp(app, p, buf, true, tsUs);
        else {
          // Reassembly had already begun: the client's stream carries on as the query stream.
          app.dnsTcp[0].stream = stream;
          this.frameDns(app, app.dnsTcp[0], tsUs);
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

  private acquire(app: FlowApp): boolean {
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
  private done(app: FlowApp): void {
    app.stopNaming();
    app.encryptedDns = encryptedDnsOf(app.proto, app.destPort, app.destIp, app.appProto, app.sni);
    if (app.encryptedDns !== null) this.counters.encryptedDns++;
    // Stryker disable next-line ConditionalExpression: a DNS-over-TCP flow never gets here (onTcp hands its packets to onDnsTcp)
    if (app.dnsTcp === null) this.release(app);
  }

  private httpRequest(app: FlowApp, req: HttpRequestInfo, tsUs: number): void {
    // A Host that is an address literal names nothing.
    app.httpHost = req.host !== null && !isIP(req.host) ? req.host : null;
    this.emit(app, tsUs, 'http', {
      hostname: req.host,
      http_method: req.method,
      url: req.target,
      protocol: req.version,
      http_user_agent: req.userAgent,
    });
  }

  clientHello(app: FlowApp, hello: ClientHelloInfo, type: 'tls' | 'quic', tsUs: number, version?: number): void {
    app.sni = hello.sni;
    app.ech = hello.ech;
    if (hello.ech) this.counters.ech++;
    const body: Record<string, unknown> = { sni: hello.sni, alpn: hello.alpn, ech: hello.ech };
    if (type === 'tls') body.version = tlsVersionName(hello);
    else body.version = version === undefined ? null : hexVersion(version);
    this.emit(app, tsUs, type, body);
  }

  private onUdp(app: FlowApp, p: Packet, buf: Buffer, toServer: boolean, tsUs: number): boolean {
    // Stryker disable next-line ConditionalExpression: a UDP flow is 'dns' only through its port 53, and its ports do not change
    if (app.appProto === 'dns' || p.dstPort === DNS_PORT || p.srcPort === DNS_PORT) {
      if (app.appProto === null) {
        app.appProto = 'dns';
        this.counters.dns++;
      }
      if (p.payloadLen > 0) this.dnsMessage(app, buf, p.payloadOff, p.payloadLen, tsUs);
      if (app.naming && toServer && p.payloadLen > 0) {
        app.naming = false;
        return true;
      }
      return false;
    }
    if (!toServer) return app.quic !== null && app.appProto === null ? this.onQuicReply(app, p, buf, tsUs) : false;
    if (p.payloadLen === 0) return false;
    return this.onQuic(app, p, buf, tsUs);
  }

  /** The server's answer to an unknown version: Version Negotiation makes it QUIC; anything else a look-alike. */
  private onQuicReply(app: FlowApp, p: Packet, buf: Buffer, tsUs: number): boolean {
    if (p.payloadLen === 0) return false;
    if (!isVersionNegotiation(buf, p.payloadOff, p.payloadLen)) return this.notQuic(app);
    app.appProto = 'quic';
    this.counters.quic++;
    this.anomalies.count('quic.unknown_version');
    const version = app.quic?.version ?? 0;
    this.emit(app, tsUs, 'quic', { version: hexVersion(version), sni: null, alpn: [], ech: false });
    this.done(app);
    return true;
  }

  private notQuic(app: FlowApp): boolean {
    this.anomalies.count('quic.not_quic');
    return this.unnamed(app);
  }

  /**
   * QUIC (RFC 9000 §17.2): client Initials are decrypted and their CRYPTO
   * frames reassembled until the ClientHello is whole. Any other first UDP
   * payload carries no name.
   */
  private onQuic(app: FlowApp, p: Packet, buf: Buffer, tsUs: number): boolean {
    if (app.quic === null) {
      const udpLen = u16be(buf, p.payloadOff - UDP_LENGTH_BACK);
      const probe = probeQuicInitial(buf, p.payloadOff, p.payloadLen, udpLen === 0 ? p.payloadLen : udpLen - 8);
      if (probe === QuicProbe.NOT_QUIC) {
        return looksLikeLongHeader(buf, p.payloadOff, p.payloadLen) ? this.notQuic(app) : this.unnamed(app);
      }
      if (!this.acquire(app)) return this.unnamed(app);
      app.quic = new QuicInitialAssembler();
      if (probe === QuicProbe.UNKNOWN_VERSION) {
        // QUIC only if the server answers with Version Negotiation (onQuicReply).
        app.quic.version = u32be(buf, p.payloadOff + 1);
        return false;
      }
      app.appProto = 'quic';
      this.counters.quic++;
    }
    if (app.appProto === null) {
      // Still waiting for the server to answer an unknown version.
      return ++app.quicDatagrams >= MAX_QUIC_DATAGRAMS ? this.notQuic(app) : false;
    }
    const quic = app.quic;
    const r = quic.addDatagram(buf, p.payloadOff, p.payloadLen, this.anomalies);
    if (r === null || r.kind === 'need') {
      // A client that never completes its ClientHello is judged without a name after a few datagrams.
      return ++app.quicDatagrams >= MAX_QUIC_DATAGRAMS ? this.unnamed(app) : false;
    }
    if (r.kind === 'done') this.clientHello(app, r.value, 'quic', tsUs, quic.version ?? undefined);
    this.done(app);
    return true;
  }

  /** DNS over TCP (RFC 7766): both directions reassembled and framed; answers feed the cache. */
  private onDnsTcp(app: FlowApp, p: Packet, buf: Buffer, toServer: boolean, tsUs: number): boolean {
    const dir = app.dnsTcp?.[toServer ? 0 : 1];
    if (dir === undefined || p.payloadLen === 0) return false;
    const seq = p.tcpSeq;
    if (dir.next === DNS_DIRECTION_DEAD) return false;
    if (dir.stream === null) {
      if (dir.next === -1 || seq === dir.next) {
        dir.next = (seq + p.payloadLen) >>> 0;
        const chunk = buf.subarray(p.payloadOff, p.payloadOff + p.payloadLen);
        for (const msg of dir.framer.push(chunk)) this.dnsMessage(app, msg, 0, msg.length, tsUs);
        return false;
      }
      if (((seq + p.payloadLen - dir.next) | 0) <= 0) return false; // a retransmission of what was framed
      if (!this.acquire(app)) {
        dir.next = DNS_DIRECTION_DEAD; // over the bound: this direction is read no further
        return false;
      }
      dir.stream = new TcpStreamAssembler(DNS_TCP_MAX_BYTES, this.anomalies);
      dir.stream.start((dir.next - 1) >>> 0);
    }
    dir.stream.add(seq, buf, p.payloadOff, p.payloadLen);
    this.frameDns(app, dir, tsUs);
    return false;
  }

  private frameDns(app: FlowApp, dir: DnsTcpDirection, tsUs: number): void {
    if (dir.stream === null) return;
    const head = dir.stream.contiguous();
    // Stryker disable next-line ConditionalExpression,EqualityOperator: the prefix never shrinks, and the framer takes an empty chunk as nothing
    if (head.length <= dir.framed) return;
    for (const msg of dir.framer.push(head.subarray(dir.framed))) this.dnsMessage(app, msg, 0, msg.length, tsUs);
    dir.framed = head.length;
  }

  private dnsDirection(): DnsTcpDirection {
    return { next: -1, stream: null, framer: new DnsTcpFramer(this.anomalies), framed: 0 };
  }

  private dnsMessage(app: FlowApp, buf: Uint8Array, off: number, len: number, tsUs: number): void {
    const m = parseDnsMessage(buf, off, len, this.anomalies);
    if (m === null) return;
    // Stryker disable next-line ConditionalExpression: the cache records nothing from a query (DnsAnswerCache.record checks again)
    if (m.response) this.dnsCache.record(app.srcIp, m, tsUs);
    this.emit(app, tsUs, 'dns', dnsEventBody(m));
  }

  private unnamed(app: FlowApp): boolean {
    this.counters.unnamed++;
    this.done(app);
    return true;
  }
}

function hexVersion(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}

function dnsEventBody(m: DnsMessage): Record<string, unknown> {
  const q = m.questions[0];
  return {
    type: m.response ? 'answer' : 'query',
    id: m.id,
    rrname: q?.name ?? null,
    rrtype: q ? rrTypeName(q.type) : null,
    rcode: m.response ? rcodeName(m.rcode) : undefined,
    answers: m.response
      ? m.answers.map((a) => ({
          rrname: a.name,
          rrtype: rrTypeName(a.type),
          ttl: a.ttl,
          rdata: a.address ?? a.target ?? null,
        }))
      : undefined,
  };
}

const RR_TYPES: Record<number, string> = {
  1: 'A',
  5: 'CNAME',
  28: 'AAAA',
  2: 'NS',
  6: 'SOA',
  12: 'PTR',
  15: 'MX',
  16: 'TXT',
  33: 'SRV',
  65: 'HTTPS',
};
const RCODES: Record<number, string> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
};

function rrTypeName(t: number): string {
  return RR_TYPES[t] ?? `TYPE${t}`;
}

function rcodeName(r: number): string {
  return RCODES[r] ?? `RCODE${r}`;
}

function tlsVersionName(h: ClientHelloInfo): string {
  const v = h.supportedVersions.includes(0x0304) ? 0x0304 : h.legacyVersion;
  return { 769: 'TLS 1.0', 770: 'TLS 1.1', 771: 'TLS 1.2', 772: 'TLS 1.3' }[v] ?? `0x${v.toString(16)}`;
}
