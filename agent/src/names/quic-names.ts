// QUIC in the names stage (RFC 9000 §17.2): a client's first UDP payloads,
// probed (quic-probe.ts) and, when they are Initials of a version we can
// open, decrypted and read for the ClientHello (quic.ts). An unknown version
// is QUIC only if the server answers with Version Negotiation (RFC 9000
// §17.2.1); anything else shaped like a long header is a look-alike.

import type { Anomalies } from '../decode/anomaly.js';
import type { Packet } from '../decode/packet.js';
import { u16be, u32be } from '../util/bytes.js';
import { type AppEventSink, hexVersion } from './app-events.js';
import type { NamesCounters } from './engine.js';
import type { FlowApp } from './flow-app.js';
import { QuicInitialAssembler } from './quic.js';
import type { QuicAhead } from './quic-ahead.js';
import { isVersionNegotiation, looksLikeLongHeader, probeQuicInitial, QuicProbe } from './quic-probe.js';
import type { ClientHelloInfo } from './types.js';

/** Client datagrams read for an Initial before the flow is judged without a name. */
const MAX_QUIC_DATAGRAMS = 8;
/** From a UDP payload back to the header's length field. */
const UDP_LENGTH_BACK = 4;

/** The names stage's steps QUIC naming takes (NamesEngine). */
export interface NamingSteps {
  /** A reassembly buffer for this flow, within the stage's bound; false when none may be taken. */
  acquire(app: FlowApp): boolean;
  /** Naming is over for this flow. */
  done(app: FlowApp): void;
  /** Naming is over and found no name: counted; true. */
  unnamed(app: FlowApp): boolean;
  clientHello(app: FlowApp, hello: ClientHelloInfo, type: 'tls' | 'quic', tsUs: number, version?: number): void;
}

export class QuicNames {
  constructor(
    private readonly anomalies: Anomalies,
    private readonly emit: AppEventSink,
    private readonly counters: NamesCounters,
    private readonly stage: NamingSteps,
    /** Initial packets opened ahead by another thread (quic-ahead.ts), if any. */
    private readonly ahead: QuicAhead | null = null,
  ) {}

  /** The server's answer to an unknown version: Version Negotiation makes it QUIC; anything else a look-alike. */
  onReply(app: FlowApp, p: Packet, buf: Buffer, tsUs: number): boolean {
    if (p.payloadLen === 0) return false;
    if (!isVersionNegotiation(buf, p.payloadOff, p.payloadLen)) return this.notQuic(app);
    app.appProto = 'quic';
    this.counters.quic++;
    this.anomalies.count('quic.unknown_version');
    const version = app.quic?.version ?? 0;
    this.emit(app, tsUs, 'quic', { version: hexVersion(version), sni: null, alpn: [], ech: false }, null);
    this.stage.done(app);
    return true;
  }

  private notQuic(app: FlowApp): boolean {
    this.anomalies.count('quic.not_quic');
    return this.stage.unnamed(app);
  }

  /**
   * QUIC (RFC 9000 §17.2): client Initials are decrypted and their CRYPTO
   * frames reassembled until the ClientHello is whole. Any other first UDP
   * payload carries no name. True when naming just ended.
   */
  onDatagram(app: FlowApp, p: Packet, buf: Buffer, tsUs: number): boolean {
    if (app.quic === null) {
      const udpLen = u16be(buf, p.payloadOff - UDP_LENGTH_BACK);
      const probe = probeQuicInitial(buf, p.payloadOff, p.payloadLen, udpLen === 0 ? p.payloadLen : udpLen - 8);
      if (probe === QuicProbe.NOT_QUIC) {
        return looksLikeLongHeader(buf, p.payloadOff, p.payloadLen) ? this.notQuic(app) : this.stage.unnamed(app);
      }
      if (!this.stage.acquire(app)) return this.stage.unnamed(app);
      app.quic = new QuicInitialAssembler(this.ahead);
      if (probe === QuicProbe.UNKNOWN_VERSION) {
        // QUIC only if the server answers with Version Negotiation (onReply).
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
      return ++app.quicDatagrams >= MAX_QUIC_DATAGRAMS ? this.stage.unnamed(app) : false;
    }
    if (r.kind === 'done') this.stage.clientHello(app, r.value, 'quic', tsUs, quic.version ?? undefined);
    this.stage.done(app);
    return true;
  }
}
