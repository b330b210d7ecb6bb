// The scan pipeline, in DESIGN.md's order: capture records → decode → flow
// table → names → enrich → policy → outputs. One object is the capture sink
// and the flow-end sink, so the per-packet path is a few monomorphic calls;
// per-flow work (enrichment, verdicts) happens once per flow, and the names
// stage only sees flows still being named and DNS flows. Between packets a
// flow's names/enrich/policy state is a record in slot-indexed arrays
// (names/at-rest.ts); a FlowApp object is kept only while it holds
// reassembly or DNS-over-TCP state.

import type { CaptureGap, PacketSink } from './capture/types.js';
import { Anomalies } from './decode/anomaly.js';
import { decodePacket } from './decode/decode.js';
import { DecodeResult, IpProto, Packet } from './decode/packet.js';
import { Enricher } from './enrich/enricher.js';
import { isInternetV4, isInternetV6 } from './enrich/scope.js';
import { type FlowEndSink, FlowTable, type FlowTableOptions } from './flow/table.js';
import { FlowsAtRest } from './names/at-rest.js';
import { DnsAnswerCache, type DnsAnswerCacheOptions } from './names/dns-cache.js';
import { NamesEngine } from './names/engine.js';
import { FlowApp, SEVERITY_RANK } from './names/flow-app.js';
import type { QuicAhead } from './names/quic-ahead.js';
import { describeJudgement } from './output/describe.js';
import {
  type AlertFactsRecord,
  type AlertRecord,
  type AppEventRecord,
  type FlowRecord,
  protoName,
  readFlowRecord,
} from './output/flow-record.js';
import { readTunnel, type TunnelInfo } from './output/tunnel.js';
import { loadPolicy } from './policy/load.js';
import { type LookupRecord, LookupWatch } from './policy/lookups.js';
import type { Policy } from './policy/policy.js';
import { type Destination, judge } from './policy/verdict.js';
import { i32be } from './util/bytes.js';

const FINISH_BATCH = 1024;

export interface EventOutput {
  /** Once per finished flow, in the order flows end (only internet flows when `internetFlowsOnly`); or flowAt(). */
  flow?(record: FlowRecord): void;
  /** flow() takes internet flows only: a LAN flow ends without an object made for it. */
  internetFlowsOnly?: boolean;
  /** When a flow's verdict is first decided as flagged, and again if its severity rises. */
  alert?(record: AlertRecord): void;
  /** DNS, TLS, QUIC and HTTP events, as they are seen. */
  app?(record: AppEventRecord): void;
  /** The capture was blind for a while (a pcapng statistics block's drop count). */
  gap?(gap: CaptureGap): void;
  /** A client asked a resolver for a denied name: once per client and name (policy/lookups.ts). */
  lookup?(record: LookupRecord): void;
  /**
   * Instead of alert(): the alert without its text, for an output that makes
   * the text itself (describeJudgement) from the flow and the judgement, off
   * the pipeline's thread. Only with keepsNoRecord (the flow is read during the call).
   */
  alertFacts?(record: AlertFactsRecord): void;
  /**
   * Instead of flow(): the ended flow where it lies (the table's slot, its
   * FlowApp), for an output that reads what it writes during the call
   * (keepsNoRecord) and has no use for a FlowRecord object.
   */
  flowAt?(table: FlowTable, slot: number, reason: number, app: FlowApp, tunnel: TunnelInfo | null): void;
  /**
   * Each call is done with its record when it returns (it writes or copies
   * what it needs and keeps no reference): the pipeline may then make the
   * record's FlowApp over for another flow.
   */
  keepsNoRecord?: boolean;
}

export interface PipelineOptions extends FlowTableOptions {
  /** Default: the built-in default profile. */
  policy?: Policy;
  /** Default: no geo database, only the policy's geo_overrides. */
  enricher?: Enricher;
  /** Client + name pairs remembered for `lookup` events (default DEFAULT_MAX_LOOKUP_PAIRS). */
  maxLookupPairs?: number;
  dnsCache?: Partial<DnsAnswerCacheOptions>;
  /** Flows that may hold a reassembly buffer at once (default MAX_REASSEMBLY_STATES). */
  maxReassemblyStates?: number;
  /** QUIC Initials opened ahead by another thread reading the same capture (names/quic-ahead.ts). */
  quicAhead?: QuicAhead;
}

