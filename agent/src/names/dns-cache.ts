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
// Entries of two IPv4 addresses are found by their words (pair-index.ts),
// the others by their text.

import { sortNames } from '../util/sort.js';
import { type DnsMessage, DnsOpcode, DnsRcode } from './dns.js';
import { type Indexed, ipv4Word, PairIndex } from './pair-index.js';

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

/**
 * One (client, address) entry: its names and their expiries (µs) in parallel
 * arrays, in the order first recorded (as a Map would keep them), and its
 * place in the recency list. An explicit list, not a Map's insertion order:
 * a Map used as an LRU leaves a deleted slot at its front for every eviction,
 * and finding the oldest key then walks over all of them until the next
 * rehash (a full cache spent more time there than in parsing DNS).
 */
class Entry implements Indexed {
  // Made with their first name: most entries hold one, and an array literal is allocated to fit.
  names: string[];
  expiries: number[];
  older: Entry | null = null;
  newer: Entry | null = null;
  /** In `v4`: its place there (PairIndex); -1 for an entry in `entries`. */
  indexAt = -1;
  constructor(
    /** The key in `entries`; empty for an entry of two IPv4 addresses, held in `v4`. */
    readonly key: string,
    name: string,
    expiry: number,
  ) {
    this.names = [name];
    this.expiries = [expiry];
  }
}

/** What namesForFlow() reads of a flow (a FlowApp): IPv4 address words as the flow table stores them. */
export interface FlowAddresses {
  readonly v6: boolean;
  readonly c0: number;
  readonly d0: number;
  readonly srcIp: string;
  readonly destIp: string;
}

