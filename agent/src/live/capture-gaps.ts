// Gaps in the live capture (DESIGN.md `capture_gap`; issue 15 part 3): the
// kernel or the interface dropped packets, or tcpdump ended and a new one
// had to start. Each becomes an event with its time window and count, and
// the agent's retained status says "capture incomplete" until a clean
// interval has passed: an operator must never read "no alert" as "nothing
// happened" while the capture was blind.
//
//   tcpdump stderr (SIGUSR1 / exit statistics) ─► GapDetector ─► CaptureGap
//   tcpdump gone … next one listening          ─┘
//   CaptureGap ─► CaptureGapLog ─► stats (CaptureHealth.gaps), status (capture_incomplete)
//
// libpcap's counters (pcap_stats(3PCAP)) are cumulative per process and only
// known when tcpdump reports them, so a drop's window runs from the previous
// report to the one that showed it: the packets were lost somewhere in it.

import type { CaptureGap } from '../capture/types.js';
import { isoMicros } from '../output/time.js';
import type { TcpdumpCounters } from './tcpdump-stderr.js';

/** Turns one capture's statistics reports and restarts into gaps. */
export class GapDetector {
  /** When the current tcpdump last reported each counter (or started listening); -1: not listening. */
  private kernelSinceUs = -1;
  private ifaceSinceUs = -1;
  /** When the capture went blind: the first tcpdump that ended since one last listened; -1: none. */
  private goneUs = -1;

  constructor(
    private readonly emit: (gap: CaptureGap) => void,
    /** Wall clock in µs. */
    private readonly nowUs: () => number,
  ) {}

  /** A tcpdump opened the interface: a capture that was gone is back, and the time between is a gap. */
  listening(): void {
    const t = this.nowUs();
    if (this.goneUs >= 0) this.emit({ startUs: this.goneUs, endUs: t, cause: 'capture_restart', packetsDropped: null });
    this.goneUs = -1;
    this.kernelSinceUs = this.ifaceSinceUs = t;
  }

  /** A statistics report of the running tcpdump; `before` holds its counters as of the previous report. */
  stats(before: TcpdumpCounters, now: Partial<TcpdumpCounters>): void {
    const t = this.nowUs();
    if (now.droppedByKernel !== undefined) {
      const n = now.droppedByKernel - before.droppedByKernel;
      if (n > 0)
        this.emit({ startUs: since(this.kernelSinceUs, t), endUs: t, cause: 'kernel_drop', packetsDropped: n });
      this.kernelSinceUs = t;
    }
    if (now.droppedByInterface !== undefined) {
      const n = now.droppedByInterface - before.droppedByInterface;
      if (n > 0)
        this.emit({ startUs: since(this.ifaceSinceUs, t), endUs: t, cause: 'interface_drop', packetsDropped: n });
      this.ifaceSinceUs = t;
    }
  }

  /** The tcpdump process ended while the capture should run (not at stop): blind from now until the next listens. */
  gone(): void {
    if (this.goneUs < 0) this.goneUs = this.nowUs();
    this.kernelSinceUs = this.ifaceSinceUs = -1;
  }
}

function since(fromUs: number, t: number): number {
  return fromUs < 0 || fromUs > t ? t : fromUs;
}

/** Gaps waiting for the next stats message; more are counted, not kept. */
export const MAX_PENDING_GAPS = 256;
/** Default time without a gap before the capture counts as complete again. */
export const DEFAULT_CLEAN_MS = 60_000;

/** The agent's record of gaps: what the next stats message carries, and whether the status must say "incomplete". */
export class CaptureGapLog {
  /** Time without a new gap after which the capture is complete again. */
  cleanMs = DEFAULT_CLEAN_MS;
  readonly counters = { gaps: 0, gaps_not_sent: 0, packets_missed: 0 };
  private pending: CaptureGap[] = [];
  private lastGap: CaptureGap | null = null;
  /** Wall clock (ms) when the last gap was reported. */
  private lastAtMs = 0;

  constructor(private readonly nowMs: () => number = Date.now) {}

  add(gap: CaptureGap): void {
    this.counters.gaps++;
    this.counters.packets_missed += gap.packetsDropped ?? 0;
    if (this.pending.length < MAX_PENDING_GAPS) this.pending.push(gap);
    else this.counters.gaps_not_sent++;
    this.lastGap = gap;
    this.lastAtMs = this.nowMs();
  }

  /** The gaps since the last call, oldest first. */
  drain(): CaptureGap[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }

  get last(): CaptureGap | null {
    return this.lastGap;
  }

  /** A gap was reported less than cleanMs ago. */
  get incomplete(): boolean {
    return this.lastGap !== null && this.nowMs() - this.lastAtMs < this.cleanMs;
  }

  /** For the status text while incomplete, else null. */
  problem(): string | null {
    const g = this.lastGap;
    if (g === null || !this.incomplete) return null;
    return `capture incomplete: ${describeGap(g)}`;
  }
}

/** A gap in plain language: "1234 packets dropped by the kernel between 18:20:01 and 18:20:06 UTC (5 s)". */
export function describeGap(g: CaptureGap): string {
  const seconds = Math.round((g.endUs - g.startUs) / 1e5) / 10;
  const window = `between ${clock(g.startUs)} and ${clock(g.endUs)} UTC (${seconds} s)`;
  const n = g.packetsDropped;
  const count = n === null ? 'packets' : `${n} packet${n === 1 ? '' : 's'}`;
  switch (g.cause) {
    case 'kernel_drop':
      return `${count} dropped by the kernel ${window}`;
    case 'interface_drop':
      return `${count} dropped by the interface ${window}`;
    case 'capture_restart':
      return `capture restarted, blind ${window}`;
    case 'capture_down':
      return `capture down ${window}`;
    default:
      return `${count} missing from the capture file ${window}`;
  }
}

function clock(us: number): string {
  return isoMicros(us).slice(11, 19);
}

/** The stats message's capture health with the gaps since the last one; null without a live capture. */
export function withGaps<H extends object>(health: H | null, log: CaptureGapLog): (H & { gaps: CaptureGap[] }) | null {
  return health === null ? null : { ...health, gaps: log.drain() };
}
