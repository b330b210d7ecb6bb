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

/** A `high` judgement with one more matched deny rule. */
function deny(j: Judgement | null, reason: Reason, value: string): Judgement {
  const out = j ?? { verdict: 'high', reasons: [], matched: {} };
  out.reasons.push(reason);
  out.matched[reason] = value;
  return out;
}

export function judge(d: Destination, p: Policy): Judgement {
  if (!d.internet) return LOCAL;
  // Made only when a deny rule matches: most destinations match none.
  let denied: Judgement | null = null;
  if (d.country !== null && p.denyCountries.has(d.country)) denied = deny(denied, ReasonCode.DENY_COUNTRY, d.country);
  if (d.asCountry !== null && p.denyAsCountries.has(d.asCountry)) {
    denied = deny(denied, ReasonCode.DENY_AS_COUNTRY, d.asCountry);
  }
  if (d.asn !== null && p.denyAsns.has(d.asn)) denied = deny(denied, ReasonCode.DENY_ASN, `AS${d.asn}`);
  for (const name of d.names) {
    const rule = p.denyDomains.match(name);
    if (rule !== null) {
      denied = deny(denied, ReasonCode.DENY_DOMAIN, rule);
      break;
    }
  }
  if (denied !== null) return denied;
  for (const c of p.allowCidrs) if (cidrContains(c, d.words, d.v6)) return ALLOWED;
  for (const n of d.names) if (p.allowDomains.match(n) !== null) return ALLOWED;
  return UNLISTED[p.unlisted];
}