export class ScanPipeline implements PacketSink, FlowEndSink {
  readonly anomalies = new Anomalies();
  readonly flows: FlowTable;
  readonly dnsCache: DnsAnswerCache;
  readonly names: NamesEngine;
  readonly lookups: LookupWatch;
  packets = 0;
  bytes = 0;
  firstUs = -1;
  lastUs = -1;
  /** Packets by DecodeResult: transport, ip only, not IP, malformed. */
  readonly decoded = new Float64Array(4);
  flowsInternet = 0;
  flowsLocal = 0;
  alerts = 0;
  /** Flow id of the last packet handed in (-1: not a transport packet); the evidence ring files packets by it. */
  lastFlowId = -1;
  /** The last packet decoded (valid until the next one; the evidence recorder reads its ports). */
  readonly view = new Packet();
  /** The outer header of a UDP tunnel (VXLAN, Geneve) whose endpoint is on the internet: a flow of its own. */
  private readonly outerView = new Packet();
  /** Tunnelled flows by flow id (bounded by the flow table): what carried them, for their record and alert text. */
  readonly tunnels = new Map<number, TunnelInfo>();
  /** Scratch address words and destination for enrich and policy lookups. */
  private readonly words = new Int32Array(4);
  private readonly dest: Destination = {
    words: this.words,
    v6: false,
    internet: false,
    names: [],
    country: null,
    asn: null,
    asCountry: null,
  };
  /** Flows holding reassembly or DNS-over-TCP state; every other flow is recorded in `atRest`. */
  private readonly apps: (FlowApp | undefined)[];
  /** A FlowApp no flow holds, made over by the next newFlowApp (only when the output keepsNoRecord). */
  private spare: FlowApp | null = null;
  private readonly reuseApps: boolean;
  readonly atRest: FlowsAtRest;
  private readonly policy: Policy;
  private readonly enricher: Enricher;
  private readonly quicAhead: QuicAhead | null;

  constructor(
    private readonly out: EventOutput,
    options: PipelineOptions = {},
  ) {
    this.flows = new FlowTable(this, options);
    // Grows with the slots in use (the table hands out slots from the lowest up).
    this.apps = [];
    this.atRest = new FlowsAtRest(this.flows.maxFlows);
    this.policy = options.policy ?? loadPolicy({});
    this.enricher = options.enricher ?? new Enricher(null, this.policy.geoOverrides);
    this.dnsCache = new DnsAnswerCache(options.dnsCache);
    this.lookups = new LookupWatch(this.policy.denyDomains, options.maxLookupPairs);
    this.names = new NamesEngine(
      this.anomalies,
      this.dnsCache,
      (app, tsUs, type, body, dns) => {
        this.out.app?.({ tsUs, app, type, body, dns });
        if (dns !== null && this.out.lookup !== undefined) {
          const l = this.lookups.check(app, tsUs, dns.message.questions[0]?.name ?? null);
          if (l !== null) this.out.lookup(l);
        }
      },
      options.maxReassemblyStates,
      options.quicAhead ?? null,
    );
    this.quicAhead = options.quicAhead ?? null;
    this.reuseApps = out.keepsNoRecord === true;
  }

  packet(buf: Buffer, off: number, caplen: number, origLen: number, tsUs: number, linkType: number): void {
    if (this.quicAhead !== null) this.quicAhead.index = this.packets;
    this.packets++;
    this.bytes += origLen;
    if (this.firstUs < 0) this.firstUs = tsUs;
    if (tsUs > this.lastUs) this.lastUs = tsUs;
    const p = this.view;
    const r = decodePacket(buf, off, caplen, linkType, p, this.anomalies.counts);
    this.decoded[r]++;
    this.lastFlowId = -1;
    if (r !== DecodeResult.TRANSPORT) return;
    this.track(p, buf, origLen, tsUs);
    if (p.tunnelType !== 0 && p.outerProto === IpProto.UDP) this.outerFlow(p, buf, origLen, tsUs);
  }

