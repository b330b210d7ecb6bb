// Failed-login throttling per client address, for the dashboard login (HTTP)
// and the embedded broker's CONNECT (MQTT): a token bucket per address
// (after OWASP's guidance on blocking brute force: slow the attempts down per
// source rather than lock the account). Each address may fail `burst` times
// at once, then one more time every 1/`perSecond` s; while its bucket is
// empty every attempt from it is refused unchecked, even a right one, so
// guessing gains nothing. The table of addresses is bounded: the least
// recently seen address is evicted (counted).

export interface LoginThrottleOptions {
  /** Failures allowed at once (default 10). */
  burst?: number;
  /** Failures allowed per second after the burst (default 1). */
  perSecond?: number;
  /** Addresses remembered (default 4096). */
  maxAddresses?: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

export interface LoginThrottleCounters {
  login_failures: number;
  login_throttled: number;
  throttle_evictions: number;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

export class LoginThrottle {
  readonly counters: LoginThrottleCounters = { login_failures: 0, login_throttled: 0, throttle_evictions: 0 };
  private readonly buckets = new Map<string, Bucket>();
  private readonly burst: number;
  private readonly perSecond: number;
  private readonly maxAddresses: number;
  private readonly now: () => number;

  constructor(options: LoginThrottleOptions = {}) {
    this.burst = options.burst ?? 10;
    this.perSecond = options.perSecond ?? 1;
    this.maxAddresses = options.maxAddresses ?? 4096;
    this.now = options.now ?? Date.now;
  }

  /** Whether an attempt from `address` may be checked now; a refusal is counted. */
  allow(address: string): boolean {
    const b = this.refill(address);
    if (b === undefined || b.tokens >= 1) return true;
    this.counters.login_throttled++;
    return false;
  }

  /** Seconds until `address` may try again (0 when it may now). */
  retryAfter(address: string): number {
    const b = this.refill(address);
    // Stryker disable next-line EqualityOperator: at exactly 1 token both give 0 (ceil((1 - 1) / rate))
    if (b === undefined || b.tokens >= 1) return 0;
    return Math.ceil((1 - b.tokens) / this.perSecond);
  }

  /** A wrong token from `address`: one token of its bucket. */
  failed(address: string): void {
    this.counters.login_failures++;
    let b = this.refill(address);
    if (b === undefined) {
      if (this.buckets.size >= this.maxAddresses) {
        const oldest = this.buckets.keys().next().value as string;
        this.buckets.delete(oldest);
        this.counters.throttle_evictions++;
      }
      b = { tokens: this.burst, atMs: this.now() };
    }
    b.tokens = Math.max(0, b.tokens - 1);
    // Re-inserted: the Map's order is the order addresses were last seen.
    this.buckets.delete(address);
    this.buckets.set(address, b);
  }

  /** Addresses remembered now. */
  get size(): number {
    return this.buckets.size;
  }

  private refill(address: string): Bucket | undefined {
    const b = this.buckets.get(address);
    if (b === undefined) return undefined;
    const now = this.now();
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.atMs) * this.perSecond) / 1000);
    b.atMs = now;
    if (b.tokens >= this.burst) {
      // Full again: nothing to remember.
      this.buckets.delete(address);
      return undefined;
    }
    return b;
  }
}
