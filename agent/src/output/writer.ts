// Line output with backpressure: lines are encoded straight into a batch
// buffer and written once it is full or the input chunk is done; when the
// consumer is slow we wait for 'drain' instead of buffering without bound.
// A closed pipe (`egress scan … | head`) ends quietly.

import type { Writable } from 'node:stream';

const BATCH_BYTES = 64 * 1024;
/** UTF-8 takes at most 3 bytes per UTF-16 code unit. */
const MAX_UTF8_PER_UNIT = 3;
const NEWLINE = 0x0a;

export class LineWriter {
  private batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
  private size = 0;
  closed = false;

  constructor(private readonly stream: Writable) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.closed = true;
      else throw err;
    });
  }

  line(text: string): void {
    if (this.closed) return;
    const most = text.length * MAX_UTF8_PER_UNIT + 1;
    if (this.size + most > this.batch.length) {
      this.writeOut();
      if (most > this.batch.length) {
        // A line longer than a batch goes out on its own.
        this.stream.write(`${text}\n`);
        return;
      }
    }
    this.size += this.batch.write(text, this.size, 'utf8');
    this.batch[this.size++] = NEWLINE;
    if (this.size >= BATCH_BYTES) this.writeOut();
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
    if (this.size === 0 || this.closed) return;
    this.stream.write(this.batch.subarray(0, this.size));
    // A stream that queued the bytes holds on to them until written: the next lines go into a new buffer.
    // Files and pipes (written synchronously) and sockets that took them at once queue nothing.
    if (this.stream.writableLength > 0) this.batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
    this.size = 0;
  }
}
