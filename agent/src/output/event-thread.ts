// The scan's event thread (event-ring.ts says why and how): started for a
// scan whose NDJSON goes to a file descriptor, ended once the pipeline has
// handed over its last event.

import { Worker } from 'node:worker_threads';
import { AheadRing, QuicAhead } from '../names/quic-ahead.js';
import { EventProducer } from './event-producer.js';
import { EventRing } from './event-ring.js';

/** The worker's module, beside this one once built (tests running the sources pass the built one). */
export const EVENT_WORKER_FILE = new URL('./event-worker.js', import.meta.url);

export class EventThread {
  readonly events: EventProducer;
  /** The QUIC look-ahead the thread runs beside the lines, when asked for one. */
  quicAhead: QuicAhead | undefined;
  private error: Error | null = null;
  private readonly up: Promise<boolean>;
  private readonly ended: Promise<void>;

  private constructor(ring: EventRing, worker: Worker) {
    this.events = new EventProducer(ring);
    worker.on('error', (err) => {
      this.error = err;
    });
    this.up = new Promise<boolean>((resolve) => {
      worker.once('message', () => resolve(true));
      worker.once('exit', () => resolve(false));
    });
    this.ended = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  }

  /**
   * A thread writing the lines of the events handed to `events` to `fd`;
   * with `lookahead` (the capture file), opening its QUIC Initials ahead of
   * the pipeline too (`quicAhead`).
   * `settled` runs once it is up and again once it has ended (the caller's
   * V8 flags, which starting a worker resets: cli/heap.ts).
   */
  static start(
    fd: number,
    settled: () => void = () => {},
    lookahead?: string,
    workerFile: URL = EVENT_WORKER_FILE,
  ): EventThread {
    const ring = EventRing.create();
    const ahead = lookahead === undefined ? undefined : AheadRing.create();
    const worker = new Worker(workerFile, {
      workerData: { sab: ring.sab, fd, ahead: ahead && { file: lookahead, sab: ahead.sab } },
      // Its heap holds one record's objects at a time, a write buffer, a read buffer.
      // Stryker disable next-line ObjectLiteral: only bounds the worker's memory
      resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 2 },
    });
    worker.on('online', settled);
    worker.on('exit', settled);
    const thread = new EventThread(ring, worker);
    if (ahead !== undefined) thread.quicAhead = QuicAhead.over(ahead);
    return thread;
  }

  /**
   * Resolves true once the thread runs and has loaded what it needs; false
   * if it ended before that (no thread to be had, its module not found):
   * then the caller writes the lines itself.
   */
  ready(): Promise<boolean> {
    return this.up;
  }

  /** The last event was handed over: resolves once every line is written and the thread has ended; rejects if it failed. */
  async close(): Promise<void> {
    this.events.finish();
    await this.ended;
    if (this.error !== null) throw this.error;
  }

  /** For a pipeline that failed: the thread writes what it was given and ends; its own failure is not reported. */
  async abandon(): Promise<void> {
    try {
      this.events.finish();
    } catch {
      // the thread failed already
    }
    await this.ended;
  }
}
