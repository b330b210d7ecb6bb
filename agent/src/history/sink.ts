// The live agent's history sink, beside the MQTT publisher and the evidence
// recorder: every ended flow and alert, and on each stats tick the capture
// health and status, become points for the writer (agent/src/history/writer.ts).
// Nothing here blocks or throws into the capture path.

import type { AlertRecord, FlowRecord } from '../output/flow-record.js';
import type { ScanStats } from '../output/ndjson.js';
import type { HistoryTarget } from './config.js';
import { alertPoint, capturePoint, flowPoint, type PointContext, statusPoint } from './points.js';
import { HistoryWriter, type HistoryWriterOptions } from './writer.js';

export interface HealthInput {
  stats: ScanStats;
  /** Live capture health (tcpdump); null for a replay. */
  capture: { packets: number; kernelDrops: number; restarts: number } | null;
  state: string;
  text: string;
  startedUs: number;
}

export class HistorySink {
  readonly writer: HistoryWriter;
  private lastPackets = 0;
  private lastUs = 0;

  constructor(
    readonly target: HistoryTarget,
    private readonly log: (line: string) => void,
    options: Partial<HistoryWriterOptions> = {},
  ) {
    this.writer = new HistoryWriter({ target, log, maxQueued: target.maxQueued, ...options });
    // Schema setup and the first writes run in the background: a bad URL or password is logged, capture goes on.
    void this.writer.start();
  }

  flow(r: FlowRecord, ctx: PointContext): void {
    this.writer.add(flowPoint(r, ctx));
  }

  alert(a: AlertRecord, ctx: PointContext): void {
    this.writer.add(alertPoint(a, ctx));
  }

  /** One capture-health and one status point (each stats tick). */
  sample(h: HealthInput, ctx: PointContext, nowUs = Date.now() * 1000): void {
    const packets = h.capture?.packets ?? h.stats.packets;
    const dtS = this.lastUs === 0 ? 0 : (nowUs - this.lastUs) / 1e6;
    const pps = dtS > 0 ? Math.max(0, packets - this.lastPackets) / dtS : 0;
    this.lastPackets = packets;
    this.lastUs = nowUs;
    let anomalies = 0;
    for (const v of Object.values(h.stats.anomalies)) anomalies += v;
    this.writer.add(
      capturePoint(
        {
          tsUs: nowUs,
          packets,
          pps,
          kernelDrops: h.capture?.kernelDrops ?? 0,
          restarts: h.capture?.restarts ?? 0,
          anomalies,
          flows: h.stats.flows,
        },
        ctx,
      ),
    );
    this.writer.add(
      statusPoint({ tsUs: nowUs, state: h.state, text: h.text, uptimeS: (nowUs - h.startedUs) / 1e6 }, ctx),
    );
  }

  /** history.<counter> for the stats message. */
  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.writer.counters)) out[`history.${k}`] = v;
    out['history.connected'] = this.writer.lastError === null ? 1 : 0;
    return out;
  }

  /** Send what is queued (up to `ms`), then log what became of every point. */
  async close(ms: number): Promise<void> {
    await this.writer.close(ms);
    const c = this.writer.counters;
    this.log(
      `history: ${c.added} points, ${c.written} written, ${c.dropped} dropped, ${c.rejected} rejected by InfluxDB` +
        `${this.writer.lastError ? ` (last error ${this.writer.lastError.code})` : ''}`,
    );
  }
}
