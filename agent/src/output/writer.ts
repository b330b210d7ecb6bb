// Line output with backpressure: lines are batched and written once per
// input chunk; when the consumer is slow we wait for 'drain' instead of
// buffering without bound. A closed pipe (`egress scan … | head`) ends quietly.

import type { Writable } from 'node:stream';

const BATCH_CHARS = 64 * 1024;

export class LineWriter {
  private pending: string[] = [];
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
    this.pending.push(text);
    this.size += text.length;
    if (this.size >= BATCH_CHARS) this.writeOut();
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
    this.stream.write(`${this.pending.join('\n')}\n`);
    this.pending = [];
    this.size = 0;
  }
}