export class DnsAnswerCache {
  /** Entries ended because the cache was full (least recently used first). */
  evictions = 0;
  /** Names dropped from an entry that already held `maxNamesPerEntry`. */
  namesDropped = 0;
  private readonly opts: DnsAnswerCacheOptions;
  /** (client, dest) → entry when both are IPv4 addresses. */
  private readonly v4: PairIndex<Entry>;
  /** `client dest` → entry, for every other pair. */
  private readonly entries = new Map<string, Entry>();
  /** Recency list: `oldest` is the least recently used entry. */
  /** The words bothV4() read last. */
  private pairClient = 0;
  private pairDest = 0;
  private oldest: Entry | null = null;
  private newest: Entry | null = null;

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
    this.v4 = new PairIndex<Entry>(o.maxEntries);
  }

  /** (client, address) entries held. */
  get size(): number {
    return this.entries.size + this.v4.size;
  }

  /** Of those, the entries of two IPv4 addresses, found by their words. */
  get sizeByWords(): number {
    return this.v4.size;
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
    let cnames: Map<string, { target: string; ttl: number }> | null = null;
    for (const a of message.answers) {
      if (a.target === undefined) continue;
      cnames ??= new Map();
      if (!cnames.has(a.name)) cnames.set(a.name, { target: a.target, ttl: a.ttl });
    }
    let recorded = 0;
    for (const q of message.questions) {
      // chain[k] is reached from the question through CNAMEs whose smallest TTL is ttls[k].
      const chain = [q.name];
      const ttls = [Number.POSITIVE_INFINITY];
      for (let link = cnames?.get(q.name); link !== undefined && chain.length <= MAX_CNAME_CHAIN; ) {
        // Stryker disable next-line ConditionalExpression: without the break a loop repeats names up to the hop limit; indexOf finds the first, so nothing recorded changes
        if (chain.includes(link.target)) break;
        ttls.push(Math.min(ttls[ttls.length - 1], link.ttl));
        chain.push(link.target);
        link = cnames?.get(link.target);
      }
      for (const a of message.answers) {
        if (a.address === undefined) continue;
        const k = chain.indexOf(a.name);
        if (k < 0) continue;
        const expiry = nowUs + this.clampTtl(Math.min(ttls[k], a.ttl)) * US_PER_S;
        recorded += this.add(clientIp, a.address, chain, k + 1, expiry);
      }
    }
    return recorded;
  }

  /** The names `clientIp` resolved `destIp` from and that have not expired at `nowUs`: sorted, each once. */
  namesFor(clientIp: string, destIp: string, nowUs: number): string[] {
    return this.namesOf(this.find(clientIp, destIp), nowUs);
  }

  /**
   * namesFor() a flow's client and destination: an IPv4 flow by the address
   * words the flow table holds (the pair namesFor() reads from their text),
   * with no text made; any other by its text.
   */
  namesForFlow(flow: FlowAddresses, nowUs: number): string[] {
    const entry = flow.v6 ? this.find(flow.srcIp, flow.destIp) : this.v4.get(flow.c0 | 0, flow.d0 | 0);
    return this.namesOf(entry, nowUs);
  }

  private namesOf(entry: Entry | undefined, nowUs: number): string[] {
    if (entry === undefined) return NO_NAMES;
    dropExpired(entry, nowUs);
    if (entry.names.length === 0) {
      this.remove(entry);
      return NO_NAMES;
    }
    this.touch(entry); // now the most recently used
    return sortNames(entry.names.slice());
  }

  /** Drops every expired name, and entries left empty; returns how many entries went. For a periodic timer. */
  sweep(nowUs: number): number {
    let removed = 0;
    for (let e = this.oldest; e !== null; ) {
      const next = e.newer;
      dropExpired(e, nowUs);
      if (e.names.length === 0) {
        this.remove(e);
        removed++;
      }
      e = next;
    }
    return removed;
  }

  private clampTtl(ttl: number): number {
    return Math.min(this.opts.maxTtlSeconds, Math.max(this.opts.minTtlSeconds, ttl));
  }

  /** Records names[0..count) for (clientIp, address). */
  private add(clientIp: string, address: string, names: string[], count: number, expiry: number): number {
    let entry = this.find(clientIp, address);
    // Last to first: if a chain is longer than an entry holds, the names nearest the address give way
    // (same expiry, added first), and the name the client asked for stays.
    let last = count - 1;
    if (entry !== undefined) {
      this.touch(entry);
    } else {
      if (this.size >= this.opts.maxEntries && this.oldest !== null) {
        this.remove(this.oldest);
        this.evictions++;
      }
      if (this.bothV4(clientIp, address)) {
        // Stryker disable next-line StringLiteral: an entry in `v4` is found and removed by its place there, never by key
        entry = new Entry('', names[last--], expiry);
        this.v4.add(this.pairClient, this.pairDest, entry);
      } else {
        const key = entryKey(clientIp, address);
        entry = new Entry(key, names[last--], expiry);
        this.entries.set(key, entry);
      }
      this.link(entry);
    }
    let held = entry.names;
    let expiries = entry.expiries;
    for (let i = last; i >= 0; i--) {
      const name = names[i];
      const at = held.indexOf(name);
      if (at >= 0) {
        expiries[at] = Math.max(expiries[at], expiry);
        continue;
      }
      if (held.length >= this.opts.maxNamesPerEntry) {
        const first = firstToExpire(expiries);
        held.splice(first, 1);
        expiries.splice(first, 1);
        this.namesDropped++;
      }
      // Arrays of the new length, not push(): V8 would grow an array pushed to from one element to
      // seventeen, and most entries hold one name or two (a CNAME and its target) for as long as
      // they live: 65,536 of them are ~8 MB less this way.
      held = entry.names = held.concat(name);
      expiries = entry.expiries = expiries.concat(expiry);
    }
    return count;
  }

  private find(clientIp: string, destIp: string): Entry | undefined {
    return this.bothV4(clientIp, destIp)
      ? this.v4.get(this.pairClient, this.pairDest)
      : this.entries.get(entryKey(clientIp, destIp));
  }

  /** Both addresses are IPv4 (their words then in pairClient, pairDest): the entry belongs in `v4`. */
  private bothV4(clientIp: string, destIp: string): boolean {
    const c = ipv4Word(clientIp);
    // Stryker disable next-line EqualityOperator: 0.0.0.0 kept by its text instead gives the same answers (every lookup asks here)
    if (c < 0) return false;
    const d = ipv4Word(destIp);
    // Stryker disable next-line EqualityOperator: 0.0.0.0 kept by its text instead gives the same answers (every lookup asks here)
    if (d < 0) return false;
    this.pairClient = c | 0;
    this.pairDest = d | 0;
    return true;
  }

  private link(e: Entry): void {
    e.older = this.newest;
    e.newer = null;
    if (this.newest !== null) this.newest.newer = e;
    else this.oldest = e;
    this.newest = e;
  }

  private unlink(e: Entry): void {
    if (e.older !== null) e.older.newer = e.newer;
    else this.oldest = e.newer;
    if (e.newer !== null) e.newer.older = e.older;
    else this.newest = e.older;
    e.older = null;
    e.newer = null;
  }

  private touch(e: Entry): void {
    // Stryker disable next-line ConditionalExpression: unlinking and relinking the newest entry leaves the list as it was
    if (this.newest === e) return;
    this.unlink(e);
    this.link(e);
  }

  private remove(e: Entry): void {
    this.unlink(e);
    if (e.indexAt >= 0) this.v4.delete(e);
    else this.entries.delete(e.key);
  }
}

function entryKey(clientIp: string, destIp: string): string {
  return `${clientIp} ${destIp}`;
}

/** Removes the names expired at `nowUs`, keeping the others in order. */
function dropExpired(e: Entry, nowUs: number): void {
  const names = e.names;
  const expiries = e.expiries;
  let kept = 0;
  // Stryker disable next-line EqualityOperator: one step past the end reads undefined, and undefined > nowUs is false
  for (let i = 0; i < names.length; i++) {
    if (expiries[i] > nowUs) {
      names[kept] = names[i];
      expiries[kept] = expiries[i];
      kept++;
    }
  }
  names.length = kept;
  expiries.length = kept;
}

/** The index of the name that expires first (the earliest added of those on a tie). */
function firstToExpire(expiries: number[]): number {
  let first = 0;
  // Stryker disable next-line EqualityOperator: one step past the end reads undefined, and undefined < n is false
  for (let i = 1; i < expiries.length; i++) {
    if (expiries[i] < expiries[first]) first = i;
  }
  return first;
}
