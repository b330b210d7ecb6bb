// Simulated GPIO for development and tests: the same interface as the real
// drivers, with every output change recorded against the injected clock and a
// button a test (or the dashboard demo) can press.

import type { ButtonListener, GpioDriver, OutputName } from './driver.js';

export interface OutputChange {
  atMs: number;
  output: OutputName;
  on: boolean;
}

/** Bounded history of output changes (oldest dropped, counted). */
const HISTORY_LIMIT = 10_000;

export class SimulatedGpio implements GpioDriver {
  readonly kind = 'sim' as const;
  private readonly levels: Record<OutputName, boolean> = { green: false, amber: false, red: false, buzzer: false };
  private readonly listeners: ButtonListener[] = [];
  private readonly changes: OutputChange[] = [];
  private readonly count = { writes: 0, changes: 0, button_edges: 0, history_dropped: 0 };
  private closed = false;

  constructor(private readonly now: () => number = Date.now) {}

  write(output: OutputName, on: boolean): void {
    if (this.closed) return;
    this.count.writes++;
    if (this.levels[output] === on) return;
    this.levels[output] = on;
    this.count.changes++;
    if (this.changes.length >= HISTORY_LIMIT) {
      this.changes.shift();
      this.count.history_dropped++;
    }
    this.changes.push({ atMs: this.now(), output, on });
  }

  onButton(listener: ButtonListener): void {
    this.listeners.push(listener);
  }

  /** Drive the simulated button (a raw edge, bounces included if the caller sends them). */
  press(pressed: boolean, atMs: number = this.now()): void {
    this.count.button_edges++;
    for (const l of this.listeners) l(pressed, atMs);
  }

  level(output: OutputName): boolean {
    return this.levels[output];
  }

  history(): readonly OutputChange[] {
    return this.changes;
  }

  counters(): Record<string, number> {
    return { ...this.count };
  }

  async close(): Promise<void> {
    for (const o of Object.keys(this.levels) as OutputName[]) this.write(o, false);
    this.closed = true;
  }
}
