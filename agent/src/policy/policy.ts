// A policy: what is allowed, what is denied, and local truth about
// addresses (geo_overrides). Built from a YAML file and/or a built-in
// profile; the rules of DESIGN.md ("Policy file") decide the verdict.

import type { Cidr } from './cidr.js';
import type { DomainSet } from './domains.js';

export interface GeoOverride {
  cidr: Cidr;
  country?: string;
  asn?: number;
  asOrg?: string;
  asCountry?: string;
}

/** How a destination that matches no rule is judged: `medium` normally, `high` where nothing may leave. */
export type UnlistedSeverity = 'medium' | 'high';

export interface Policy {
  /** Where it came from, e.g. "profile dji + policy.yaml". */
  source: string;
  allowDomains: DomainSet;
  allowCidrs: Cidr[];
  denyCountries: Set<string>;
  denyAsCountries: Set<string>;
  denyDomains: DomainSet;
  denyAsns: Set<number>;
  geoOverrides: GeoOverride[];
  unlisted: UnlistedSeverity;
}

export const ReasonCode = {
  DENY_COUNTRY: 'deny_country',
  DENY_AS_COUNTRY: 'deny_as_country',
  DENY_ASN: 'deny_asn',
  DENY_DOMAIN: 'deny_domain',
  NOT_ALLOWLISTED: 'not_allowlisted',
} as const;

export type Reason = (typeof ReasonCode)[keyof typeof ReasonCode];
export type Verdict = 'allowed' | 'medium' | 'high';
