// The gateway's signals as one pure state machine: events in (with their time),
// state and commands out; what the LEDs and the buzzer show is a function of
// the state and the time. No timers and no I/O here: the adapter (adapter.ts)
// feeds ticks and drives a GpioDriver, tests feed times from a table.
//
//   green  solid: preflight passed; slow blink: passed with warnings; off: failed or not run
//   amber  solid: capturing in an open flight session; blinking: session starting or ending
//   red + buzzer: a high-severity alert, latched until acknowledged (long press or dashboard)
//   button short press: start or end the flight session; long press: acknowledge

export type PreflightResult = 'pass' | 'warn' | 'fail';
export type SessionState = 'closed' | 'starting' | 'open' | 'ending';

export interface SignalConfig {
  /** A button level must hold this long to count (contact bounce is shorter). */
  debounceMs: number;
  /** Held at least this long: a long press (acknowledge), fired while still held. */
  longPressMs: number;
  /** Amber blink half-period while a session starts or ends. */
  blinkMs: number;
  /** Green blink half-period when the preflight passed with warnings. */
  slowBlinkMs: number;
  /** Buzzer pattern while an alert is latched: on for buzzerOnMs every buzzerPeriodMs. */
  buzzerOnMs: number;
  buzzerPeriodMs: number;
}

export const DEFAULT_SIGNAL_CONFIG: Readonly<SignalConfig> = {
  debounceMs: 30,
  longPressMs: 2000,
  blinkMs: 250,
  slowBlinkMs: 1000,
  buzzerOnMs: 200,
  buzzerPeriodMs: 1000,
};

export type SignalEvent =
  | { type: 'preflight'; result: PreflightResult; at: number }
  | { type: 'session'; state: SessionState; at: number }
  | { type: 'alert'; severity: 'medium' | 'high'; at: number }
  | { type: 'acknowledge'; source: 'button' | 'dashboard'; at: number }
  | { type: 'button'; pressed: boolean; at: number }
  | { type: 'tick'; at: number };

/** What the machine asks the outside world to do. */
export type SignalCommand = 'start_flight' | 'end_flight' | 'acknowledged';

export interface SignalState {
  preflight: PreflightResult | null;
  session: SessionState;
  /** Since when a session has been starting/ending (blink phase). */
  sessionSince: number;
  alertLatched: boolean;
  alertSince: number;
  /** High-severity alerts since the last acknowledgement. */
  unacknowledged: number;
  /**
   * Acknowledgements of the latched red light so far (long press or dashboard).
   * The banner carries it: a new high alert can latch red again in the same
   * step as the long press, so alertLatched alone may never show the change.
   */
  acknowledgements: number;
  /** Raw button level and since when; the debounced level and since when. */
  rawPressed: boolean;
  rawSince: number;
  pressed: boolean;
  pressedSince: number;
  /** The long press of the current hold has already fired. */
  longFired: boolean;
  counters: { button_bounces: number; short_presses: number; long_presses: number; alerts_high: number };
}

export interface Outputs {
  green: boolean;
  amber: boolean;
  red: boolean;
  buzzer: boolean;
}

export function initialState(at = 0): SignalState {
  return {
    preflight: null,
    session: 'closed',
    sessionSince: at,
    alertLatched: false,
    alertSince: at,
    unacknowledged: 0,
    acknowledgements: 0,
    rawPressed: false,
    rawSince: at,
    pressed: false,
    pressedSince: at,
    longFired: false,
    counters: { button_bounces: 0, short_presses: 0, long_presses: 0, alerts_high: 0 },
  };
}

function acknowledge(s: SignalState, out: SignalCommand[]): SignalState {
  if (!s.alertLatched) return s;
  out.push('acknowledged');
  return { ...s, alertLatched: false, unacknowledged: 0, acknowledgements: s.acknowledgements + 1 };
}

