// The three GPIO drivers behind one interface (hardware/src/gpio/). This
// machine has no GPIO chip and its kernel has no gpio-sim or gpio-mockup
// module (no /lib/modules, no modprobe), so the real libgpiod binding and the
// real gpioset are run against an absent chip and must say so with the stable
// code; the CLI driver's process handling is checked with stand-in gpioset and
// gpiomon scripts (hardware fakes, the one place fakes are allowed).

import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_PINS,
  GpioError,
  GpioErrorCode,
  gpioFix,
  openGpio,
  parseDriverKind,
  parseMonitorLine,
  type SimulatedGpio,
} from '../../hardware/src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'egress-gpio-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function failure(p: Promise<unknown>): Promise<GpioError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(GpioError);
    return err as GpioError;
  }
  throw new Error('expected a GpioError');
}

describe('choosing a driver', () => {
  it('an unknown driver name is EGRESS_GPIO_CONFIG_INVALID with the choices', async () => {
    const err = await failure((async () => parseDriverKind('raspi'))());
    expect(err.code).toBe(GpioErrorCode.CONFIG_INVALID);
    expect(err.fix).toContain('sim, libgpiod, cli');
  });

  it('two signals on one line is EGRESS_GPIO_CONFIG_INVALID', async () => {
    const err = await failure(openGpio('sim', { ...DEFAULT_PINS, buzzer: DEFAULT_PINS.red }));
    expect(err.code).toBe(GpioErrorCode.CONFIG_INVALID);
    expect(err.message).toMatch(/red and buzzer both use line 22/);
  });

  it('the simulated driver opens and records changes with the injected clock', async () => {
    let now = 5;
    const gpio = (await openGpio('sim', DEFAULT_PINS, { now: () => now })) as SimulatedGpio;
    gpio.write('green', true);
    now = 9;
    gpio.write('green', true);
    gpio.write('red', true);
    await gpio.close();
    expect(gpio.history()).toEqual([
      { atMs: 5, output: 'green', on: true },
      { atMs: 9, output: 'red', on: true },
      { atMs: 9, output: 'green', on: false },
      { atMs: 9, output: 'red', on: false },
    ]);
    expect(gpio.counters().writes).toBe(7);
  });
});

describe('libgpiod driver', () => {
  it('the real node-libgpiod binding, no chip here: EGRESS_GPIO_UNAVAILABLE naming the device', async () => {
    const err = await failure(openGpio('libgpiod', { ...DEFAULT_PINS, chip: 'gpiochip7' }));
    expect(err.code).toBe(GpioErrorCode.UNAVAILABLE);
    expect(err.message).toMatch(/cannot open GPIO chip \/dev\/gpiochip7|node-libgpiod is not installed/);
  });

  it('a binding that did not build: EGRESS_GPIO_UNAVAILABLE with how to build it', async () => {
    const load = () => {
      throw new GpioError(
        GpioErrorCode.UNAVAILABLE,
        'node-libgpiod is not installed',
        gpioFix('gpio_libgpiod_missing', {}),
      );
    };
    const err = await failure(openGpio('libgpiod', DEFAULT_PINS, { libgpiod: { load } }));
    expect(err.code).toBe(GpioErrorCode.UNAVAILABLE);
  });
});

describe('command-line driver', () => {
  it('the real gpioset, no chip here: EGRESS_GPIO_UNAVAILABLE naming the device', async () => {
    const err = await failure(openGpio('cli', { ...DEFAULT_PINS, chip: 'gpiochip7' }));
    expect(err.code).toBe(GpioErrorCode.UNAVAILABLE);
    expect(err.message).toMatch(/\/dev\/gpiochip7 does not exist|gpioset is not installed/);
  });

  it('tools missing: EGRESS_GPIO_UNAVAILABLE saying apt install gpiod', async () => {
    const err = await failure(openGpio('cli', DEFAULT_PINS, { cli: { gpioset: join(dir, 'nope') } }));
    expect(err.code).toBe(GpioErrorCode.UNAVAILABLE);
    expect(err.fix).toContain('apt install gpiod');
  });

  it('parses gpiomon edges: falling is pressed', () => {
    expect(parseMonitorLine('0 24')).toEqual({ pressed: true, offset: 24 });
    expect(parseMonitorLine('1 24\n')).toEqual({ pressed: false, offset: 24 });
    expect(parseMonitorLine('event: RISING')).toBeNull();
  });

  it('holds the outputs with one gpioset, replaced on change; button edges from gpiomon', async () => {
    const log = join(dir, 'calls.log');
    const gpioset = join(dir, 'gpioset');
    const gpiomon = join(dir, 'gpiomon');
    // Stand-ins: gpioset logs its arguments and holds until signalled, like --mode=signal.
    writeFileSync(
      gpioset,
      `#!/bin/sh\n[ "$1" = --version ] && exit 0\necho "$*" >> ${log}\n[ "$1" = --mode=exit ] && exit 0\ntrap 'exit 0' TERM\nwhile :; do sleep 0.05; done\n`,
    );
    writeFileSync(
      gpiomon,
      `#!/bin/sh\n[ "$1" = --version ] && exit 0\necho "0 24"\nsleep 0.1\necho "1 24"\nsleep 30\n`,
    );
    chmodSync(gpioset, 0o755);
    chmodSync(gpiomon, 0o755);
    const edges: boolean[] = [];
    const gpio = await openGpio('cli', DEFAULT_PINS, { cli: { gpioset, gpiomon, chipExists: () => true } });
    gpio.onButton((pressed) => edges.push(pressed));
    gpio.write('green', true);
    gpio.write('amber', true);
    await new Promise((r) => setTimeout(r, 400));
    gpio.write('amber', false);
    await gpio.close();
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    // A holder replaced before its shell ran logs nothing; the levels asked for last always show.
    expect(calls).toContain('--mode=signal gpiochip0 17=1 27=1 22=0 23=0');
    expect(calls.at(-1)).toBe('--mode=exit gpiochip0 17=0 27=0 22=0 23=0');
    expect(calls.length).toBeLessThanOrEqual(5); // bursts coalesce
    expect(edges).toEqual([true, false]);
  });
});
