// Choose the GPIO driver by configuration. A driver that cannot run here is a
// GpioError with a stable code and a one-line fix, never a crash.

import { CliGpio, type CliGpioOptions } from './cli.js';
import {
  DRIVER_KINDS,
  type DriverKind,
  type GpioDriver,
  GpioError,
  GpioErrorCode,
  type GpioPins,
  validatePins,
} from './driver.js';
import { gpioFix } from './fixes.js';
import { LibgpiodGpio, type LibgpiodOptions } from './libgpiod.js';
import { SimulatedGpio } from './sim.js';

export interface OpenGpioOptions {
  now?: () => number;
  libgpiod?: LibgpiodOptions;
  cli?: CliGpioOptions;
}

export function parseDriverKind(value: string): DriverKind {
  if ((DRIVER_KINDS as readonly string[]).includes(value)) return value as DriverKind;
  throw new GpioError(
    GpioErrorCode.CONFIG_INVALID,
    `unknown GPIO driver "${value}"`,
    gpioFix('gpio_driver_unknown', { drivers: DRIVER_KINDS.join(', ') }),
  );
}

export async function openGpio(kind: DriverKind, pins: GpioPins, opts: OpenGpioOptions = {}): Promise<GpioDriver> {
  validatePins(pins);
  const now = opts.now ?? Date.now;
  switch (kind) {
    case 'sim':
      return new SimulatedGpio(now);
    case 'libgpiod':
      return new LibgpiodGpio(pins, { now, ...opts.libgpiod });
    case 'cli':
      return CliGpio.open(pins, { now, ...opts.cli });
  }
}
