// The signal state machine over time (hardware/src/signals/machine.ts): each
// row is a timeline of events and the outputs and commands expected at given
// times. Times are milliseconds from power-on; the clock is the table.

import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SIGNAL_CONFIG,
  initialState,
  type Outputs,
  outputsAt,
  SignalAdapter,
  type SignalCommand,
  type SignalEvent,
  SimulatedGpio,
  step,
} from '../../hardware/src/index.js';

type Timeline = Array<SignalEvent | { expect: Partial<Outputs>; at: number } | { commands: SignalCommand[] }>;

/** Run a timeline; returns the commands seen, checks each `expect` row on the way. */
function run(rows: Timeline) {
  let s = initialState(0);
  let commands: SignalCommand[] = [];
  for (const row of rows) {
    if ('commands' in row) {
      expect(commands).toEqual(row.commands);
      commands = [];
    } else if ('expect' in row) {
      const r = step(s, { type: 'tick', at: row.at });
      s = r.state;
      commands.push(...r.commands);
      const got = outputsAt(s, row.at);
      for (const [k, v] of Object.entries(row.expect)) {
        expect(got[k as keyof Outputs], `${k} at ${row.at} ms`).toBe(v);
      }
    } else {
      const r = step(s, row);
      s = r.state;
      commands.push(...r.commands);
    }
  }
  return s;
}

const press = (at: number, ms: number): SignalEvent[] => [
  { type: 'button', pressed: true, at },
  { type: 'button', pressed: false, at: at + ms },
];

describe('signal state machine', () => {
  it('green only once the preflight passed; slow blink on warnings; off on failure', () => {
    run([
      { expect: { green: false }, at: 0 },
      { type: 'preflight', result: 'fail', at: 10 },
      { expect: { green: false }, at: 20 },
      { type: 'preflight', result: 'warn', at: 100 },
      { expect: { green: true }, at: 500 },
      { expect: { green: false }, at: 1500 },
      { expect: { green: true }, at: 2500 },
      { type: 'preflight', result: 'pass', at: 3000 },
      { expect: { green: true }, at: 3500 },
    ]);
  });

  it('short press starts a flight: amber blinks while starting, solid once open; another ends it', () => {
    const s = run([
      ...press(1000, 150),
      { expect: {}, at: 1200 },
      { commands: ['start_flight'] },
      { expect: { amber: true }, at: 1200 },
      { expect: { amber: false }, at: 1450 },
      { expect: { amber: true }, at: 1700 },
      { type: 'session', state: 'open', at: 1800 },
      { expect: { amber: true }, at: 1960 },
      { expect: { amber: true }, at: 5000 },
      ...press(6000, 200),
      { expect: {}, at: 6300 },
      { commands: ['end_flight'] },
      { expect: { amber: false }, at: 6300 + 250 },
      { type: 'session', state: 'closed', at: 7000 },
      { expect: { amber: false }, at: 7000 },
      { expect: { amber: false }, at: 7250 },
    ]);
    expect(s.counters.short_presses).toBe(2);
  });

  it('contact bounce is one press, not several', () => {
    const s = run([
      { type: 'button', pressed: true, at: 1000 },
      { type: 'button', pressed: false, at: 1003 },
      { type: 'button', pressed: true, at: 1007 },
      { type: 'button', pressed: false, at: 1200 },
      { type: 'button', pressed: true, at: 1204 },
      { type: 'button', pressed: false, at: 1209 },
      { expect: {}, at: 1400 },
      { commands: ['start_flight'] },
    ]);
    expect(s.counters.short_presses).toBe(1);
    expect(s.counters.button_bounces).toBeGreaterThan(0);
  });

  it('a blip shorter than the debounce time is no press at all', () => {
    const s = run([...press(1000, 10), { expect: { amber: false }, at: 2000 }, { commands: [] }]);
    expect(s.session).toBe('closed');
  });

  it('high alert latches red and a pulsing buzzer until a long press; medium does not', () => {
    const s = run([
      { type: 'alert', severity: 'medium', at: 500 },
      { expect: { red: false, buzzer: false }, at: 600 },
      { type: 'alert', severity: 'high', at: 1000 },
      { expect: { red: true, buzzer: true }, at: 1100 },
      { expect: { red: true, buzzer: false }, at: 1500 },
      { expect: { red: true, buzzer: true }, at: 2050 },
      { expect: { red: true }, at: 60_000 },
      // a short press does not acknowledge: it starts a flight
      ...press(61_000, 100),
      { expect: { red: true }, at: 61_300 },
      { commands: ['start_flight'] },
      // long press: acknowledged while still held, at 2 s
      { type: 'button', pressed: true, at: 62_000 },
      { expect: { red: true }, at: 63_000 },
      { expect: { red: false, buzzer: false }, at: 64_000 },
      { commands: ['acknowledged'] },
      // releasing after a long press is not also a short press
      { type: 'button', pressed: false, at: 65_000 },
      { expect: { red: false }, at: 65_100 },
      { commands: [] },
    ]);
    expect(s.counters).toMatchObject({ long_presses: 1, short_presses: 1, alerts_high: 1 });
  });

  it('acknowledged from the dashboard; a new high alert latches again', () => {
    run([
      { type: 'alert', severity: 'high', at: 1000 },
      { type: 'acknowledge', source: 'dashboard', at: 3000 },
      { expect: { red: false, buzzer: false }, at: 3001 },
      { commands: ['acknowledged'] },
      { type: 'alert', severity: 'high', at: 4000 },
      { expect: { red: true, buzzer: true }, at: 4000 },
    ]);
  });
});

describe('signal adapter on the simulated GPIO', () => {
  it('drives the LEDs, buzzer and callbacks from the agent and the button', () => {
    let now = 0;
    let tick: () => void = () => {};
    const gpio = new SimulatedGpio(() => now);
    const calls: string[] = [];
    const adapter = new SignalAdapter(
      gpio,
      {
        onStartFlight: () => calls.push('start'),
        onEndFlight: () => calls.push('end'),
        onAcknowledged: () => calls.push('ack'),
        onBanner: (b) => calls.push(`banner:${b.ready}/${b.session}/${b.alertLatched}`),
      },
      {
        now: () => now,
        every: (fn) => {
          tick = fn;
          return { stop() {} };
        },
      },
    );
    const advance = (ms: number) => {
      for (let i = 0; i < ms / 10; i++) {
        now += 10;
        tick();
      }
    };
    adapter.preflight('pass');
    expect(gpio.level('green')).toBe(true);
    gpio.press(true, now);
    advance(100);
    gpio.press(false, now);
    advance(100);
    expect(calls).toContain('start');
    adapter.session('open');
    expect(gpio.level('amber')).toBe(true);
    adapter.alert('high');
    expect(gpio.level('red')).toBe(true);
    expect(gpio.level('buzzer')).toBe(true);
    advance(DEFAULT_SIGNAL_CONFIG.buzzerOnMs + 10);
    expect(gpio.level('buzzer')).toBe(false);
    adapter.acknowledge();
    expect(gpio.level('red')).toBe(false);
    expect(calls).toContain('ack');
    expect(calls).toContain('banner:pass/open/true');
    // the history carries each change with its time
    expect(
      gpio
        .history()
        .filter((c) => c.output === 'buzzer')
        .map((c) => c.on),
    ).toEqual([true, false]);
  });
});
