// Replays a capture file through the live path, with its timing: each
// packet is delivered no earlier than start + (ts - ts0) / speed, or as fast
// as possible at speed 'max' (yielding to the event loop between chunks so
// timers, MQTT and the dashboard keep running), once or in a loop.
//
// Memory stays bounded: the file is read a chunk at a time and, when paced,
// the packets of one chunk are copied into an arena (the reader's buffers
// are views valid only during its call) and delivered before the next chunk
// is read. At 'max' nothing is copied: packets go straight to the sink.

import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { CaptureReader, fileChunks } from '../capture/reader.js';
import type { PacketSink } from '../capture/types.js';
import type { Anomalies } from '../decode/anomaly.js';
import { EgressError, ErrorCode } from '../errors.js';

/** A positive factor (1 = real time, 4 = four times faster) or 'max'. */
export type ReplaySpeed = number | 'max';

/**
 * Which timestamps the sink sees. 'arrival': the wall clock when the packet
 * is delivered, as tcpdump would have stamped it had the traffic been live;
 * a live agent wants this, so that alerts, flow times and idle expiry by
 * wall clock all agree with "now". 'capture': the file's own timestamps
 * (shifted forward on each loop), as `egress scan` reports them.
 */
export type ReplayTimestamps = 'arrival' | 'capture';

export interface ReplayOptions {
  /** Default 1. */
  speed?: ReplaySpeed;
  /** Start over at the end of the file, until aborted or maxLoops; timestamps keep increasing. */
  loop?: boolean;
  /** With loop: passes over the file after the first (default: no limit). */
  maxLoops?: number;
  /** With loop: capture time between the last packet of a pass and the first of the next (default 1000 ms). */
  loopGapMs?: number;
  /** Default 'arrival' when paced, 'capture' at speed 'max' (where arrival time carries no information). */
  timestamps?: ReplayTimestamps;
  signal?: AbortSignal;
  /** Bytes read (and, when paced, held) at a time; default 256 KiB. */
  chunkBytes?: number;
  /** Counters for malformed records (share the pipeline's). */
  anomalies?: Anomalies;
  /** The file starts over; `loops` counts the passes after the first. */
  onLoop?: (loops: number) => void;
  /** Monotonic clock in ms (default performance.now) and wall clock in ms (default Date.now). */
  monotonic?: () => number;
  wallClock?: () => number;
}

export interface ReplayStats {
  packets: number;
  /** Bytes on the wire (original length) of the packets delivered. */
  bytes: number;
  /** Times the file started over. */
  loops: number;
  /** The latest a paced packet was delivered after its due time, in ms (a slow sink or a busy event loop). */
  maxLateMs: number;
}

export interface ReplayResult extends ReplayStats {
  /** Stopped by the signal. */
  aborted: boolean;
  /** The file is truncated or corrupt (everything before the fault was delivered); the loop stops there. */
  error: EgressError | null;
}

const DEFAULT_CHUNK = 256 * 1024;

/** `--speed` on the command line: a positive number, optionally with an `x` (4, 0.5, 4x), or `max`. */
export function parseSpeed(text: string): ReplaySpeed {
  if (text === 'max') return 'max';
  const n = Number(text.endsWith('x') ? text.slice(0, -1) : text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new EgressError(ErrorCode.USAGE, `--speed must be a positive number or max, got "${text}"`);
  }
  return n;
}

export class CaptureReplay {
  /** Live progress, for status reports while the replay runs. */
  readonly stats: ReplayStats = { packets: 0, bytes: 0, loops: 0, maxLateMs: 0 };
  private readonly speed: ReplaySpeed;
  private readonly arrival: boolean;
  private readonly mono: () => number;
  private readonly wallAnchorUs: number;
  private readonly monoAnchor: number;
  private lastArrivalUs = 0;
  /** Added to the file's timestamps on the current pass. */
  private shiftUs = 0;
  /** First timestamp of the pass, and the largest; they set the next pass's shift. */
  private passFirstUs = Number.NaN;
  private passMaxUs = Number.NaN;
  /** Pacing origin: the first packet's (shifted) timestamp and when it was delivered. */
  private originUs = Number.NaN;
  private originMs = 0;
  private readonly queue = new PacketQueue();
  private readonly direct: PacketSink = {
    packet: (buf, off, caplen, origLen, tsUs, linkType) => {
      this.deliver(buf, off, caplen, origLen, this.shifted(tsUs), linkType);
    },
  };

  constructor(
    private readonly file: string,
    private readonly sink: PacketSink,
    private readonly options: ReplayOptions = {},
  ) {
    const speed = options.speed ?? 1;
    if (speed !== 'max' && !(Number.isFinite(speed) && speed > 0)) {
      throw new EgressError(ErrorCode.USAGE, `replay speed must be a positive number or max, got ${speed}`);
    }
    this.speed = speed;
    this.arrival = (options.timestamps ?? (speed === 'max' ? 'capture' : 'arrival')) === 'arrival';
    this.mono = options.monotonic ?? (() => performance.now());
    this.monoAnchor = this.mono();
    this.wallAnchorUs = Math.floor((options.wallClock ?? Date.now)() * 1000);
  }

