// Block mode, the agent's side (issue 11; `egress run --block-socket PATH`,
// EGRESS_BLOCK_SOCKET in /etc/egress/egress.env): every high-severity
// connection alert asks the block helper (hardware/src/block/,
// egress-block.service, CAP_NET_ADMIN only) to add the destination address to
// the nftables set of denied destinations, with a timeout (nft(8), "SETS").
//
//   high alert, internet destination ─► asked before (and not expired)? ─► nothing
//                                     ─► else remember it, ask the helper (never awaited by the caller)
//   answer ok / refused ─► stays remembered until its timeout
//   answer failed / helper away ─► forgotten: the next alert for it asks again
//   the operator allows a destination (cmd/allow) ─► every remembered address the
//     policy no longer judges high is taken out of the set at once (`del`), not at its timeout
//
// Fail-open: a helper that is away or failing is logged once (until it
// answers ok again) and counted; the agent never throws or waits for it, and
// traffic flows as without block mode. What passes before the block lands
// (the first packets of the first connection) is not stopped: block mode
// stops what follows the first alert, not the first contact.
//
// Bounded: at most `limit` addresses remembered (the oldest forgotten first,
// counted as `evicted`), at most `maxInFlight` requests open (more are
// counted as `busy` and asked again on their next alert).

import { BlockClient, MAX_TIMEOUT_S } from '@egress/hardware';
import type { AlertRecord } from '../output/flow-record.js';
import type { Destination } from '../policy/verdict.js';
import type { StatusProblem } from './agent-condition.js';
import type { FailClosedWatch } from './fail-closed.js';

/** What the live agent calls (agent.ts holds it as `blocking`). */
export interface GatewayBlocking {
  alert(a: AlertRecord): void;
  /** The policy changed (an allow from the dashboard): lift the blocks `stillDenied` no longer holds. */
  reconsider(stillDenied: (d: Destination) => boolean): void;
  counters(): Record<string, number>;
  /** Fail-closed: why the gateway holds the controller's traffic now, for the status; null when it does not. */
  problem(): StatusProblem | null;
}

/** The helper's side as the agent sees it; BlockClient over the Unix socket. */
export interface BlockRequester {
  /** Resolves to 'ok', 'refused', 'failed' or 'unreachable'; never rejects. */
  block(address: string): Promise<string>;
  /** The same answers, for taking `address` out of the set. */
  unblock(address: string): Promise<string>;
}

export const DEFAULT_BLOCK_SECONDS = 3600;
export const DEFAULT_BLOCK_LIMIT = 4096;
export const DEFAULT_BLOCK_IN_FLIGHT = 16;

export interface BlockingOptions {
  /** The helper's Unix socket (ignored when `requester` is given). */
  socket: string;
  /** How long the helper keeps an address in the set (1-86400 s, default 3600). */
  seconds?: number;
  /** Addresses remembered as asked for (default 4096). */
  limit?: number;
  /** Requests open at once (default 16). */
  maxInFlight?: number;
  log: (line: string) => void;
  /** Injected for tests: the requester and the clock. */
  requester?: BlockRequester;
  now?: () => number;
}

export class AgentBlocking implements GatewayBlocking {
  readonly seconds: number;
  private readonly requester: BlockRequester;
  private readonly limit: number;
  private readonly maxInFlight: number;
  private readonly now: () => number;
  /** Address → when its element expires in the set (ms); insertion order is age order. */
  private readonly asked = new Map<string, number>();
  /** What the policy judged of each address in `asked`, to judge it again when the policy changes. */
  private readonly judged = new Map<string, Destination>();
  private inFlight = 0;
  /** Set while the helper is away or failing: logged once until it answers ok again. */
  private failing = false;
  private readonly count = {
    requested: 0,
    ok: 0,
    refused: 0,
    failed: 0,
    unreachable: 0,
    busy: 0,
    evicted: 0,
    released: 0,
    release_failed: 0,
  };
  private readonly pending = new Set<Promise<void>>();
  /** Fail-closed (egress run --block-fail-closed): its counters go with these. */
  watch: FailClosedWatch | null = null;

