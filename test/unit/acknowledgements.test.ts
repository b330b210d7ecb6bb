// The acknowledgements counter of the gateway's red light (Status field 33;
// hardware/src/signals/machine.ts, agent/src/mqtt/codec.ts): every
// acknowledgement of a latched red light counts, by a long press or by the
// dashboard, and the banner that drives the retained status carries it. The
// case it exists for: a high alert that arrives when the long press is due
// is handled in the same step, so red never reads "off" to the outside.
// The page's side (dashboard/src/acknowledgements.ts) follows the counter.

import { describe, expect, it } from 'vitest';
import { encodeStatus, type StatusSignals } from '../../agent/src/mqtt/codec-control.js';
import { decodeForTopic } from '../../agent/src/mqtt/codec-decode.js';
import { topicFor } from '../../agent/src/mqtt/topics.js';
import { acknowledgedSince } from '../../dashboard/src/acknowledgements.js';
import {
  type Banner,
  DEFAULT_SIGNAL_CONFIG,
  initialState,
  SignalAdapter,
  type SignalCommand,
  type SignalEvent,
  type SignalState,
  SimulatedGpio,
  step,
} from '../../hardware/src/index.js';

const LONG = DEFAULT_SIGNAL_CONFIG.longPressMs;

function feed(s: SignalState, events: SignalEvent[]): { s: SignalState; commands: SignalCommand[] } {
  const commands: SignalCommand[] = [];
  for (const e of events) {
    const r = step(s, e);
    s = r.state;
    commands.push(...r.commands);
  }
  return { s, commands };
}

describe('the acknowledgements counter in the signal state machine', () => {
  it('counts a long press and a dashboard acknowledgement of a latched red light', () => {
    let { s } = feed(initialState(0), [{ type: 'alert', severity: 'high', at: 10 }]);
    expect([s.alertLatched, s.acknowledgements]).toEqual([true, 0]);
    ({ s } = feed(s, [
      { type: 'button', pressed: true, at: 100 },
      { type: 'tick', at: 100 + LONG + 20 },
    ]));
    expect([s.alertLatched, s.unacknowledged, s.acknowledgements]).toEqual([false, 0, 1]);
    ({ s } = feed(s, [
      { type: 'button', pressed: false, at: 100 + LONG + 100 },
      { type: 'alert', severity: 'high', at: 5000 },
      { type: 'alert', severity: 'high', at: 5001 },
      { type: 'acknowledge', source: 'dashboard', at: 6000 },
    ]));
    expect([s.alertLatched, s.unacknowledged, s.acknowledgements]).toEqual([false, 0, 2]);
  });

  it('does not count what acknowledges nothing: a long press, the dashboard, a medium alert', () => {
    const { s, commands } = feed(initialState(0), [
      { type: 'alert', severity: 'medium', at: 10 },
      { type: 'acknowledge', source: 'dashboard', at: 20 },
      { type: 'button', pressed: true, at: 100 },
      { type: 'tick', at: 100 + LONG + 20 },
      { type: 'button', pressed: false, at: 100 + LONG + 100 },
      { type: 'tick', at: 100 + LONG + 200 },
    ]);
    expect(commands).toEqual([]);
    expect(s.counters.long_presses).toBe(1);
    expect(s.acknowledgements).toBe(0);
  });

  it('a high alert in the same step as the due long press: still latched, but counted', () => {
    const { s, commands } = feed(initialState(0), [
      { type: 'alert', severity: 'high', at: 10 },
      { type: 'alert', severity: 'high', at: 20 },
      { type: 'button', pressed: true, at: 100 },
      // No tick between: the long press is settled by the alert's own step.
      { type: 'alert', severity: 'high', at: 100 + LONG + 5 },
    ]);
    expect(commands).toEqual(['acknowledged']);
    expect([s.alertLatched, s.unacknowledged, s.acknowledgements]).toEqual([true, 1, 1]);
  });
});

describe('the signal adapter publishes the counter with the banner', () => {
  it('a re-latch in the same step gives one banner change: latched throughout, the counter up by one', () => {
    let now = 0;
    const gpio = new SimulatedGpio(() => now);
    const banners: Banner[] = [];
    const adapter = new SignalAdapter(
      gpio,
      { onBanner: (b) => banners.push(b) },
      { now: () => now, every: () => ({ stop() {} }) }, // no ticker: the steps are the test's
    );
    adapter.alert('high');
    gpio.press(true, 100);
    now = 100 + LONG + 5;
    adapter.alert('high');
    expect(banners.map((b) => [b.alertLatched, b.unacknowledged, b.acknowledgements])).toEqual([
      [true, 1, 0],
      [true, 1, 1],
    ]);
    // The red light never went off: the outside sees only the counter.
    expect(gpio.history().filter((c) => c.output === 'red')).toEqual([{ atMs: 0, output: 'red', on: true }]);
    now += 100;
    adapter.acknowledge();
    expect(adapter.banner()).toMatchObject({ alertLatched: false, acknowledgements: 2 });
    adapter.acknowledge();
    expect(adapter.banner().acknowledgements).toBe(2);
    expect(banners).toHaveLength(3);
  });
});

describe('Status field 33 on MQTT', () => {
  const status = (signals?: StatusSignals) =>
    encodeStatus({
      gateway: 'gw',
      tsUs: 5,
      state: 'online',
      agentVersion: '0.1.0',
      databases: {},
      startedAtUs: 2,
      text: 'ready',
      session: '',
      signals,
    });

  it('carries the counter; `egress tail --status --json` prints it, 0 when the gateway has no lights', () => {
    const lights: Omit<StatusSignals, 'acknowledgements'> = {
      preflight: 'warn',
      preflightProblems: [],
      alertLatched: true,
      alertsUnacknowledged: 1,
    };
    const m = (b: Buffer) => decodeForTopic(topicFor('gw', 'status'), b)?.message as Record<string, unknown>;
    expect(m(status({ ...lights, acknowledgements: 7 }))).toMatchObject({ alert_latched: true, acknowledgements: 7 });
    expect(m(status())).toMatchObject({ alert_latched: false, acknowledgements: 0 });
  });
});

describe('the page follows the counter (dashboard/src/acknowledgements.ts)', () => {
  const st = (startedAtUs: number, acknowledgements: number) => ({ startedAtUs, acknowledgements });

  it('acknowledges when the counter went up in the same agent run, latched or not', () => {
    expect(acknowledgedSince(st(1, 3), st(1, 4))).toBe(true);
    expect(acknowledgedSince(st(1, 3), st(1, 6))).toBe(true); // several while the page was away
    expect(acknowledgedSince(st(1, 3), st(1, 3))).toBe(false);
    expect(acknowledgedSince(null, st(1, 3))).toBe(false); // the first status a page gets
    expect(acknowledgedSince(st(1, 3), st(2, 5))).toBe(false); // the agent restarted: counting anew
  });
});
