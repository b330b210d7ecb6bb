// Line output with backpressure: lines are encoded straight into a batch
// buffer and written once it is full or the input chunk is done; when the
// consumer is slow we wait for 'drain' instead of buffering without bound.
// A closed pipe (`egress scan … | head`) ends quietly: lines are dropped.

import type { Writable } from 'node:stream';
import { JsonBytes } from './json-bytes.js';

const BATCH_BYTES = 64 * 1024;
/** UTF-8 takes at most 3 bytes per UTF-16 code unit. */
const MAX_UTF8_PER_UNIT = 3;
const NEWLINE = 0x0a;

export class LineWriter {
  /** The batch: lines are encoded into it (`out`, then `endLine()`) or copied in (`line()`). */
  readonly out: JsonBytes;
  closed = false;

  constructor(private readonly stream: Writable) {
    this.out = new JsonBytes(Buffer.allocUnsafeSlow(BATCH_BYTES), (out, need) => {
      // A line may span two writes: the stream sees the same bytes in the same order.
      this.writeOut();
      // Stryker disable next-line EqualityOperator: a new buffer of the same size serves as well
      if (need > out.buf.length) out.buf = Buffer.allocUnsafeSlow(need);
    });
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.closed = true;
      else throw err;
    });
  }

  line(text: string): void {
    // Stryker disable next-line ConditionalExpression: a fast exit; a closed writer drops what it batches anyway
    if (this.closed) return;
    const out = this.out;
    out.room(text.length * MAX_UTF8_PER_UNIT); // the newline makes its own room
    out.pos += out.buf.write(text, out.pos, 'utf8');
    this.endLine();
  }

  /** Ends the line encoded into `out` since the last one. */
  endLine(): void {
    const out = this.out;
    out.byte(NEWLINE);
    if (out.pos >= BATCH_BYTES) this.writeOut();
  }

  /** Write what is batched; resolves when the stream can take more. */
  async flush(): Promise<void> {
    this.writeOut();
    if (this.closed || !this.stream.writableNeedDrain) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.stream.off('drain', done);
        this.stream.off('close', done);
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('close', done);
    });
  }

  private writeOut(): void {
    const out = this.out;
    if (out.pos === 0) return;
    if (!this.closed) {
      this.stream.write(out.buf.subarray(0, out.pos));
      // A stream that queued the bytes holds on to them until written: the next lines go into a new buffer.
      // Files and pipes (written synchronously) and sockets that took them at once queue nothing.
      if (this.stream.writableLength > 0 || out.buf.length !== BATCH_BYTES)
        out.buf = Buffer.allocUnsafeSlow(BATCH_BYTES);
    }
    out.pos = 0;
  }
}
