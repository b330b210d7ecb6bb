// DNS answers kept per client, for a flow's names (DESIGN "A flow's names":
// every DNS name whose answer chain, CNAMEs included, led to the destination
// IP, seen earlier from the same client). A response to client C asking Q,
// with Q CNAME X, X CNAME Y, Y A 203.0.113.5 (RFC 1034 §3.6.2, §4.3.2),
// makes Q, X and Y names of 203.0.113.5 for C, and for nobody else.
//
// Bounded like Suricata's tables: at most `maxEntries` (client, address)
// entries, the least recently used ended first and counted (`evictions`), at
// most `maxNamesPerEntry` names in each (the one expiring first is dropped,
// counted in `namesDropped`), names at most 255 octets (dns.ts). TTLs are
// clamped: below `minTtlSeconds` an app that caches the address a little
// longer than told (or a server that says 0, as dnsmasq does for its own
// records) would lose the name; above `maxTtlSeconds` an entry would outlive
// any plausible use.
//
// Addresses are compared as text: callers pass client and destination in the
// form util/ip.ts gives (dotted quad; RFC 5952 for IPv6), as dns.ts does.

import { type DnsMessage, DnsOpcode, DnsRcode } from './dns.js';

export interface DnsAnswerCacheOptions {
  maxEntries: number;
  minTtlSeconds: number;
  maxTtlSeconds: number;
  maxNamesPerEntry: number;
}

export const DNS_CACHE_DEFAULTS: Readonly<DnsAnswerCacheOptions> = {
  maxEntries: 65_536,
  minTtlSeconds: 300,
  maxTtlSeconds: 86_400,
  maxNamesPerEntry: 16,
};

/** CNAME hops followed from a question; resolvers stop about here too (BIND 16, Unbound 11). */
export const MAX_CNAME_CHAIN = 16;

const US_PER_S = 1_000_000;
/** The answer for most lookups, shared (callers must not modify what namesFor returns). */
const NO_NAMES: string[] = Object.freeze([]) as unknown as string[];

export class DnsAnswerCache {
  /** Entries ended because the cache was full (least recently used first). */
  evictions = 0;
  /** Names dropped from an entry that already held `maxNamesPerEntry`. */
  namesDropped = 0;
  private readonly opts: DnsAnswerCacheOptions;
  /** `client dest` → name → expiry (µs). Map order is recency: the first key is the least recently used. */
  private readonly entries = new Map<string, Map<string, number>>();

  constructor(options: Partial<DnsAnswerCacheOptions> = {}) {
    const o = { ...DNS_CACHE_DEFAULTS, ...options };
    for (const key of ['maxEntries', 'maxNamesPerEntry'] as const) {
      if (!Number.isInteger(o[key]) || o[key] < 1)
        throw new RangeError(`${key} must be a positive integer, got ${o[key]}`);
    }
    if (!(o.minTtlSeconds >= 0 && o.maxTtlSeconds >= o.minTtlSeconds)) {
      throw new RangeError(
        `TTL bounds must satisfy 0 <= minTtlSeconds <= maxTtlSeconds, got ${o.minTtlSeconds} and ${o.maxTtlSeconds}`,
      );
    }
    this.opts = o;
  }

