// The evidence recorder: the live agent's flight sessions, fed from the
// pipeline's sinks. It records into the open session's chained log every
// internet flow, every alert, every capture gap (kernel/interface drops,
// capture restarts, the agent itself down), every command; it keeps the
// pre-trigger packet ring and writes flagged flows' packets — with the DNS
// packets that named them — to flagged.pcapng.
//
//   capture ─► recorder.packet ─► pipeline.packet ─► flow / alert sinks ─► recorder
//                   └─► ring (or flagged.pcapng once its flow is flagged)

import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { CaptureGap, PacketSink } from '../capture/types.js';
import { IpProto } from '../decode/packet.js';
import type { AlertRecord, FlowRecord } from '../output/flow-record.js';
import { lookupEventLine } from '../output/lookup.js';
import { alertEventLine, flowEventLine } from '../output/ndjson.js';
import { isoMicros } from '../output/time.js';
import type { ScanPipeline } from '../pipeline.js';
import type { LookupRecord } from '../policy/lookups.js';
import { FlaggedPcap } from './flagged-pcap.js';
import { PacketRing, type PacketRingOptions } from './ring.js';
import {
  endSession,
  type OpenSession,
  type OperatorFields,
  type RecorderContext,
  resumeSession,
  type SessionMeta,
  startSession,
} from './session-store.js';

export interface EvidenceOptions {
  ring?: PacketRingOptions;
  /** Bound of flagged.pcapng per session (default 64 MiB). */
  pcapBytes?: number;
  /** A checkpoint at least this often while records come in (default 10 s). */
  checkpointSeconds?: number;
  log?: (line: string) => void;
}

const DNS_PORT = 53;

/** Flagged flows remembered for writing their later packets (bounded; the oldest is forgotten). */
const MAX_FLAGGED_FLOWS = 4096;

export class EvidenceRecorder implements PacketSink {
  private session: OpenSession | null = null;
  private pcap: FlaggedPcap | null = null;
  readonly ring: PacketRing;
  /** flow id → comment for its packets. */
  private readonly flagged = new Map<number, string>();
  private lastCheckpointUs = 0;
  private flowsInternet = 0;
  private flowsLocal = 0;
  private alerts = 0;
  private gaps = 0;
  /** Packets seen while a session is open (this run). */
  private packets = 0;
  private readonly now: () => number;
  private readonly pcapBytes: number;

  constructor(
    readonly dataDir: string,
    private readonly ctx: RecorderContext,
    private readonly pipeline: ScanPipeline,
    private readonly options: EvidenceOptions = {},
  ) {
    this.ring = new PacketRing(options.ring);
    this.now = ctx.now ?? (() => Date.now() * 1000);
    this.pcapBytes = options.pcapBytes ?? 64 * 1024 * 1024;
  }

  get current(): SessionMeta | null {
    return this.session?.meta ?? null;
  }

  get records(): number {
    return this.session?.log.records ?? 0;
  }

  get gapCount(): number {
    return this.gaps;
  }

  get fingerprint(): string {
    return this.ctx.key.fingerprint;
  }

  /** The agent stops with the session still open: sign the head, fsync and close the files; the next start resumes it. */
  suspend(): void {
    const s = this.session;
    if (s === null) return;
    this.append('suspend', JSON.stringify({ packets: this.packets }));
    this.pcap?.close();
    s.log.close();
    this.session = null;
    this.pcap = null;
  }

  /** Reopen a session an earlier run left open; the time the agent was away is a capture gap. */
  resume(): SessionMeta | null {
    const r = resumeSession(this.dataDir, this.ctx);
    if (r === null) return null;
    this.open(r.session);
    const nowUs = this.now();
    this.append('resume', JSON.stringify({ torn_bytes_dropped: r.tornBytes, run: this.session?.meta.resumed ?? 0 }));
    this.gap(r.gapStartUs ?? nowUs, nowUs, 'capture_down', null, 'the agent was not running (restart or power cut)');
    this.options.log?.(`flight ${r.session.meta.id} resumed after a gap since ${isoMicros(r.gapStartUs ?? nowUs)}`);
    return r.session.meta;
  }

  start(name: string, operator: OperatorFields = {}): SessionMeta {
    const s = startSession(this.dataDir, this.ctx, name, operator);
    this.flowsInternet = this.flowsLocal = this.alerts = this.gaps = this.packets = 0;
    this.open(s);
    return s.meta;
  }

  end(): SessionMeta | null {
    const s = this.session;
    if (s === null) return null;
    const pc = this.pcap?.counters ?? { packets: 0, bytes: 0, dropped: 0 };
    this.pcap?.close();
    const meta = endSession(s, this.ctx, {
      packets: this.packets,
      flows_internet: this.flowsInternet,
      flows_local: this.flowsLocal,
      alerts: this.alerts,
      capture_gaps: this.gaps,
      flagged_packets: pc.packets,
      flagged_packets_dropped: pc.dropped,
    });
    this.session = null;
    this.pcap = null;
    this.flagged.clear();
    return meta;
  }

