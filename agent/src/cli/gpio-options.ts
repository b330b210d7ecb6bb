// `egress run --gpio sim|libgpiod|cli`: the options of the gateway's lights,
// buzzer and button, and their environment equivalents (what
// /etc/egress/egress.env sets for the service, hardware/install.sh):
//
//   --gpio DRIVER           EGRESS_GPIO         sim, libgpiod or cli; unset: no lights
//   --gpio-chip NAME        EGRESS_GPIO_CHIP    gpiochip0 (Pi 4, Pi 5 on current kernels)
//   --gpio-pins LIST        EGRESS_GPIO_PINS    e.g. green=17,amber=27,red=22,buzzer=23,button=24 (BCM)
//   --gpio-sim-socket PATH  EGRESS_GPIO_SIM_SOCKET   the simulated button and lights (default DATA_DIR/gpio-sim.sock)
//
// The flag wins over the environment; pins not named keep their BCM default.

import { join } from 'node:path';
import {
  DEFAULT_PINS,
  type DriverKind,
  GpioError,
  type GpioPins,
  gpioFix,
  OUTPUT_NAMES,
  parseDriverKind,
  validatePins,
} from '@egress/hardware';
import { EgressError, ErrorCode } from '../errors.js';
import type { LiveAgent } from '../live/agent.js';
import { AgentSignals } from '../live/signals.js';
import type { Options } from './args.js';

export const GPIO_OPTIONS: Options = {
  gpio: { type: 'string' },
  'gpio-chip': { type: 'string' },
  'gpio-pins': { type: 'string' },
  'gpio-sim-socket': { type: 'string' },
};

const d = DEFAULT_PINS;
export const GPIO_OPTIONS_HELP = `  --gpio DRIVER           the gateway's lights, buzzer and button: sim, libgpiod or cli
                          (default: EGRESS_GPIO; unset: none). Green = preflight passed,
                          amber = flight open, red + buzzer = high alert until acknowledged;
                          short press starts/ends a flight, long press (2 s) acknowledges
  --gpio-chip NAME        GPIO chip (default: EGRESS_GPIO_CHIP or ${d.chip})
  --gpio-pins LIST        BCM line numbers (default: EGRESS_GPIO_PINS or
                          green=${d.green},amber=${d.amber},red=${d.red},buzzer=${d.buzzer},button=${d.button})
  --gpio-sim-socket PATH  with --gpio sim: Unix socket to press the button and read the lights
                          (default: EGRESS_GPIO_SIM_SOCKET or DATA_DIR/gpio-sim.sock)`;

export interface GpioChoice {
  driver: DriverKind;
  pins: GpioPins;
  simSocket: string;
}

/** The GPIO choice from flags and environment; null when none is chosen. Bad values: EGRESS_GPIO_CONFIG_INVALID. */
export function gpioChoice(
  values: Record<string, unknown>,
  dataDir: string,
  env: NodeJS.ProcessEnv = process.env,
): GpioChoice | null {
  const pick = (flag: string, name: string) => (values[flag] as string | undefined) ?? env[name] ?? '';
  const driverName = pick('gpio', 'EGRESS_GPIO');
  if (driverName === '') return null;
  try {
    const driver = parseDriverKind(driverName);
    const pins: GpioPins = { ...DEFAULT_PINS, chip: pick('gpio-chip', 'EGRESS_GPIO_CHIP') || DEFAULT_PINS.chip };
    for (const part of pick('gpio-pins', 'EGRESS_GPIO_PINS').split(',')) {
      if (part.trim() === '') continue;
      const m = /^\s*(\w+)\s*=\s*(\d+)\s*$/.exec(part);
      const name = m?.[1] as keyof GpioPins | undefined;
      if (!m || name === undefined || !([...OUTPUT_NAMES, 'button'] as string[]).includes(name))
        throw new GpioError(
          'EGRESS_GPIO_CONFIG_INVALID',
          `"${part.trim()}" is not NAME=LINE`,
          gpioFix('gpio_pins_syntax', { part: part.trim() }),
        );
      (pins as unknown as Record<string, number>)[name] = Number(m[2]);
    }
    validatePins(pins);
    const simSocket = pick('gpio-sim-socket', 'EGRESS_GPIO_SIM_SOCKET') || join(dataDir, 'gpio-sim.sock');
    return { driver, pins, simSocket };
  } catch (err) {
    if (err instanceof GpioError) throw new EgressError(ErrorCode.GPIO_CONFIG_INVALID, `${err.message} (${err.fix})`);
    throw err;
  }
}

/**
 * Open the chosen driver and hook it to the agent. A driver that cannot run
 * here is logged with its code and fix and the agent runs on without lights
 * (the capture matters more; the green light staying off tells the team).
 */
export async function attachSignals(
  agent: LiveAgent,
  choice: GpioChoice | null,
  log: (line: string) => void,
): Promise<AgentSignals | null> {
  if (choice === null) return null;
  try {
    return await AgentSignals.attach(agent, { ...choice, log });
  } catch (err) {
    if (!(err instanceof EgressError)) throw err;
    log(`${err.toLine()}; running without lights`);
    return null;
  }
}