  /**
   * A UDP tunnel whose endpoint is on the internet is a flow of its own, beside the inner one.
   * (IP-in-IP and GRE outer headers are no TCP/UDP/ICMP flow the event contract can carry:
   * their inner flow records the outer addresses in `tunnel`.)
   */
  private outerFlow(p: Packet, buf: Buffer, origLen: number, tsUs: number): void {
    const v6 = p.outerIpVersion === 6;
    if (!this.isInternetAt(buf, p.outerSrcAddrOff, v6) && !this.isInternetAt(buf, p.outerDstAddrOff, v6)) return;
    const o = this.outerView;
    o.reset();
    o.ipVersion = p.outerIpVersion;
    o.addrLen = p.outerAddrLen;
    o.srcAddrOff = p.outerSrcAddrOff;
    o.dstAddrOff = p.outerDstAddrOff;
    o.proto = IpProto.UDP;
    o.srcPort = p.outerSrcPort;
    o.dstPort = p.outerDstPort;
    // The payload is the tunnel's, already decoded: nothing in it for the names stage.
    // The packet stays filed under its inner flow (lastFlowId) for the evidence ring.
    const inner = this.lastFlowId;
    this.track(o, buf, origLen, tsUs);
    this.lastFlowId = inner;
  }

  private isInternetAt(buf: Buffer, off: number, v6: boolean): boolean {
    if (!v6) return isInternetV4(i32be(buf, off));
    return isInternetV6(i32be(buf, off), i32be(buf, off + 4), i32be(buf, off + 8), i32be(buf, off + 12));
  }

  /** One decoded packet into its flow, and the flow through names, enrichment and policy. */
  private track(p: Packet, buf: Buffer, origLen: number, tsUs: number): void {
    const flows = this.flows;
    const slot = flows.update(p, buf, origLen, tsUs);
    this.lastFlowId = flows.id[slot];
    let app = this.apps[slot];
    if (flows.lastCreated) {
      if (p.tunnelType !== 0) this.tunnels.set(flows.id[slot], readTunnel(p, buf));
      app = this.startFlow(slot, tsUs);
    } else if (app === undefined) {
      // A recorded flow: most of its packets (and every packet once it is decided, unless it is DNS) need no object.
      const rest = this.atRest;
      if (rest.bits[slot] === 0) app = this.startFlow(slot, tsUs);
      else if (!rest.readsPackets(slot)) return;
      else if (rest.isNaming(slot) && !this.names.wantsPacket(p, flows.lastToServer)) return;
      else app = this.restore(slot);
    }
    if ((app.naming || app.appProto === 'dns') && this.names.onPacket(app, p, buf, flows.lastToServer, tsUs)) {
      this.decide(app, tsUs);
    }
    this.rest(slot, app);
  }

  captureGap(gap: CaptureGap): void {
    this.out.gap?.(gap);
  }

  /** After a packet: a flow that holds no reassembly state is recorded and its object dropped. */
  private rest(slot: number, app: FlowApp): void {
    if (app.holdsReassembly || app.dnsTcp !== null) {
      this.apps[slot] = app;
      return;
    }
    this.atRest.record(slot, app);
    this.apps[slot] = undefined;
    if (this.reuseApps) this.spare = app;
  }

  /** A recorded flow's FlowApp, made again for one packet or its end. */
  private restore(slot: number): FlowApp {
    const app = this.newFlowApp(slot);
    this.atRest.restore(slot, app);
    return app;
  }

  private newFlowApp(slot: number): FlowApp {
    const t = this.flows;
    const w = this.words;
    for (let i = 0; i < 4; i++) w[i] = t.serverWord(slot, i);
    const proto = protoName(t.proto(slot));
    const icmp = proto === 'ICMP' || proto === 'ICMPv6';
    // A new object only when there is no spare: the identity is set by reuse() either way.
    const app = this.spare ?? new FlowApp(0, null, null, 'TCP', false, 0, 0, 0, 0, 0, 0, 0, 0);
    this.spare = null;
    return app.reuse(
      t.id[slot],
      icmp ? null : t.clientPort(slot),
      icmp ? null : t.serverPort(slot),
      proto,
      t.addrLen(slot) === 16,
      t.clientWord(slot, 0),
      t.clientWord(slot, 1),
      t.clientWord(slot, 2),
      t.clientWord(slot, 3),
      w[0],
      w[1],
      w[2],
      w[3],
    );
  }

