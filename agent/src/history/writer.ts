// Traffic history writer: points go to InfluxDB 1.x (/write, line protocol)
// in batches, off the capture path. Memory is bounded: at most `maxQueued`
// points wait; when InfluxDB is away and the queue is full the oldest are
// dropped and counted (alerts are safe elsewhere: the MQTT spool and the
// evidence log). Failed batches are retried with backoff (0.5 s doubling to
// 30 s); a partial write InfluxDB refuses (too old for the retention policy,
// a field of another type) is counted as rejected, not retried.
//
//   add() ─► queue (bounded) ─► batch (≤ batchSize) ─► writePoints ─┬─ ok: written
//                   ▲                                                ├─ 400: rejected
//                   └──────── retry (oldest, dropped first) ◄────────┴─ other: backoff

import { InfluxDB, type IPoint } from 'influx';
import { EgressError, ErrorCode } from '../errors.js';
import { type HistoryTarget, RAW_RP } from './config.js';
import { ensureSchema } from './schema.js';

export const DEFAULT_MAX_QUEUED = 100_000;
export const DEFAULT_BATCH = 5000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;

export interface HistoryWriterOptions {
  target: HistoryTarget;
  log: (line: string) => void;
  maxQueued?: number;
  batchSize?: number;
  /** How often a partial batch is sent (default 1000 ms). */
  flushMs?: number;
  /** The client; default one for `target` with no retries of its own (this writer retries). */
  client?: InfluxDB;
  now?: () => number;
}

/** The stable counter names, reported as history.<name> in stats. */
export interface HistoryCounters {
  /** Points handed to the writer: added = written + rejected + dropped + queued. */
  added: number;
  written: number;
  dropped: number;
  rejected: number;
  write_errors: number;
  batches: number;
  queued: number;
}

export function influxClient(t: HistoryTarget): InfluxDB {
  return new InfluxDB({
    protocol: t.protocol,
    host: t.host,
    port: t.port,
    database: t.database,
    username: t.username,
    password: t.password,
    pool: { maxRetries: 0, requestTimeout: 10_000 },
  });
}

/** What went wrong talking to InfluxDB, as one of the agent's errors. */
export function historyError(err: unknown, t: HistoryTarget): EgressError {
  if (err instanceof EgressError) return err;
  const status = (err as { res?: { statusCode?: number } }).res?.statusCode;
  const msg = (err as Error).message ?? String(err);
  const where = `${t.protocol}://${t.host}:${t.port}/${t.database}`;
  const code = (err as NodeJS.ErrnoException).code;
  if (status === 401 || status === 403 || /not authorized|authorization failed|requires admin/i.test(msg))
    return new EgressError(ErrorCode.HISTORY_AUTH, `InfluxDB at ${where} refused the credentials: ${msg}`, { status });
  return new EgressError(ErrorCode.HISTORY_UNAVAILABLE, `InfluxDB at ${where}: ${code ?? msg}`, { status });
}

export class HistoryWriter {
  readonly client: InfluxDB;
  private readonly counts: Omit<HistoryCounters, 'queued'> = {
    added: 0,
    written: 0,
    dropped: 0,
    rejected: 0,
    write_errors: 0,
    batches: 0,
  };
  /** Points waiting, oldest first: a ring of `max` slots. */
  private readonly ring: (IPoint | undefined)[];
  private head = 0;
  private size = 0;
  /** A batch that failed, sent again before anything newer. */
  private retry: IPoint[] = [];
  private inflight = 0;
  private busy = false;
  private schemaReady = false;
  private failures = 0;
  private nextAttemptMs = 0;
  private timer: NodeJS.Timeout | null = null;
  /** The error since the last successful write, or null while writes work. */
  lastError: EgressError | null = null;
  private readonly max: number;
  private readonly batch: number;
  private readonly now: () => number;

  constructor(private readonly options: HistoryWriterOptions) {
    this.client = options.client ?? influxClient(options.target);
    this.max = options.maxQueued ?? DEFAULT_MAX_QUEUED;
    // A batch in flight never fills the queue: there is always an older point to drop than a new one.
    this.batch = Math.max(1, Math.min(options.batchSize ?? DEFAULT_BATCH, Math.floor(this.max / 2)));
    this.ring = new Array(this.max);
    this.now = options.now ?? Date.now;
  }