  /** The capture sink: the pipeline first (it may flag the packet's flow), then the ring or flagged.pcapng. */
  packet(buf: Buffer, off: number, caplen: number, origLen: number, tsUs: number, linkType: number): void {
    this.pipeline.packet(buf, off, caplen, origLen, tsUs, linkType);
    if (this.session === null) return;
    this.packets++;
    const id = this.pipeline.lastFlowId;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: flow ids start at 1 and an alert's flow id is one of them, so flagged.get(-1) is undefined anyway
    const comment = id < 0 ? undefined : this.flagged.get(id);
    if (comment !== undefined) this.pcap?.write(buf, off, caplen, origLen, tsUs, linkType, comment);
    else {
      const v = this.pipeline.view;
      // DNS runs over UDP and TCP; an ICMP echo's identifier sits in the port fields too.
      const transport = v.proto === IpProto.UDP || v.proto === IpProto.TCP;
      const dns = id >= 0 && transport && (v.srcPort === DNS_PORT || v.dstPort === DNS_PORT) ? 1 : 0;
      this.ring.push(buf, off, caplen, origLen, tsUs, linkType, id, dns);
    }
  }

  flow(r: FlowRecord): void {
    if (this.session === null) return;
    if (!r.internet) {
      this.flowsLocal++;
      return;
    }
    this.flowsInternet++;
    this.append('flow', flowEventLine(r));
  }

  /** A client asked for a denied name (policy/lookups.ts): logged as a `lookup` record, no packets to keep. */
  lookup(l: LookupRecord): void {
    // Stryker disable next-line ConditionalExpression: append() writes nothing without a session; the check says so here
    if (this.session === null) return;
    this.append('lookup', lookupEventLine(l));
  }

  alert(a: AlertRecord): void {
    if (this.session === null) return;
    this.alerts++;
    this.append('alert', alertEventLine(a));
    const id = a.app.flowId;
    const comment = `flow ${id} ${a.severity} [${a.reasons.join(',')}] ${a.names[0] ?? a.app.destIp}`;
    const first = !this.flagged.has(id);
    if (this.flagged.size >= MAX_FLAGGED_FLOWS && first) {
      const oldest = this.flagged.keys().next().value as number;
      this.flagged.delete(oldest);
    }
    this.flagged.set(id, comment);
    if (!first) return;
    const wire = a.names.map(dnsWireName);
    const pcap = this.pcap;
    if (pcap === null) return;
    this.ring.take(
      (p) => p.flowId === id || (p.mark === 1 && wire.some((w) => p.buf.subarray(p.off, p.off + p.caplen).includes(w))),
      (p) =>
        pcap.write(
          p.buf,
          p.off,
          p.caplen,
          p.origLen,
          p.tsUs,
          p.linkType,
          p.flowId === id ? comment : `dns naming flow ${id} (${a.names.join(', ')})`,
        ),
    );
  }

  /** A command received over MQTT or the CLI (the token is never recorded). */
  command(verb: string, args: Record<string, string>): void {
    // Stryker disable next-line ConditionalExpression: append() writes nothing without a session; the check says so here
    if (this.session === null) return;
    this.append('command', JSON.stringify({ verb, args }));
  }

  /** A gap in the live capture (live/capture-gaps.ts): kernel or interface drops, a capture restart. */
  captureGap(g: CaptureGap): void {
    if (this.session === null) return;
    this.gap(g.startUs, g.endUs, g.cause, g.packetsDropped);
  }

  /** About once a second: a signed checkpoint when records came in and the last one is older than the interval. */
  tick(): void {
    if (this.session === null) return;
    const nowUs = this.now();
    if (nowUs - this.lastCheckpointUs >= (this.options.checkpointSeconds ?? 10) * 1e6) {
      this.lastCheckpointUs = nowUs;
      this.session.log.checkpoint();
      this.pcap?.sync();
    }
  }

  counters(): Record<string, number> {
    const out: Record<string, number> = {
      'evidence.records': this.records,
      'evidence.ring_packets': this.ring.size,
      'evidence.ring_evicted': this.ring.counters.evicted,
      'evidence.flagged_flows': this.flagged.size,
    };
    const pc = this.pcap?.counters;
    if (pc) {
      out['evidence.flagged_packets'] = pc.packets;
      out['evidence.flagged_dropped'] = pc.dropped;
    }
    return out;
  }

  private gap(startUs: number, endUs: number, cause: string, dropped: number | null, note?: string): void {
    this.gaps++;
    this.append(
      'capture_gap',
      JSON.stringify({
        start: isoMicros(startUs),
        end: isoMicros(endUs),
        cause,
        packets_dropped: dropped,
        ...(note ? { note } : {}),
      }),
    );
  }

  private open(s: OpenSession): void {
    this.session = s;
    this.lastCheckpointUs = this.now();
    const file = join(s.dir, 'flagged.pcapng');
    this.pcap = new FlaggedPcap(file, this.pcapBytes, `Egress Sentinel ${this.ctx.version}`, fileSize(file));
    this.pcap.onTruncated = () =>
      this.append('pcap_truncated', JSON.stringify({ file: 'flagged.pcapng', max_bytes: this.pcapBytes }));
  }

  private append(type: string, data: string): void {
    this.session?.log.append(type, data);
  }
}

/** A DNS name as it appears in a query or answer (RFC 1035 §3.1), lower case. */
export function dnsWireName(name: string): Buffer {
  const labels = name.toLowerCase().replace(/\.$/, '').split('.');
  const parts: Buffer[] = [];
  for (const l of labels) {
    const b = Buffer.from(l, 'ascii');
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
