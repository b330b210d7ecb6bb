// The verdict rules of DESIGN.md ("Policy file"): for an internet
// destination, any deny match is `high` with the code of every rule that
// matched; else an allow CIDR or an allowed name makes it `allowed`; else it
// is `not_allowlisted` at the policy's unlisted severity (medium by default).
// Deny beats allow. Local destinations are never flagged.

import { cidrContains } from './cidr.js';
import { type Policy, type Reason, ReasonCode, type Verdict } from './policy.js';

export interface Destination {
  /** Address words as the flow table stores them: 1 for IPv4, 4 for IPv6. */
  words: ArrayLike<number>;
  v6: boolean;
  internet: boolean;
  names: readonly string[];
  country: string | null;
  asn: number | null;
  asCountry: string | null;
}

export interface Judgement {
  verdict: Verdict;
  reasons: Reason[];
  /** The rules that matched, for the plain-language text: e.g. { deny_domain: 'dji.com' }. */
  matched: Partial<Record<Reason, string>>;
}

/** The judgements most flows get, shared rather than allocated per flow (never modified). */
const LOCAL: Judgement = Object.freeze({ verdict: 'allowed', reasons: [], matched: {} }) as Judgement;
const ALLOWED: Judgement = LOCAL;
const UNLISTED: Record<'medium' | 'high', Judgement> = {
  medium: Object.freeze({ verdict: 'medium', reasons: [ReasonCode.NOT_ALLOWLISTED], matched: {} }) as Judgement,
  high: Object.freeze({ verdict: 'high', reasons: [ReasonCode.NOT_ALLOWLISTED], matched: {} }) as Judgement,
};

/** Deny judgements kept per policy (DeniedJudgements), at most this many. */
export const MAX_DENIED_JUDGEMENTS = 1024;

/**
 * The `high` judgements a policy has given, one object per combination of
 * matched deny rules (country, AS country, ASN, domain rule), frozen and
 * shared as the ones above are: a flagged flow's judgement is found again
 * rather than made again for every flow and every decision, and a flow at
 * rest (names/at-rest.ts) records it as itself. Bounded: past
 * MAX_DENIED_JUDGEMENTS combinations a judgement is made for the call and not
 * kept (`notKept`).
 */
export class DeniedJudgements {
  size = 0;
  notKept = 0;
  private readonly byCountry = new Map<
    string | null,
    Map<string | null, Map<number | null, Map<string | null, Judgement>>>
  >();

  get(country: string | null, asCountry: string | null, asn: number | null, rule: string | null): Judgement {
    const byAsCountry = this.byCountry.get(country);
    const byAsn = byAsCountry?.get(asCountry);
    const byRule = byAsn?.get(asn);
    const kept = byRule?.get(rule);
    if (kept !== undefined) return kept;
    const j = deniedJudgement(country, asCountry, asn, rule);
    if (this.size >= MAX_DENIED_JUDGEMENTS) {
      this.notKept++;
      return j;
    }
    const a = byAsCountry ?? made(this.byCountry, country);
    const b = byAsn ?? made(a, asCountry);
    (byRule ?? made(b, asn)).set(rule, j);
    this.size++;
    return j;
  }
}

/** A new, empty map under `key` in `map`. */
function made<K, M extends Map<unknown, unknown>>(map: Map<K, M>, key: K): M {
  const m = new Map() as M;
  map.set(key, m);
  return m;
}

/** A `high` judgement with the deny rules that matched, in DESIGN.md's order of reasons; frozen. */
function deniedJudgement(
  country: string | null,
  asCountry: string | null,
  asn: number | null,
  rule: string | null,
): Judgement {
  const reasons: Reason[] = [];
  const matched: Partial<Record<Reason, string>> = {};
  if (country !== null) {
    reasons.push(ReasonCode.DENY_COUNTRY);
    matched[ReasonCode.DENY_COUNTRY] = country;
  }
  if (asCountry !== null) {
    reasons.push(ReasonCode.DENY_AS_COUNTRY);
    matched[ReasonCode.DENY_AS_COUNTRY] = asCountry;
  }
  if (asn !== null) {
    reasons.push(ReasonCode.DENY_ASN);
    matched[ReasonCode.DENY_ASN] = `AS${asn}`;
  }
  if (rule !== null) {
    reasons.push(ReasonCode.DENY_DOMAIN);
    matched[ReasonCode.DENY_DOMAIN] = rule;
  }
  Object.freeze(reasons);
  Object.freeze(matched);
  return Object.freeze({ verdict: 'high', reasons, matched }) as Judgement;
}

/** Each policy's deny judgements, made as its flows need them. */
const deniedByPolicy = new WeakMap<Policy, DeniedJudgements>();

/** The deny judgements kept for `p` (their count and bound: DeniedJudgements). */
export function deniedJudgements(p: Policy): DeniedJudgements {
  const kept = deniedByPolicy.get(p);
  if (kept !== undefined) return kept;
  const d = new DeniedJudgements();
  deniedByPolicy.set(p, d);
  return d;
}

export function judge(d: Destination, p: Policy): Judgement {
  if (!d.internet) return LOCAL;
  // A deny judgement only when a rule matches: most destinations match none.
  const country = d.country !== null && p.denyCountries.has(d.country) ? d.country : null;
  const asCountry = d.asCountry !== null && p.denyAsCountries.has(d.asCountry) ? d.asCountry : null;
  const asn = d.asn !== null && p.denyAsns.has(d.asn) ? d.asn : null;
  let rule: string | null = null;
  const names = d.names;
  for (let i = 0; i < names.length && rule === null; i++) rule = p.denyDomains.match(names[i]);
  if (country !== null || asCountry !== null || asn !== null || rule !== null) {
    return deniedJudgements(p).get(country, asCountry, asn, rule);
  }
  const cidrs = p.allowCidrs;
  for (let i = 0; i < cidrs.length; i++) if (cidrContains(cidrs[i], d.words, d.v6)) return ALLOWED;
  for (let i = 0; i < names.length; i++) if (p.allowDomains.match(names[i]) !== null) return ALLOWED;
  return UNLISTED[p.unlisted];
}