  /** Create the database, retention policies and continuous query (if absent), then write every flushMs. */
  start(): Promise<void> {
    this.timer = setInterval(() => void this.pump(), this.options.flushMs ?? 1000);
    this.timer.unref();
    return this.pump();
  }

  get counters(): HistoryCounters {
    return { ...this.counts, queued: this.size + this.retry.length + this.inflight };
  }

  add(p: IPoint): void {
    this.counts.added++;
    if (this.size + this.retry.length + this.inflight >= this.max) {
      this.counts.dropped++;
      if (this.retry.length > 0) this.retry.shift();
      else if (this.size > 0) this.popOldest();
      else return; // everything held is in flight (a queue of one): the new point is the one left out
    }
    this.ring[(this.head + this.size) % this.max] = p;
    this.size++;
    if (this.size >= this.batch && !this.busy) setImmediate(() => void this.pump());
  }

  /** Send what is queued, batch after batch, unless backing off; never throws. */
  async pump(): Promise<void> {
    if (this.busy || this.now() < this.nextAttemptMs) return;
    this.busy = true;
    try {
      if (!this.schemaReady) {
        await ensureSchema(this.client, this.options.target);
        this.schemaReady = true;
      }
      for (;;) {
        const points = this.retry.length > 0 ? this.retry : this.take(this.batch);
        this.retry = [];
        if (points.length === 0) break;
        this.inflight = points.length;
        try {
          await this.write(points);
        } catch (err) {
          this.retry = points;
          throw err;
        } finally {
          this.inflight = 0;
        }
        this.recovered();
      }
    } catch (err) {
      this.failed(err);
    } finally {
      this.busy = false;
    }
  }

  /** Stop the timer and send what is queued, for up to `ms`; what is left is counted as dropped. */
  async close(ms = 5000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const deadline = this.now() + ms;
    while (this.counters.queued > 0 && this.now() < deadline) {
      if (this.busy || this.now() < this.nextAttemptMs) await new Promise((r) => setTimeout(r, 50));
      else await this.pump();
    }
    this.counts.dropped += this.size + this.retry.length;
    this.size = 0;
    this.retry = [];
  }

  private async write(points: IPoint[]): Promise<void> {
    try {
      await this.client.writePoints(points, { retentionPolicy: RAW_RP, precision: 'n' });
      this.counts.written += points.length;
    } catch (err) {
      const status = (err as { res?: { statusCode?: number } }).res?.statusCode;
      const msg = (err as Error).message;
      if (status === 404 || /database not found/.test(msg)) this.schemaReady = false;
      if (status !== 400) throw err;
      // A partial write: InfluxDB kept the rest; sending it again cannot help.
      const dropped = /dropped=(\d+)/.exec(msg);
      const n = dropped ? Math.min(Number(dropped[1]), points.length) : points.length;
      this.counts.rejected += n;
      this.counts.written += points.length - n;
      this.options.log(`${historyError(err, this.options.target).toLine()} (${n} points rejected)`);
    }
    this.counts.batches++;
  }

  private take(n: number): IPoint[] {
    const out: IPoint[] = [];
    while (out.length < n && this.size > 0) out.push(this.popOldest() as IPoint);
    return out;
  }

  private popOldest(): IPoint | undefined {
    if (this.size === 0) return undefined;
    const p = this.ring[this.head];
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.max;
    this.size--;
    return p;
  }

  private recovered(): void {
    if (this.lastError !== null)
      this.options.log(`history: InfluxDB takes points again (${this.counts.dropped} dropped so far)`);
    this.lastError = null;
    this.failures = 0;
    this.nextAttemptMs = 0;
  }

  private failed(err: unknown): void {
    const e = historyError(err, this.options.target);
    this.counts.write_errors++;
    this.failures++;
    this.nextAttemptMs = this.now() + Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (this.failures - 1));
    // Once when it starts (and when the kind of failure changes), not on every retry.
    if (this.lastError?.code !== e.code)
      this.options.log(`${e.toLine()}; capture goes on, history is retried with backoff`);
    this.lastError = e;
  }
}
