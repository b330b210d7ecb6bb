// The gateway's lights, buzzer and button wired to the live agent (issue 11;
// `egress run --gpio sim|libgpiod|cli`). One state machine
// (hardware/src/signals/machine.ts) drives the LEDs, the buzzer and the
// dashboard banner:
//
//   preflight at start ─► green (pass solid, warn blinking, fail off)
//   while running: capture down ─► green off; capture gap or spool drops ─► blinking,
//     until the agent's condition is clean again (then the preflight's own result)
//   button short press ─► startFlight / endFlight (the dashboard's session commands) ─► amber
//   high-severity alert ─► red + buzzer, latched until a long press or cmd/acknowledge
//   any change of the banner ─► the retained status (fields 25-28, 33), right away
//
// With the simulated driver the button and the outputs are reachable from
// another process on a Unix socket (hardware/src/gpio/sim-socket.ts).

import {
  type DriverKind,
  type GpioDriver,
  GpioError,
  GpioErrorCode,
  type GpioPins,
  openGpio,
  SignalAdapter,
  type SignalConfig,
  SimGpioSocket,
  SimulatedGpio,
} from '@egress/hardware';
import { EgressError, ErrorCode } from '../errors.js';
import type { StatusSignals } from '../mqtt/codec-control.js';
import { fix } from '../selftest/fixes.js';
import { formatReport } from '../selftest/run.js';
import { problemSeen } from '../selftest/seen.js';
import { type CheckResult, result, type SelftestReport, worstOf } from '../selftest/types.js';
import type { LiveAgent } from './agent.js';
import type { StatusProblem } from './agent-condition.js';
import { type LivePreflightProbe, livePreflight, preflightChecks, preflightProblems } from './preflight.js';

/** What the live agent calls (agent.ts holds it as `signals`). */
export interface GatewaySignals {
  alert(severity: 'medium' | 'high'): void;
  session(open: boolean): void;
  /** cmd/acknowledge from the dashboard; the reply's text. */
  acknowledge(): string;
  statusFields(): StatusSignals;
  counters(): Record<string, number>;
  /** The agent's condition changed (agent.ts updateStatus): what is wrong now, nothing when clean. */
  running(problems: RunningProblems): void;
}

/**
 * What can go wrong after the preflight, as agent.ts sees it; null when fine.
 * A status problem (agent-condition.ts) carries its id and facts, so the
 * page says it in its language; a plain line is shown as the agent wrote it.
 */
export interface RunningProblems {
  /** tcpdump is not capturing (it failed or is restarting): the gateway is blind. */
  captureDown: StatusProblem | string | null;
  /** The capture missed packets lately ("capture incomplete" in the status). */
  captureGap: StatusProblem | string | null;
  /** Alerts or other messages were dropped from a full spool. */
  spool: StatusProblem | string | null;
  /** Fail-closed block mode: the helper did not renew the watch, the gateway holds the controller's traffic. */
  held?: StatusProblem | string | null;
}

export interface SignalsOptions {
  driver: DriverKind;
  pins: GpioPins;
  /** Unix socket of the simulated driver (sim only). */
  simSocket?: string;
  config?: Partial<SignalConfig>;
  log: (line: string) => void;
}

export class AgentSignals implements GatewaySignals {
  readonly adapter: SignalAdapter;
  private report: SelftestReport | null = null;
  /** Checks from the running agent, beside the preflight's (running()). */
  private live: CheckResult[] = [];
  private closed = false;

  private constructor(
    private readonly agent: LiveAgent,
    gpio: GpioDriver,
    private readonly socket: SimGpioSocket | null,
    private readonly o: SignalsOptions,
  ) {
    this.adapter = new SignalAdapter(
      gpio,
      {
        // Deferred: the agent's session calls come back into the adapter (session()).
        onStartFlight: () => setImmediate(() => this.flight('start')),
        onEndFlight: () => setImmediate(() => this.flight('end')),
        onAcknowledged: () => o.log('alert acknowledged: red light and buzzer off'),
        onBanner: () => {
          if (!this.closed) agent.publishStatus();
        },
      },
      { config: o.config },
    );
  }