  constructor(private readonly o: BlockingOptions) {
    this.seconds = o.seconds ?? DEFAULT_BLOCK_SECONDS;
    if (!Number.isInteger(this.seconds) || this.seconds < 1 || this.seconds > MAX_TIMEOUT_S)
      throw new RangeError(`block seconds must be 1-${MAX_TIMEOUT_S}, got ${this.seconds}`);
    this.requester = o.requester ?? new BlockClient(o.socket, this.seconds);
    this.limit = o.limit ?? DEFAULT_BLOCK_LIMIT;
    this.maxInFlight = o.maxInFlight ?? DEFAULT_BLOCK_IN_FLIGHT;
    this.now = o.now ?? Date.now;
  }

  /** A connection alert from the pipeline: ask for its destination once; returns at once. */
  alert(a: AlertRecord): void {
    if (a.severity !== 'high' || !a.app.internet) return;
    const address = a.app.destIp;
    const now = this.now();
    const until = this.asked.get(address);
    if (until !== undefined && until > now) return;
    if (this.inFlight >= this.maxInFlight) {
      this.count.busy++;
      return;
    }
    this.asked.delete(address); // re-inserted below: expired entries move to the young end
    if (this.asked.size >= this.limit) this.evictOldest(now);
    this.asked.set(address, now + this.seconds * 1000);
    const app = a.app;
    this.judged.set(address, {
      words: app.destWords(new Int32Array(4)).slice(0, app.v6 ? 4 : 1),
      v6: app.v6,
      internet: true,
      names: [...a.names],
      country: app.country,
      asn: app.asn,
      asCountry: app.asCountry,
    });
    this.count.requested++;
    this.inFlight++;
    // Deferred a microtask: whatever the requester does (even a synchronous throw), alert() returns at once.
    const p = Promise.resolve()
      .then(() => this.requester.block(address))
      .catch((err: unknown) => `unreachable: ${String(err)}`)
      .then((answer) => this.answered(address, answer));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  reconsider(stillDenied: (d: Destination) => boolean): void {
    const now = this.now();
    for (const [address, until] of [...this.asked]) {
      const d = this.judged.get(address);
      if (until <= now || d === undefined || stillDenied(d)) continue;
      this.forget(address);
      this.count.released++;
      this.o.log(`block mode: ${address} is allowed now; asking the block helper to lift its block`);
      const p = Promise.resolve()
        .then(() => this.requester.unblock(address))
        .catch((err: unknown) => `unreachable: ${String(err)}`)
        .then((answer) => {
          if (answer === 'ok') return;
          this.count.release_failed++;
          this.o.log(`block mode: the block on ${address} could not be lifted (${answer}); it ends at its timeout`);
        });
      this.pending.add(p);
      void p.finally(() => this.pending.delete(p));
    }
  }

  problem(): StatusProblem | null {
    return this.watch?.problem() ?? null;
  }

  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.count)) out[`block.${k}`] = v;
    out['block.addresses'] = this.asked.size;
    out['block.in_flight'] = this.inFlight;
    if (this.watch !== null) Object.assign(out, this.watch.counters());
    return out;
  }

  /** Wait (at most `ms`) for the requests still open, so their answers are counted before the last stats. */
  async settle(ms = 2000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.pending),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }

  private answered(address: string, answer: string): void {
    this.inFlight--;
    if (answer === 'ok') {
      this.count.ok++;
      if (this.failing) this.o.log(`block mode: the block helper answers again (${address} blocked)`);
      this.failing = false;
      return;
    }
    if (answer === 'refused') {
      // The helper checked the line and will not take it: asking again would not change that.
      this.count.refused++;
      this.o.log(`block mode: the block helper refused ${address}`);
      return;
    }
    this.count.failed++;
    const away = answer !== 'failed';
    if (away) this.count.unreachable++;
    this.forget(address); // fail-open, and asked again on its next alert
    if (this.failing) return;
    this.failing = true;
    this.o.log(
      away
        ? `block mode: the block helper on ${this.o.socket} is not reachable; ${address} is not blocked ` +
            '(fail-open: traffic flows; asked again on the next alert; is egress-block.service running?)'
        : `block mode: the block helper could not add ${address} to the nftables set ` +
            '(fail-open; see journalctl -u egress-block; asked again on the next alert)',
    );
  }

  private evictOldest(now: number): void {
    // Entries are in the order they were asked for, all with the same timeout: the oldest expires first.
    const oldest = this.asked.entries().next();
    if (oldest.done) return;
    this.forget(oldest.value[0]);
    if (oldest.value[1] > now) this.count.evicted++; // still in the nftables set, forgotten here
  }

  private forget(address: string): void {
    this.asked.delete(address);
    this.judged.delete(address);
  }
}