  /** Replays the file (and loops); resolves when done or aborted. An unreadable file rejects with EGRESS_INPUT_UNREADABLE. */
  async run(): Promise<ReplayResult> {
    const o = this.options;
    const gapUs = Math.max(0, Math.round((o.loopGapMs ?? 1000) * 1000));
    for (;;) {
      const pass = await this.pass();
      if (pass.aborted || pass.error) return { ...this.stats, ...pass };
      const more = o.loop === true && this.stats.loops < (o.maxLoops ?? Number.POSITIVE_INFINITY);
      // An empty pass would loop without end and without time.
      if (!more || Number.isNaN(this.passFirstUs)) return { ...this.stats, aborted: false, error: null };
      this.shiftUs += this.passMaxUs - this.passFirstUs + gapUs;
      this.passFirstUs = Number.NaN;
      this.passMaxUs = Number.NaN;
      this.stats.loops++;
      o.onLoop?.(this.stats.loops);
    }
  }

  /** One pass over the file. */
  private async pass(): Promise<{ aborted: boolean; error: EgressError | null }> {
    const signal = this.options.signal;
    const paced = this.speed !== 'max';
    const reader = new CaptureReader(paced ? this.queue : this.direct, this.options.anomalies, this.file);
    const chunks = fileChunks(this.file, this.options.chunkBytes ?? DEFAULT_CHUNK);
    try {
      for await (const chunk of chunks) {
        if (signal?.aborted) return { aborted: true, error: null };
        reader.push(chunk);
        if (paced) {
          if (!(await this.drainPaced())) return { aborted: true, error: null };
        } else {
          await new Promise((resolve) => setImmediate(resolve)); // let timers and I/O run
        }
        if (reader.error) break;
      }
    } catch (err) {
      if (err instanceof EgressError) throw err;
      const e = err as NodeJS.ErrnoException;
      throw new EgressError(ErrorCode.INPUT_UNREADABLE, `cannot read ${this.file}: ${e.code ?? ''} ${e.message}`, {
        file: this.file,
      });
    }
    return { aborted: signal?.aborted === true, error: reader.end() };
  }

  /** Delivers the queued packets of one chunk, each no earlier than its due time; false when aborted. */
  private async drainPaced(): Promise<boolean> {
    const q = this.queue;
    const speed = this.speed as number;
    const signal = this.options.signal;
    for (let i = 0; i < q.length; i++) {
      const tsUs = this.shifted(q.tsUs[i]);
      if (Number.isNaN(this.originUs)) {
        this.originUs = tsUs;
        this.originMs = this.mono();
      }
      const dueMs = this.originMs + (tsUs - this.originUs) / 1000 / speed;
      // Timers may fire a little early by the monotonic clock: sleep again until due.
      for (let wait = dueMs - this.mono(); wait > 0; wait = dueMs - this.mono()) {
        try {
          await sleep(Math.ceil(wait), undefined, { signal });
        } catch {
          q.clear();
          return false;
        }
      }
      if (signal?.aborted) {
        q.clear();
        return false;
      }
      const late = this.mono() - dueMs;
      if (late > this.stats.maxLateMs) this.stats.maxLateMs = late;
      this.deliver(q.arena, q.off[i], q.caplen[i], q.origLen[i], tsUs, q.linkType[i]);
    }
    q.clear();
    return true;
  }

  private shifted(tsUs: number): number {
    if (Number.isNaN(this.passFirstUs)) this.passFirstUs = tsUs;
    if (!(tsUs <= this.passMaxUs)) this.passMaxUs = tsUs; // also the first: NaN compares false
    return tsUs + this.shiftUs;
  }

  private deliver(buf: Buffer, off: number, caplen: number, origLen: number, tsUs: number, linkType: number): void {
    if (this.arrival) {
      const now = this.wallAnchorUs + Math.floor((this.mono() - this.monoAnchor) * 1000);
      tsUs = Math.max(now, this.lastArrivalUs);
      this.lastArrivalUs = tsUs;
    }
    this.stats.packets++;
    this.stats.bytes += origLen;
    this.sink.packet(buf, off, caplen, origLen, tsUs, linkType);
  }
}

/** The packets of one chunk, copied out of the reader's buffer; the arena grows to the largest chunk and is reused. */
class PacketQueue implements PacketSink {
  arena = Buffer.allocUnsafe(DEFAULT_CHUNK);
  length = 0;
  readonly off: number[] = [];
  readonly caplen: number[] = [];
  readonly origLen: number[] = [];
  readonly tsUs: number[] = [];
  readonly linkType: number[] = [];
  private used = 0;

  packet(buf: Buffer, off: number, caplen: number, origLen: number, tsUs: number, linkType: number): void {
    if (this.used + caplen > this.arena.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.arena.length * 2, this.used + caplen));
      this.arena.copy(bigger, 0, 0, this.used);
      this.arena = bigger;
    }
    buf.copy(this.arena, this.used, off, off + caplen);
    const i = this.length++;
    this.off[i] = this.used;
    this.caplen[i] = caplen;
    this.origLen[i] = origLen;
    this.tsUs[i] = tsUs;
    this.linkType[i] = linkType;
    this.used += caplen;
  }

  clear(): void {
    this.length = 0;
    this.used = 0;
  }
}
