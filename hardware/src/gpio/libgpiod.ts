// GPIO through libgpiod 1.6 (the Linux GPIO character device) with the
// node-libgpiod binding, an optional dependency: it needs libgpiod-dev and a
// C++ toolchain to build. The binding has no edge-event read, so the button
// is sampled (every 5 ms by default) and the edges go to the debouncer.

import { createRequire } from 'node:module';
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

/** The part of node-libgpiod 0.5 this driver uses. */
export interface LibgpiodLine {
  requestOutputMode(consumer?: string, defaultValue?: 0 | 1): unknown;
  requestInputModeFlags(consumer: string, flags: number): unknown;
  setValue(value: 0 | 1): unknown;
  getValue(): 0 | 1;
  release(): unknown;
}
export interface LibgpiodModule {
  Chip: new (identifier: number | string) => unknown;
  Line: (new (
    chip: unknown,
    offset: number,
  ) => LibgpiodLine) & {
    RequestFlags: { ACTIVE_LOW: number; BIAS_PULL_UP: number };
  };
}

const CONSUMER = 'egress-sentinel';

/** Load the binding; a missing or unbuilt one is EGRESS_GPIO_UNAVAILABLE. */
export function loadLibgpiod(require: (id: string) => unknown = createRequire(import.meta.url)): LibgpiodModule {
  try {
    return require('node-libgpiod') as LibgpiodModule;
  } catch (err) {
    throw new GpioError(
      GpioErrorCode.UNAVAILABLE,
      `node-libgpiod is not installed or did not build (${(err as Error).message.split('\n')[0]})`,
      gpioFix('gpio_libgpiod_missing', {}),
    );
  }
}

export interface LibgpiodOptions {
  load?: () => LibgpiodModule;
  /** How the default loader finds node-libgpiod (tests: one that finds nothing). */
  require?: (id: string) => unknown;
  now?: () => number;
  pollMs?: number;
}

export class LibgpiodGpio implements GpioDriver {
  readonly kind = 'libgpiod' as const;
  private readonly outputs = new Map<OutputName, LibgpiodLine>();
  private readonly button: LibgpiodLine;
  private readonly listeners: ButtonListener[] = [];
  private readonly count = { writes: 0, write_errors: 0, button_edges: 0, read_errors: 0 };
  private readonly timer: NodeJS.Timeout;
  private pressed = false;

  constructor(pins: GpioPins, opts: LibgpiodOptions = {}) {
    const gpiod = (opts.load ?? (() => loadLibgpiod(opts.require)))();
    const now = opts.now ?? Date.now;
    const path = chipPath(pins.chip);
    let chip: unknown;
    try {
      chip = new gpiod.Chip(path);
    } catch (err) {
      throw new GpioError(
        GpioErrorCode.UNAVAILABLE,
        `cannot open GPIO chip ${path} (${(err as Error).message})`,
        gpioFix('gpio_chip_unopenable', { chip: path }),
      );
    }
    const claimed: LibgpiodLine[] = [];
    try {
      for (const name of OUTPUT_NAMES) {
        const line = new gpiod.Line(chip, pins[name]);
        line.requestOutputMode(CONSUMER, 0);
        claimed.push(line);
        this.outputs.set(name, line);
      }
      this.button = new gpiod.Line(chip, pins.button);
      const flags = gpiod.Line.RequestFlags.ACTIVE_LOW | gpiod.Line.RequestFlags.BIAS_PULL_UP;
      this.button.requestInputModeFlags(CONSUMER, flags);
      claimed.push(this.button);
    } catch (err) {
      for (const l of claimed) l.release();
      throw new GpioError(
        GpioErrorCode.UNAVAILABLE,
        `cannot claim GPIO lines on ${path} (${(err as Error).message})`,
        gpioFix('gpio_lines_busy', { chip: path }),
      );
    }
    this.timer = setInterval(() => this.sample(now()), opts.pollMs ?? 5);
    this.timer.unref();
  }

  private sample(atMs: number): void {
    let pressed: boolean;
    try {
      pressed = this.button.getValue() === 1; // active-low: 1 means pulled to ground
    } catch {
      this.count.read_errors++;
      return;
    }
    if (pressed === this.pressed) return;
    this.pressed = pressed;
    this.count.button_edges++;
    for (const l of this.listeners) l(pressed, atMs);
  }

  write(output: OutputName, on: boolean): void {
    this.count.writes++;
    try {
      this.outputs.get(output)?.setValue(on ? 1 : 0);
    } catch {
      this.count.write_errors++;
    }
  }

  onButton(listener: ButtonListener): void {
    this.listeners.push(listener);
  }

  counters(): Record<string, number> {
    return { ...this.count };
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const name of OUTPUT_NAMES) this.write(name, false);
    for (const line of [...this.outputs.values(), this.button]) {
      try {
        line.release();
      } catch {
        // already released: nothing held
      }
    }
  }
}
