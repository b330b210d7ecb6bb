// `lookup` events (DESIGN.md "scan NDJSON"): a client asked a resolver — any,
// the LAN one included — for a name the policy denies. Raised once per client
// and name, whether or not a connection follows (block mode, a failed
// connect, an app that only checks whether its server is reachable): a team
// learns that something tried. It is an alert on the name, not a flagged
// flow: the DNS flow to the LAN resolver keeps its own verdict (unflagged).
//
// Bounded (STYLE.md "State is bounded"): at most `maxPairs` client+name pairs
// are remembered, the oldest forgotten first and counted; a forgotten pair is
// raised again the next time it is asked. The live agent starts the table
// afresh when a flight opens (and a looping replay on each pass), so every
// flight's alerts and evidence hold the lookups made during it.

import type { FlowApp } from '../names/flow-app.js';
import type { DomainSet } from './domains.js';
import { normaliseName } from './domains.js';
import { ReasonCode } from './policy.js';

export const DEFAULT_MAX_LOOKUP_PAIRS = 4096;

export interface LookupRecord {
  tsUs: number;
  /** The DNS flow the question (or its answer) travelled on: client → resolver. */
  app: FlowApp;
  /** The name asked for, lower case, without the final dot. */
  name: string;
  /** The deny rule that matched (e.g. "dji.com"). */
  rule: string;
  severity: 'high';
  reasons: readonly ['deny_domain'];
  /** Plain language for people. */
  text: string;
}

const REASONS = [ReasonCode.DENY_DOMAIN] as const;

export class LookupWatch {
  /** Named counters, shown in `stats.names`. */
  readonly counters = { lookups_denied: 0, lookups_repeated: 0, lookups_forgotten: 0 };
  /** Client + name pairs already raised, oldest first (a Map keeps insertion order). */
  private readonly seen = new Map<string, true>();

  constructor(
    private readonly deny: DomainSet,
    private readonly maxPairs = DEFAULT_MAX_LOOKUP_PAIRS,
  ) {}

  get size(): number {
    return this.seen.size;
  }

  /** Forget every pair (a new flight, a new replay pass): the next lookup of each is raised again. */
  startOver(): void {
    this.seen.clear();
  }

  /** A DNS message's question name (query or answer): a record the first time this client asks for this denied name. */
  check(app: FlowApp, tsUs: number, asked: string | null): LookupRecord | null {
    if (asked === null || asked === '' || this.deny.size === 0) return null;
    const rule = this.deny.match(asked);
    if (rule === null) return null;
    const name = normaliseName(asked);
    const key = `${app.srcIp} ${name}`;
    if (this.seen.has(key)) {
      this.counters.lookups_repeated++;
      return null;
    }
    if (this.seen.size >= this.maxPairs) {
      this.seen.delete(this.seen.keys().next().value as string);
      this.counters.lookups_forgotten++;
    }
    this.seen.set(key, true);
    this.counters.lookups_denied++;
    return {
      tsUs,
      app,
      name,
      rule,
      severity: 'high',
      reasons: REASONS,
      text: `${app.srcIp} asked the resolver ${app.destIp} for ${name}, a name the policy denies (${rule})`,
    };
  }
}