/** Settle the debounced button at time `at`: short/long presses come out here. */
function settleButton(s: SignalState, at: number, cfg: SignalConfig, out: SignalCommand[]): SignalState {
  if (s.rawPressed !== s.pressed && at - s.rawSince >= cfg.debounceMs) {
    if (s.rawPressed) {
      s = { ...s, pressed: true, pressedSince: s.rawSince, longFired: false };
    } else {
      const held = s.rawSince - s.pressedSince;
      s = { ...s, pressed: false, pressedSince: s.rawSince };
      if (!s.longFired && held < cfg.longPressMs) s = shortPress(s, at, out);
    }
  }
  if (s.pressed && !s.longFired && at - s.pressedSince >= cfg.longPressMs) {
    s = { ...s, longFired: true, counters: { ...s.counters, long_presses: s.counters.long_presses + 1 } };
    s = acknowledge(s, out);
  }
  return s;
}

function shortPress(s: SignalState, at: number, out: SignalCommand[]): SignalState {
  s = { ...s, counters: { ...s.counters, short_presses: s.counters.short_presses + 1 } };
  if (s.session === 'closed') {
    out.push('start_flight');
    return { ...s, session: 'starting', sessionSince: at };
  }
  if (s.session === 'open') {
    out.push('end_flight');
    return { ...s, session: 'ending', sessionSince: at };
  }
  return s; // starting or ending: a second press waits for the first to finish
}

/** One step: the new state and the commands to carry out. */
export function step(
  s: SignalState,
  e: SignalEvent,
  cfg: SignalConfig = DEFAULT_SIGNAL_CONFIG,
): { state: SignalState; commands: SignalCommand[] } {
  const out: SignalCommand[] = [];
  s = settleButton(s, e.at, cfg, out);
  switch (e.type) {
    case 'preflight':
      s = { ...s, preflight: e.result };
      break;
    case 'session':
      if (e.state !== s.session) s = { ...s, session: e.state, sessionSince: e.at };
      break;
    case 'alert':
      if (e.severity === 'high') {
        s = {
          ...s,
          alertLatched: true,
          alertSince: s.alertLatched ? s.alertSince : e.at,
          unacknowledged: s.unacknowledged + 1,
          counters: { ...s.counters, alerts_high: s.counters.alerts_high + 1 },
        };
      }
      break;
    case 'acknowledge':
      s = acknowledge(s, out);
      break;
    case 'button':
      if (e.pressed === s.rawPressed) break;
      if (s.rawPressed !== s.pressed)
        s = { ...s, counters: { ...s.counters, button_bounces: s.counters.button_bounces + 1 } };
      s = { ...s, rawPressed: e.pressed, rawSince: e.at };
      break;
    case 'tick':
      break;
  }
  return { state: s, commands: out };
}

function blink(since: number, at: number, halfPeriod: number): boolean {
  return Math.floor(Math.max(0, at - since) / halfPeriod) % 2 === 0;
}

/** The outputs at time `at` (blink and buzzer phases follow from the time). */
export function outputsAt(s: SignalState, at: number, cfg: SignalConfig = DEFAULT_SIGNAL_CONFIG): Outputs {
  const green = s.preflight === 'pass' || (s.preflight === 'warn' && blink(0, at, cfg.slowBlinkMs));
  let amber = false;
  if (s.session === 'open') amber = true;
  else if (s.session === 'starting' || s.session === 'ending') amber = blink(s.sessionSince, at, cfg.blinkMs);
  const red = s.alertLatched;
  const buzzer = s.alertLatched && Math.max(0, at - s.alertSince) % cfg.buzzerPeriodMs < cfg.buzzerOnMs;
  return { green, amber, red, buzzer };
}

/** What the dashboard banner shows: the same state, in words a person reads. */
export interface Banner {
  ready: PreflightResult | 'unknown';
  session: SessionState;
  alertLatched: boolean;
  unacknowledged: number;
  /** Acknowledgements so far: a page follows this to mark its high alerts acknowledged. */
  acknowledgements: number;
}

export function bannerOf(s: SignalState): Banner {
  return {
    ready: s.preflight ?? 'unknown',
    session: s.session,
    alertLatched: s.alertLatched,
    unacknowledged: s.unacknowledged,
    acknowledgements: s.acknowledgements,
  };
}
