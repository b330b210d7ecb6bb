// GPIO through the libgpiod 1.6 command-line tools (Debian package gpiod):
// `gpioset --mode=signal` holds the four outputs until it is signalled, and a
// long-running `gpiomon` reports the button's edges. A change of outputs stops
// the holder and starts a new one with every level (a line cannot be held by
// two processes); changes made meanwhile are coalesced into the next one.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import {
  type ButtonListener,
  chipPath,
  type GpioDriver,
  GpioError,
  GpioErrorCode,
  type GpioPins,
  OUTPUT_NAMES,
  type OutputName,
} from './driver.js';
import { gpioFix } from './fixes.js';

export interface CliGpioOptions {
  /** Directory or full command names, for tests and odd installs. */
  gpioset?: string;
  gpiomon?: string;
  now?: () => number;
  /** Whether the chip's device exists (injected for tests). */
  chipExists?: (path: string) => boolean;
}

/** `gpiomon --format='%e %o'`: "0 24" is a falling edge on line 24 (pressed: the button pulls to ground). */
export function parseMonitorLine(line: string): { pressed: boolean; offset: number } | null {
  const m = /^([01]) (\d+)$/.exec(line.trim());
  if (!m) return null;
  return { pressed: m[1] === '0', offset: Number(m[2]) };
}

function toolMissing(tool: string): GpioError {
  return new GpioError(
    GpioErrorCode.UNAVAILABLE,
    `${tool} is not installed or not on the path`,
    gpioFix('gpio_tool_missing', { tool }),
  );
}

export class CliGpio implements GpioDriver {
  readonly kind = 'cli' as const;
  private readonly levels: Record<OutputName, boolean> = { green: false, amber: false, red: false, buzzer: false };
  private readonly listeners: ButtonListener[] = [];
  private readonly count = { writes: 0, holder_starts: 0, holder_failures: 0, button_edges: 0, monitor_exits: 0 };
  private holder: ChildProcess | null = null;
  private monitor: ChildProcess | null = null;
  private pending = false;
  private applying: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly gpioset: string;
  private readonly gpiomon: string;
  private readonly now: () => number;

  private constructor(
    private readonly pins: GpioPins,
    opts: CliGpioOptions,
  ) {
    this.gpioset = opts.gpioset ?? 'gpioset';
    this.gpiomon = opts.gpiomon ?? 'gpiomon';
    this.now = opts.now ?? Date.now;
  }

  /** Check the tools and the chip, then start the button monitor. */
  static async open(pins: GpioPins, opts: CliGpioOptions = {}): Promise<CliGpio> {
    const driver = new CliGpio(pins, opts);
    for (const tool of [driver.gpioset, driver.gpiomon]) {
      const r = spawnSync(tool, ['--version'], { encoding: 'utf8', timeout: 5000 });
      if (r.error || r.status !== 0) throw toolMissing(tool);
    }
    const path = chipPath(pins.chip);
    if (!(opts.chipExists ?? existsSync)(path)) {
      throw new GpioError(
        GpioErrorCode.UNAVAILABLE,
        `GPIO chip ${path} does not exist`,
        gpioFix('gpio_chip_missing', { chip: path }),
      );
    }
    driver.startMonitor();
    await driver.flush();
    return driver;
  }

  private startMonitor(): void {
    const args = ['--bias=pull-up', '--line-buffered', '--format=%e %o', this.pins.chip, String(this.pins.button)];
    const child = spawn(this.gpiomon, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    this.monitor = child;
    child.on('error', () => {});
    child.on('exit', () => {
      this.count.monitor_exits++;
      this.monitor = null;
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const edge = parseMonitorLine(line);
      if (!edge || edge.offset !== this.pins.button) return;
      this.count.button_edges++;
      for (const l of this.listeners) l(edge.pressed, this.now());
    });
  }

  write(output: OutputName, on: boolean): void {
    this.count.writes++;
    if (this.closed || this.levels[output] === on) return;
    this.levels[output] = on;
    void this.flush();
  }

  /** Replace the holder with one carrying the current levels; coalesces bursts. */
  flush(): Promise<void> {
    if (this.pending) return this.applying;
    this.pending = true;
    this.applying = this.applying.then(async () => {
      this.pending = false;
      await this.stopHolder();
      if (this.closed) return;
      const values = OUTPUT_NAMES.map((o) => `${this.pins[o]}=${this.levels[o] ? 1 : 0}`);
      const child = spawn(this.gpioset, ['--mode=signal', this.pins.chip, ...values], { stdio: 'ignore' });
      this.count.holder_starts++;
      child.on('error', () => this.count.holder_failures++);
      child.on('exit', (code, signal) => {
        if (signal === null && code !== 0) this.count.holder_failures++;
        if (this.holder === child) this.holder = null;
      });
      this.holder = child;
    });
    return this.applying;
  }

  private stopHolder(): Promise<void> {
    const child = this.holder;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }

  onButton(listener: ButtonListener): void {
    this.listeners.push(listener);
  }

  counters(): Record<string, number> {
    return { ...this.count };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.applying;
    await this.stopHolder();
    this.monitor?.kill('SIGTERM');
    // Leave every output off: set them and exit (gpioset's default mode).
    const values = OUTPUT_NAMES.map((o) => `${this.pins[o]}=0`);
    await new Promise<void>((resolve) => {
      const child = spawn(this.gpioset, ['--mode=exit', this.pins.chip, ...values], { stdio: 'ignore' });
      child.on('error', () => resolve());
      child.on('exit', () => resolve());
    });
  }
}
