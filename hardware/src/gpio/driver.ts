// One GPIO driver interface for the gateway's signals (libgpiod character
// device, the gpiod command-line tools, or a simulation), and the pins it
// drives. Linux GPIO character device: Documentation/userspace-api/gpio/chardev.rst.

import { type GpioFix, type GpioFixId, gpioFix } from './fixes.js';

/** The outputs the signal state machine drives. */
export type OutputName = 'green' | 'amber' | 'red' | 'buzzer';
export const OUTPUT_NAMES: readonly OutputName[] = ['green', 'amber', 'red', 'buzzer'];

export type DriverKind = 'sim' | 'libgpiod' | 'cli';
export const DRIVER_KINDS: readonly DriverKind[] = ['sim', 'libgpiod', 'cli'];

/**
 * Line offsets on the chip. On a Raspberry Pi 4 and 5 the 40-pin header's
 * GPIO lines are numbered by their BCM number (gpiochip0 on a Pi 4,
 * gpiochip4 on a Pi 5 with older kernels, gpiochip0 with newer ones: gpiodetect tells).
 */
export interface GpioPins {
  /** Character device, e.g. gpiochip0 (a name under /dev, or a path). */
  chip: string;
  green: number;
  amber: number;
  red: number;
  buzzer: number;
  /** Push button to ground, internal pull-up: pressed reads low. */
  button: number;
}

/** BCM defaults (header pins in hardware/README.md). */
export const DEFAULT_PINS: Readonly<GpioPins> = {
  chip: 'gpiochip0',
  green: 17, // header pin 11
  amber: 27, // header pin 13
  red: 22, // header pin 15
  buzzer: 23, // header pin 16
  button: 24, // header pin 18, to GND on pin 20
};

/** A raw button edge as the driver saw it (not debounced). */
export type ButtonListener = (pressed: boolean, atMs: number) => void;

export interface GpioDriver {
  readonly kind: DriverKind;
  /** Set an output on (true) or off. Never throws: a failed write is counted. */
  write(output: OutputName, on: boolean): void;
  /** Raw button edges, for the debouncer in the signal state machine. */
  onButton(listener: ButtonListener): void;
  /** Counters (writes, write_errors, button_edges, …) for stats. */
  counters(): Record<string, number>;
  /** Release every line: outputs off first. */
  close(): Promise<void>;
}

/** Stable codes; the agent's errors.ts carries the same strings (docs/errors.md). */
export const GpioErrorCode = {
  /** The chosen driver cannot run here: library not built, tool not installed, chip absent, line busy. */
  UNAVAILABLE: 'EGRESS_GPIO_UNAVAILABLE',
  /** Driver name or pin numbers are not valid. */
  CONFIG_INVALID: 'EGRESS_GPIO_CONFIG_INVALID',
} as const;
export type GpioErrorCodeValue = (typeof GpioErrorCode)[keyof typeof GpioErrorCode];

export class GpioError extends Error {
  readonly code: GpioErrorCodeValue;
  /** One line saying what to do about it (English). */
  readonly fix: string;
  /** The fix's stable id and facts, for a page that says it in its own language. */
  readonly fixId: GpioFixId;
  readonly fixFacts: GpioFix['facts'];
  constructor(code: GpioErrorCodeValue, message: string, fix: GpioFix) {
    super(message);
    this.name = 'GpioError';
    this.code = code;
    this.fix = fix.text;
    this.fixId = fix.id;
    this.fixFacts = fix.facts;
  }
}

/** Check pins: whole numbers 0–511, no line used twice, a chip name. */
export function validatePins(pins: GpioPins): GpioPins {
  const used = new Map<number, string>();
  for (const name of [...OUTPUT_NAMES, 'button'] as const) {
    const n = pins[name];
    if (!Number.isInteger(n) || n < 0 || n > 511) {
      throw new GpioError(
        GpioErrorCode.CONFIG_INVALID,
        `pin ${name} = ${n} is not a line offset 0-511`,
        gpioFix('gpio_pin_invalid', { pin: name }),
      );
    }
    const other = used.get(n);
    if (other !== undefined) {
      throw new GpioError(
        GpioErrorCode.CONFIG_INVALID,
        `pins ${other} and ${name} both use line ${n}`,
        gpioFix('gpio_pin_shared', { first: other, second: name, line: n }),
      );
    }
    used.set(n, name);
  }
  if (!/^[A-Za-z0-9_./-]+$/.test(pins.chip)) {
    throw new GpioError(
      GpioErrorCode.CONFIG_INVALID,
      `chip "${pins.chip}" is not a device name`,
      gpioFix('gpio_chip_name_invalid', { chip: pins.chip }),
    );
  }
  return pins;
}

/** /dev/gpiochipN for a chip given as name, number or path. */
export function chipPath(chip: string): string {
  if (chip.startsWith('/')) return chip;
  if (/^\d+$/.test(chip)) return `/dev/gpiochip${chip}`;
  return `/dev/${chip}`;
}
