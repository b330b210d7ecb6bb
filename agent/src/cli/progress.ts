// Progress on stderr while a file is scanned, only when stderr is a
// terminal: percentage, packets and rate, redrawn at most five times a second.

const REDRAW_MS = 200;

export class Progress {
  private lastDraw = 0;
  private readonly started: number;
  private drawn = false;

  constructor(
    private readonly stream: Pick<NodeJS.WriteStream, 'write'>,
    private readonly label: string,
    private readonly totalBytes: number | null,
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
  }

  static enabledFor(stream: Pick<NodeJS.WriteStream, 'isTTY'>, wanted: boolean | undefined): boolean {
    return wanted ?? Boolean(stream.isTTY);
  }

  update(bytes: number, packets: number): void {
    const now = this.now();
    if (now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    const secs = Math.max((now - this.started) / 1000, 0.001);
    const pct = this.totalBytes ? `${((100 * bytes) / this.totalBytes).toFixed(0).padStart(3)}% ` : '';
    const line = `scanning ${this.label} ${pct}${packets.toLocaleString('en')} packets, ${(packets / secs / 1e6).toFixed(2)} M packets/s`;
    this.stream.write(`\r${line}\x1b[K`);
    this.drawn = true;
  }

  done(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
  }
}
