// `--gpio-pins` / EGRESS_GPIO_PINS as the gateway's environment file writes
// it, parsed exactly: spaces around names, values and commas are allowed,
// anything else in a part is refused with the part named (gpioChoice in
// agent/src/cli/gpio-options.ts; the drivers in test/unit/gateway-signals.test.ts).

import { describe, expect, it } from 'vitest';
import { gpioChoice } from '../../agent/src/cli/gpio-options.js';
import { ErrorCode } from '../../agent/src/errors.js';
import { caught } from '../support/caught.js';

const DIR = '/var/lib/egress';
const sim = (pins: string) => gpioChoice({ gpio: 'sim', 'gpio-pins': pins }, DIR, {});

describe('--gpio-pins: accepted forms', () => {
  it.each([
    { pins: 'green=5', green: 5 },
    { pins: 'green=5,', green: 5 },
    { pins: 'green=5, ', green: 5 },
    { pins: ' , green=5', green: 5 },
    { pins: ' green=5', green: 5 },
    { pins: 'green=5 ', green: 5 },
    { pins: 'green =5', green: 5 },
    { pins: 'green= 5', green: 5 },
    { pins: '\tgreen\t=\t5\t', green: 5 },
  ])('"$pins" → green $green, the others at their BCM defaults', ({ pins, green }) => {
    expect(sim(pins)?.pins).toEqual({ chip: 'gpiochip0', green, amber: 27, red: 22, buzzer: 23, button: 24 });
  });
});

describe('--gpio-pins: refused, naming the part', () => {
  it.each([
    { pins: 'x green=5', part: 'x green=5' },
    { pins: 'green=5x', part: 'green=5x' },
    { pins: 'green:5', part: 'green:5' },
    { pins: ' bogus ', part: 'bogus' },
    { pins: 'blue=5', part: 'blue=5' },
    { pins: 'green=-5', part: 'green=-5' },
    { pins: 'green=5=6', part: 'green=5=6' },
  ])('"$pins"', ({ pins, part }) => {
    const e = caught(() => sim(pins));
    expect(e.code).toBe(ErrorCode.GPIO_CONFIG_INVALID);
    expect(e.message).toBe(
      `"${part}" is not NAME=LINE (e.g. --gpio-pins green=17,amber=27,red=22,buzzer=23,button=24)`,
    );
  });
});

describe('the simulated button and lights socket', () => {
  it('the flag, else EGRESS_GPIO_SIM_SOCKET, else DATA_DIR/gpio-sim.sock', () => {
    expect(gpioChoice({ gpio: 'sim', 'gpio-sim-socket': '/run/a.sock' }, DIR, {})?.simSocket).toBe('/run/a.sock');
    expect(gpioChoice({ gpio: 'sim' }, DIR, { EGRESS_GPIO_SIM_SOCKET: '/run/b.sock' })?.simSocket).toBe('/run/b.sock');
    expect(gpioChoice({ gpio: 'sim' }, DIR, {})?.simSocket).toBe('/var/lib/egress/gpio-sim.sock');
  });
});