  /** (client, address) entries held. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Learns from a response sent to `clientIp` at `nowUs`. Only successful
   * standard queries count (QR set, opcode QUERY, rcode NOERROR: a resolver
   * ignores answers otherwise). From each question the CNAME records are
   * followed (in any order, loops and chains over MAX_CNAME_CHAIN cut), and
   * every A/AAAA record whose owner is on the chain gives its address the
   * names from the question to that owner. Records off every chain are
   * ignored: they did not lead the client anywhere. The expiry is the
   * smallest TTL along the way, clamped. Returns the (address, name) pairs
   * recorded.
   */
  record(clientIp: string, message: DnsMessage, nowUs: number): number {
    if (!message.response || message.opcode !== DnsOpcode.QUERY || message.rcode !== DnsRcode.NOERROR) return 0;
    const cnames = new Map<string, { target: string; ttl: number }>();
    for (const a of message.answers) {
      if (a.target !== undefined && !cnames.has(a.name)) cnames.set(a.name, { target: a.target, ttl: a.ttl });
    }
    let recorded = 0;
    for (const q of message.questions) {
      // chain[k] is reached from the question through CNAMEs whose smallest TTL is ttls[k].
      const chain = [q.name];
      const ttls = [Number.POSITIVE_INFINITY];
      for (let link = cnames.get(q.name); link !== undefined && chain.length <= MAX_CNAME_CHAIN; ) {
        if (chain.includes(link.target)) break;
        ttls.push(Math.min(ttls[ttls.length - 1], link.ttl));
        chain.push(link.target);
        link = cnames.get(link.target);
      }
      for (const a of message.answers) {
        if (a.address === undefined) continue;
        const k = chain.indexOf(a.name);
        if (k < 0) continue;
        const expiry = nowUs + this.clampTtl(Math.min(ttls[k], a.ttl)) * US_PER_S;
        recorded += this.add(clientIp, a.address, chain.slice(0, k + 1), expiry);
      }
    }
    return recorded;
  }

  /** The names `clientIp` resolved `destIp` from and that have not expired at `nowUs`: sorted, each once. */
  namesFor(clientIp: string, destIp: string, nowUs: number): string[] {
    const key = entryKey(clientIp, destIp);
    const names = this.entries.get(key);
    if (names === undefined) return NO_NAMES;
    const live: string[] = [];
    for (const [name, expiry] of names) {
      if (expiry > nowUs) live.push(name);
      else names.delete(name);
    }
    this.entries.delete(key);
    if (live.length === 0) return NO_NAMES;
    this.entries.set(key, names); // now the most recently used
    return live.sort();
  }

  /** Drops every expired name, and entries left empty; returns how many entries went. For a periodic timer. */
  sweep(nowUs: number): number {
    let removed = 0;
    for (const [key, names] of this.entries) {
      for (const [name, expiry] of names) if (expiry <= nowUs) names.delete(name);
      if (names.size === 0) {
        this.entries.delete(key);
        removed++;
      }
    }
    return removed;
  }

  private clampTtl(ttl: number): number {
    return Math.min(this.opts.maxTtlSeconds, Math.max(this.opts.minTtlSeconds, ttl));
  }

  private add(clientIp: string, address: string, names: string[], expiry: number): number {
    const key = entryKey(clientIp, address);
    let entry = this.entries.get(key);
    if (entry !== undefined) {
      this.entries.delete(key);
    } else {
      if (this.entries.size >= this.opts.maxEntries) {
        const oldest = this.entries.keys().next().value as string;
        this.entries.delete(oldest);
        this.evictions++;
      }
      entry = new Map();
    }
    this.entries.set(key, entry);
    // Last to first: if a chain is longer than an entry holds, the names nearest the address give way
    // (same expiry, added first), and the name the client asked for stays.
    for (let i = names.length - 1; i >= 0; i--) {
      const name = names[i];
      const held = entry.get(name);
      if (held !== undefined) {
        if (expiry > held) entry.set(name, expiry);
        continue;
      }
      if (entry.size >= this.opts.maxNamesPerEntry) {
        entry.delete(firstToExpire(entry));
        this.namesDropped++;
      }
      entry.set(name, expiry);
    }
    return names.length;
  }
}

function entryKey(clientIp: string, destIp: string): string {
  return `${clientIp} ${destIp}`;
}

/** The name that expires first (the earliest added of those on a tie). */
function firstToExpire(names: Map<string, number>): string {
  let first = '';
  let firstExpiry = Number.POSITIVE_INFINITY;
  for (const [name, expiry] of names) {
    if (expiry < firstExpiry) {
      first = name;
      firstExpiry = expiry;
    }
  }
  return first;
}