  /** Open the driver, hook the agent up; a driver that cannot run here is an EgressError with its fix. */
  static async attach(agent: LiveAgent, o: SignalsOptions): Promise<AgentSignals> {
    let gpio: GpioDriver;
    try {
      gpio = await openGpio(o.driver, o.pins);
    } catch (err) {
      if (!(err instanceof GpioError)) throw err;
      const code =
        err.code === GpioErrorCode.CONFIG_INVALID ? ErrorCode.GPIO_CONFIG_INVALID : ErrorCode.GPIO_UNAVAILABLE;
      throw new EgressError(code, `${err.message} (${err.fix})`);
    }
    let socket: SimGpioSocket | null = null;
    if (gpio instanceof SimulatedGpio && o.simSocket) {
      try {
        socket = await SimGpioSocket.listen(gpio, o.simSocket);
      } catch (err) {
        await gpio.close();
        throw new EgressError(
          ErrorCode.GPIO_UNAVAILABLE,
          `the simulated GPIO cannot listen on ${o.simSocket}: ${(err as Error).message} (give --gpio-sim-socket PATH in a writable directory)`,
        );
      }
    }
    const s = new AgentSignals(agent, gpio, socket, o);
    agent.signals = s;
    if (agent.session) s.session(true);
    o.log(
      `GPIO signals: driver ${o.driver}` +
        (o.driver === 'sim' ? (socket ? `, button and lights on ${socket.path}` : '') : ` on ${o.pins.chip}`) +
        ` (green ${o.pins.green}, amber ${o.pins.amber}, red ${o.pins.red}, buzzer ${o.pins.buzzer}, button ${o.pins.button})`,
    );
    return s;
  }

  /** Run the live preflight and show its result on the green light; logged like `egress selftest`. */
  async preflight(probe: Omit<LivePreflightProbe, 'gpio'>): Promise<SelftestReport> {
    const r = await livePreflight({ ...probe, gpio: this.o.driver, cancelled: () => this.closed });
    this.report = r;
    for (const line of formatReport(r).trimEnd().split('\n')) this.o.log(`preflight: ${line}`);
    if (!this.closed) {
      this.showReadiness();
      this.agent.publishStatus();
    }
    return r;
  }

  running(p: RunningProblems): void {
    this.live = runningChecks(p);
    // Before the preflight has run the green light stays off; it takes these in when it does.
    if (this.report !== null && !this.closed) this.showReadiness();
  }

  /** The green light: the worst of the preflight and of what the running agent reports now. */
  private showReadiness(): void {
    const worst = worstOf([...(this.report?.checks ?? []), ...this.live]);
    this.adapter.preflight(worst === 'skip' ? 'pass' : worst);
  }

  alert(severity: 'medium' | 'high'): void {
    this.adapter.alert(severity);
  }

  session(open: boolean): void {
    this.adapter.session(open ? 'open' : 'closed');
  }

  acknowledge(): string {
    const was = this.adapter.banner();
    this.adapter.acknowledge();
    return was.alertLatched
      ? `acknowledged ${was.unacknowledged} high-severity alert(s): red light and buzzer off`
      : 'nothing to acknowledge: no alert is latched';
  }

  statusFields(): StatusSignals {
    const b = this.adapter.banner();
    return {
      preflight: b.ready === 'unknown' ? '' : b.ready,
      preflightProblems: this.report
        ? preflightProblems({ ...this.report, checks: [...this.report.checks, ...this.live] })
        : [],
      preflightChecks: this.report
        ? preflightChecks({ ...this.report, checks: [...this.report.checks, ...this.live] })
        : [],
      alertLatched: b.alertLatched,
      alertsUnacknowledged: b.unacknowledged,
      acknowledgements: b.acknowledgements,
    };
  }

  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.adapter.counters())) out[`gpio.${k}`] = v;
    return out;
  }

  /** The button's short press: open or close the flight, as the dashboard's commands do. */
  private flight(what: 'start' | 'end'): void {
    if (this.closed) return;
    try {
      if (what === 'start') this.o.log(`flight ${this.agent.startFlight('').id} started with the button`);
      else this.o.log(`flight ${this.agent.endFlight().id} ended with the button`);
    } catch (err) {
      this.o.log(`button: ${err instanceof EgressError ? err.toLine() : String(err)}`);
      this.session(this.agent.session !== null);
    }
  }

  /** Lights off, lines released, socket removed. */
  async close(): Promise<void> {
    this.closed = true;
    this.agent.signals = null;
    await this.socket?.close();
    await this.adapter.close();
  }
}

/** What the running agent reports, as checks beside the preflight's (the green light and the status take both). */
export function runningChecks(p: RunningProblems): CheckResult[] {
  const live: CheckResult[] = [];
  const said = (x: StatusProblem | string) => (typeof x === 'string' ? x : problemSeen(x));
  if (p.captureDown !== null) live.push(result('capture', 'fail', said(p.captureDown), fix('capture_down', {})));
  else if (p.captureGap !== null) live.push(result('capture', 'warn', said(p.captureGap), fix('capture_gap', {})));
  if (p.spool !== null) live.push(result('spool', 'warn', said(p.spool), fix('spool_dropping', {})));
  if (p.held != null) live.push(result('block', 'fail', said(p.held), fix('block_helper_silent', {})));
  return live;
}
