// The small adapter between the live agent and the signals: the agent calls
// preflight/session/alert/acknowledge, the button's commands come back through
// callbacks, and a ticker (every tickMs) moves blinking and long presses on and
// writes only the outputs that changed. Clock and ticker are injected.

import { type GpioDriver, OUTPUT_NAMES } from '../gpio/driver.js';
import {
  type Banner,
  bannerOf,
  DEFAULT_SIGNAL_CONFIG,
  initialState,
  type Outputs,
  outputsAt,
  type PreflightResult,
  type SessionState,
  type SignalCommand,
  type SignalConfig,
  type SignalEvent,
  type SignalState,
  step,
} from './machine.js';

export interface SignalCallbacks {
  /** Short press with no session open: open one (the agent's session start). */
  onStartFlight?: () => void;
  /** Short press during a session: close it. */
  onEndFlight?: () => void;
  /** The latched alert was acknowledged (long press or dashboard): update the banner. */
  onAcknowledged?: () => void;
  /** Any change of state the dashboard banner shows. */
  onBanner?: (banner: Banner) => void;
}

export interface SignalAdapterOptions {
  now?: () => number;
  tickMs?: number;
  config?: Partial<SignalConfig>;
  /** Injected for tests; default setInterval/clearInterval. */
  every?: (fn: () => void, ms: number) => { stop(): void };
}

const defaultEvery = (fn: () => void, ms: number) => {
  const t = setInterval(fn, ms);
  t.unref();
  return { stop: () => clearInterval(t) };
};

export class SignalAdapter {
  private state: SignalState;
  private readonly cfg: SignalConfig;
  private readonly now: () => number;
  private readonly shown: Outputs = { green: false, amber: false, red: false, buzzer: false };
  private readonly ticker: { stop(): void };
  private lastBanner = '';

  constructor(
    private readonly gpio: GpioDriver,
    private readonly callbacks: SignalCallbacks = {},
    opts: SignalAdapterOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.cfg = { ...DEFAULT_SIGNAL_CONFIG, ...opts.config };
    this.state = initialState(this.now());
    gpio.onButton((pressed, at) => this.feed({ type: 'button', pressed, at }));
    this.ticker = (opts.every ?? defaultEvery)(() => this.feed({ type: 'tick', at: this.now() }), opts.tickMs ?? 20);
  }

  preflight(result: PreflightResult): void {
    this.feed({ type: 'preflight', result, at: this.now() });
  }
  session(state: SessionState): void {
    this.feed({ type: 'session', state, at: this.now() });
  }
  alert(severity: 'medium' | 'high'): void {
    this.feed({ type: 'alert', severity, at: this.now() });
  }
  /** Acknowledged from the dashboard. */
  acknowledge(): void {
    this.feed({ type: 'acknowledge', source: 'dashboard', at: this.now() });
  }

  banner(): Banner {
    return bannerOf(this.state);
  }
  outputs(): Outputs {
    return { ...this.shown };
  }
  counters(): Record<string, number> {
    return { ...this.state.counters, ...this.gpio.counters() };
  }

  /** Feed one event (also used by tests with their own times). */
  feed(e: SignalEvent): void {
    const { state, commands } = step(this.state, e, this.cfg);
    this.state = state;
    for (const c of commands) this.run(c);
    const want = outputsAt(this.state, e.at, this.cfg);
    for (const o of OUTPUT_NAMES) {
      if (want[o] !== this.shown[o]) {
        this.shown[o] = want[o];
        this.gpio.write(o, want[o]);
      }
    }
    const banner = JSON.stringify(bannerOf(this.state));
    if (banner !== this.lastBanner) {
      this.lastBanner = banner;
      this.callbacks.onBanner?.(bannerOf(this.state));
    }
  }

  private run(c: SignalCommand): void {
    if (c === 'start_flight') this.callbacks.onStartFlight?.();
    else if (c === 'end_flight') this.callbacks.onEndFlight?.();
    else this.callbacks.onAcknowledged?.();
  }

  async close(): Promise<void> {
    this.ticker.stop();
    await this.gpio.close();
  }
}
