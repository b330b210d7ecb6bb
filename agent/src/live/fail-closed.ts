// Fail-closed block mode (DESIGN.md, Hardware: "fail-open by default,
// fail-closed on request"; `egress run --block-fail-closed`, installed by
// `hardware/install.sh --block --fail-closed`). The gateway's ruleset drops
// everything the controller's interface would forward unless that interface
// is in the nftables set `watched`; its element has a timeout. While the
// agent's capture runs, the agent asks the block helper every `everyMs` to
// start that timeout again:
//
//   tick, capture running ─► `watch IF TIMEOUT` ─► ok: the controller's traffic flows
//                                                  for TIMEOUT s more
//                                                ─► failed / helper away: counted, logged
//                                                  once; the element times out and
//                                                  the gateway holds the traffic
//   tick, capture not running ─► nothing asked (the gateway is blind: hold the traffic)
//   agent stops ─► `unwatch IF`: held at once, not at the timeout
//
// So nothing leaves the controller unwatched for longer than the timeout
// (default 15 s) after the agent crashes, hangs or loses its capture. The
// cost at idle: one request every 5 s.

import { BlockClient, MAX_WATCH_S, MIN_WATCH_S } from '@egress/hardware';
import { type StatusProblem, trafficHeld } from './agent-condition.js';

export const DEFAULT_WATCH_TIMEOUT_S = 15;
export const DEFAULT_WATCH_EVERY_MS = 5000;

/** The helper's side as the watch sees it; BlockClient over the Unix socket. */
export interface WatchRequester {
  /** Resolves to 'ok', 'refused', 'failed' or 'unreachable'; never rejects. */
  watch(iface: string, timeoutS: number): Promise<string>;
  unwatch(iface: string): Promise<string>;
}

export interface FailClosedOptions {
  /** The block helper's Unix socket (ignored when `requester` is given). */
  socket: string;
  /** The controller's interface: the one the agent captures. */
  iface: string;
  /** Whether the capture is running now (tcpdump listening). */
  watching: () => boolean;
  log: (line: string) => void;
  /** Seconds the gateway forwards after each answer (default 15). */
  timeoutS?: number;
  /** How often the watch is renewed (default 5000 ms; must leave two tries within the timeout). */
  everyMs?: number;
  requester?: WatchRequester;
}

export class FailClosedWatch {
  readonly timeoutS: number;
  readonly everyMs: number;
  private readonly requester: WatchRequester;
  private timer: NodeJS.Timeout | null = null;
  /** What the last tick found: 'open' (the helper renewed the watch), 'blind' (no capture), or the helper's answer. */
  private last = '';
  private inFlight: Promise<void> | null = null;
  private readonly count = { renewed: 0, failed: 0, blind: 0, busy: 0 };

  constructor(private readonly o: FailClosedOptions) {
    this.timeoutS = o.timeoutS ?? DEFAULT_WATCH_TIMEOUT_S;
    this.everyMs = o.everyMs ?? DEFAULT_WATCH_EVERY_MS;
    if (!Number.isInteger(this.timeoutS) || this.timeoutS < MIN_WATCH_S || this.timeoutS > MAX_WATCH_S)
      throw new RangeError(`watch timeout must be ${MIN_WATCH_S}-${MAX_WATCH_S} s, got ${this.timeoutS}`);
    if (!(this.everyMs > 0 && this.everyMs * 2 <= this.timeoutS * 1000))
      throw new RangeError(`the watch must be renewed at least twice within its timeout (${this.everyMs} ms)`);
    this.requester = o.requester ?? new BlockClient(o.socket);
  }

  /** Renew now and every `everyMs` until stop(). */
  start(): void {
    if (this.timer !== null) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.everyMs);
  }

  /** Stop renewing and hold the controller's traffic at once (`unwatch`); resolves when the helper answered. */
  async stop(): Promise<void> {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
    await this.inFlight;
    const answer = await this.requester.unwatch(this.o.iface).catch((err: unknown) => `unreachable: ${String(err)}`);
    this.o.log(
      answer === 'ok'
        ? `fail-closed: the agent stops; the gateway holds ${this.o.iface}'s traffic now`
        : `fail-closed: the agent stops; the gateway holds ${this.o.iface}'s traffic within ${this.timeoutS} s (unwatch: ${answer})`,
    );
  }

  /** For the retained status: the helper did not renew the watch last time, so the traffic is (or soon is) held. */
  problem(): StatusProblem | null {
    const l = this.last;
    return l === '' || l === 'open' || l === 'blind' ? null : trafficHeld(this.o.iface, l);
  }

  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.count)) out[`watch.${k}`] = v;
    return out;
  }

  /** One renewal; a tick while the last request is still open does nothing (counted). */
  tick(): Promise<void> {
    if (this.inFlight !== null) {
      this.count.busy++;
      return this.inFlight;
    }
    if (!this.o.watching()) {
      this.count.blind++;
      this.changed('blind');
      return Promise.resolve();
    }
    const p = Promise.resolve()
      .then(() => this.requester.watch(this.o.iface, this.timeoutS))
      .catch((err: unknown) => `unreachable: ${String(err)}`)
      .then((answer) => {
        if (answer === 'ok') this.count.renewed++;
        else this.count.failed++;
        this.changed(answer === 'ok' ? 'open' : answer);
      })
      .finally(() => {
        this.inFlight = null;
      });
    this.inFlight = p;
    return p;
  }

  /** Logged when what the gateway does changes, not on every tick. */
  private changed(now: string): void {
    if (now === this.last) return;
    const before = this.last;
    this.last = now;
    const iface = this.o.iface;
    if (now === 'open') {
      this.o.log(`fail-closed: the agent watches ${iface}; the gateway forwards its traffic`);
    } else if (now === 'blind' && before === '') {
      this.o.log(`fail-closed: waiting for the capture on ${iface}; the gateway holds its traffic until then`);
    } else if (now === 'blind') {
      this.o.log(
        `fail-closed: the capture on ${iface} is not running; the gateway holds its traffic within ${this.timeoutS} s`,
      );
    } else if (before === '' || before === 'open' || before === 'blind') {
      this.o.log(
        `fail-closed: the block helper on ${this.o.socket} did not renew the watch (${now}); ` +
          `the gateway holds ${iface}'s traffic within ${this.timeoutS} s (is egress-block.service running?)`,
      );
    }
  }
}