  /** A new flow: who the destination is, which names led there, and a verdict now if an address or DNS name already denies. */
  private startFlow(slot: number, tsUs: number): FlowApp {
    const app = this.newFlowApp(slot);
    const w = this.words;
    const v6 = app.v6;
    app.internet = v6 ? isInternetV6(w[0], w[1], w[2], w[3]) : isInternetV4(w[0]);
    if (app.internet) {
      this.enricher.lookup(w, v6, app);
      app.addDnsNames(this.dnsCache.namesForFlow(app, tsUs));
      if (this.judge(app).verdict === 'high') this.decide(app, tsUs);
    }
    return app;
  }

  private judge(app: FlowApp) {
    const d = this.dest;
    d.words = app.destWords(this.words);
    d.v6 = app.v6;
    d.internet = app.internet;
    d.names = app.names();
    d.country = app.country;
    d.asn = app.asn;
    d.asCountry = app.asCountry;
    return judge(d, this.policy);
  }

  /** Decide (or re-decide) the verdict; alert when it is first flagged or its severity rises. */
  private decide(app: FlowApp, tsUs: number): void {
    if (app.internet && !app.decided) {
      // Names answered between the flow's start and now still count.
      app.addDnsNames(this.dnsCache.namesForFlow(app, tsUs));
    }
    // Nothing a verdict depends on changed since the last one (same names, same address): keep it.
    if (app.decided && app.judgedNames === app.names()) return;
    app.judgedNames = app.names();
    const j = this.judge(app);
    app.judgement = j;
    app.decided = true;
    const rank = SEVERITY_RANK[j.verdict];
    if (rank > app.alerted && j.verdict !== 'allowed') {
      app.alerted = rank;
      this.alerts++;
      const tunnel = this.tunnels.size === 0 ? null : (this.tunnels.get(app.flowId) ?? null);
      const names = app.names();
      const out = this.out;
      if (out.alertFacts !== undefined) out.alertFacts({ tsUs, app, names, severity: j.verdict, judgement: j, tunnel });
      else {
        out.alert?.({
          tsUs,
          app,
          names,
          severity: j.verdict,
          reasons: j.reasons,
          text: describeJudgement(app, names, j, tunnel),
          tunnel,
        });
      }
    }
  }

  flowEnded(table: FlowTable, slot: number, reason: number): void {
    let app = this.apps[slot];
    if (app === undefined) {
      const rest = this.atRest;
      if (rest.bits[slot] !== 0 && this.out.internetFlowsOnly === true && !rest.isInternet(slot)) {
        // A LAN flow the output does not take: policy judges only internet destinations, so its end
        // can raise no alert, and all that is left is to count it and let its record go.
        rest.clear(slot);
        this.flowsLocal++;
        if (this.tunnels.size !== 0) this.tunnels.delete(table.id[slot]);
        return;
      }
      app = rest.bits[slot] !== 0 ? this.restore(slot) : this.startFlow(slot, table.lastUs[slot]);
    }
    this.apps[slot] = undefined;
    this.atRest.clear(slot);
    this.names.release(app);
    // Flow end: the final verdict, with every name seen (an alert if it is higher than before).
    this.decide(app, table.lastUs[slot]);
    if (app.internet) this.flowsInternet++;
    else this.flowsLocal++;
    let tunnel: TunnelInfo | null = null;
    if (this.tunnels.size !== 0) {
      tunnel = this.tunnels.get(app.flowId) ?? null;
      this.tunnels.delete(app.flowId);
    }
    const out = this.out;
    if (out.flowAt !== undefined) out.flowAt(table, slot, reason, app, tunnel);
    else out.flow?.(readFlowRecord(table, slot, reason, app, tunnel));
    if (this.reuseApps) this.spare = app;
  }

  /**
   * End of input: every open flow is finished and handed to the output, in
   * batches with `between` awaited after each, so a slow reader of the
   * output holds back the flush instead of memory growing.
   */
  async finish(between: () => Promise<void> = async () => {}): Promise<void> {
    const slots = this.flows.openFlowsInOrder();
    for (let i = 0; i < slots.length; i++) {
      this.flows.endAtEndOfInput(slots[i]);
      if (i % FINISH_BATCH === FINISH_BATCH - 1) await between();
    }
  }
}
