// Policy files and built-in profiles (DESIGN.md "Policy file"), validated on
// load: an unknown key, a wrong type, a bad CIDR, country or ASN is an
// EGRESS_POLICY_INVALID error naming the key and its line. A file may
// `extends:` one or more profiles; lists are merged, `unlisted` is overridden.

import { existsSync, readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { EgressError, ErrorCode } from '../errors.js';
import { type Cidr, parseCidr } from './cidr.js';
import { DomainSet, isValidDomainRule } from './domains.js';
import type { GeoOverride, Policy, UnlistedSeverity } from './policy.js';

const PROFILE_DIR = new URL('../../profiles/', import.meta.url);
export const DEFAULT_PROFILE = 'default';

/** One file's validated content, before merging. */
interface PolicyDoc {
  extends: string[];
  allowDomains: string[];
  allowCidrs: Cidr[];
  denyCountries: string[];
  denyAsCountries: string[];
  denyDomains: string[];
  denyAsns: number[];
  geoOverrides: GeoOverride[];
  unlisted?: UnlistedSeverity;
}

export function profileNames(): string[] {
  return ['default', 'dji', 'camera', 'local-data-mode'];
}

/** The policy for `--profile`/`--policy`: a file (which may extend profiles), a profile, or the default profile. */
export function loadPolicy(opts: { file?: string; profile?: string }): Policy {
  const docs: PolicyDoc[] = [];
  const sources: string[] = [];
  const seen = new Set<string>();
  const addProfile = (name: string, from: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const path = new URL(`${name}.yaml`, PROFILE_DIR);
    if (!/^[a-z][a-z0-9-]*$/.test(name) || !existsSync(path)) {
      throw new EgressError(
        ErrorCode.POLICY_INVALID,
        `unknown profile "${name}" (known: ${profileNames().join(', ')})`,
        { file: from },
      );
    }
    const doc = parsePolicyText(readFileSync(path, 'utf8'), `profile ${name}`);
    for (const parent of doc.extends) addProfile(parent, `profile ${name}`);
    docs.push(doc);
    sources.push(`profile ${name}`);
  };
  if (opts.profile !== undefined) addProfile(opts.profile, '--profile');
  if (opts.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (err) {
      throw new EgressError(ErrorCode.POLICY_INVALID, `cannot read policy: ${(err as Error).message}`, {
        file: opts.file,
      });
    }
    const doc = parsePolicyText(text, opts.file);
    for (const parent of doc.extends) addProfile(parent, opts.file);
    docs.push(doc);
    sources.push(opts.file);
  }
  // Stryker disable next-line StringLiteral: equivalent, the default profile always exists, so `from` is never shown
  if (docs.length === 0) addProfile(DEFAULT_PROFILE, 'default');
  return merge(docs, sources.join(' + '));
}

function merge(docs: PolicyDoc[], source: string): Policy {
  const p: Policy = {
    source,
    allowDomains: new DomainSet(),
    allowCidrs: [],
    denyCountries: new Set(),
    denyAsCountries: new Set(),
    denyDomains: new DomainSet(),
    denyAsns: new Set(),
    geoOverrides: [],
    unlisted: 'medium',
  };
  for (const d of docs) {
    for (const x of d.allowDomains) p.allowDomains.add(x);
    p.allowCidrs.push(...d.allowCidrs);
    for (const x of d.denyCountries) p.denyCountries.add(x);
    for (const x of d.denyAsCountries) p.denyAsCountries.add(x);
    for (const x of d.denyDomains) p.denyDomains.add(x);
    for (const x of d.denyAsns) p.denyAsns.add(x);
    p.geoOverrides.push(...d.geoOverrides);
    if (d.unlisted !== undefined) p.unlisted = d.unlisted;
  }
  return p;
}

/** Validate one YAML text; `file` names it in errors. */
export function parsePolicyText(text: string, file: string): PolicyDoc {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw new EgressError(ErrorCode.POLICY_INVALID, `not valid YAML: ${e.message.split('\n')[0]}`, {
      file,
      line: e.linePos?.[0].line,
    });
  }
  const lineOf = (n: Node | null | undefined) => (n?.range ? lines.linePos(n.range[0]).line : undefined);
  const fail = (what: string, n: Node | null | undefined): never => {
    throw new EgressError(ErrorCode.POLICY_INVALID, what, { file, line: lineOf(n) });
  };
  const out: PolicyDoc = {
    extends: [],
    allowDomains: [],
    allowCidrs: [],
    denyCountries: [],
    denyAsCountries: [],
    denyDomains: [],
    denyAsns: [],
    geoOverrides: [],
  };
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return out;
  if (!isMap(root)) return fail('a policy is a mapping of allow, deny, geo_overrides, extends, unlisted', root);

  /** Entries of a mapping node, each key checked against `known`. */
  const entries = (map: Node, where: string, known: string[]) => {
    if (!isMap(map)) return fail(`${where} must be a mapping (${known.join(', ')})`, map);
    return map.items.map((pair) => {
      const keyNode = pair.key as Node;
      const key = isScalar(keyNode) ? String(keyNode.value) : '';
      const path = where ? `${where}.${key}` : key;
      if (!known.includes(key)) fail(`unknown key "${path}" (known here: ${known.join(', ')})`, keyNode);
      return { key, path, value: pair.value as Node, keyNode };
    });
  };
  /** A scalar checked by `check` (which returns the normalised value or throws Invalid). */
  const scalar = <T>(n: Node, path: string, check: (v: unknown) => T): T => {
    try {
      return check(isScalar(n) ? n.value : undefined);
    } catch (err) {
      if (err instanceof Invalid) return fail(`${path}: ${err.message}`, n);
      throw err;
    }
  };
  const list = <T>(n: Node, path: string, check: (v: unknown) => T): T[] => {
    if (isScalar(n) && n.value === null) return [];
    if (!isSeq(n)) return fail(`${path} must be a list`, n);
    return n.items.map((item) => scalar(item as Node, path, check));
  };
  const override = (item: Node): GeoOverride => {
    const o: Partial<GeoOverride> = {};
    for (const e of entries(item, 'geo_overrides[]', ['cidr', 'country', 'asn', 'as_org', 'as_country'])) {
      if (e.key === 'cidr') o.cidr = scalar(e.value, e.path, checkCidr);
      else if (e.key === 'country') o.country = scalar(e.value, e.path, checkCountry);
      else if (e.key === 'asn') o.asn = scalar(e.value, e.path, checkAsn);
      else if (e.key === 'as_org') o.asOrg = scalar(e.value, e.path, checkText);
      else o.asCountry = scalar(e.value, e.path, checkCountry);
    }
    if (o.cidr === undefined) fail('geo_overrides[]: every override needs a cidr', item);
    return o as GeoOverride;
  };

  for (const { key, path, value, keyNode } of entries(root, '', [
    'extends',
    'allow',
    'deny',
    'geo_overrides',
    'unlisted',
  ])) {
    if (key === 'extends') {
      out.extends = isScalar(value) && typeof value.value === 'string' ? [value.value] : list(value, path, checkName);
    } else if (key === 'unlisted') {
      const v = isScalar(value) ? value.value : undefined;
      if (v !== 'medium' && v !== 'high') fail(`${path} must be medium or high`, value ?? keyNode);
      out.unlisted = v as UnlistedSeverity;
    } else if (key === 'allow') {
      for (const e of entries(value, 'allow', ['domains', 'cidrs'])) {
        if (e.key === 'domains') out.allowDomains = list(e.value, e.path, checkDomain);
        else out.allowCidrs = list(e.value, e.path, checkCidr);
      }
    } else if (key === 'deny') {
      for (const e of entries(value, 'deny', ['countries', 'as_countries', 'domains', 'asns'])) {
        if (e.key === 'countries') out.denyCountries = list(e.value, e.path, checkCountry);
        else if (e.key === 'as_countries') out.denyAsCountries = list(e.value, e.path, checkCountry);
        else if (e.key === 'domains') out.denyDomains = list(e.value, e.path, checkDomain);
        else out.denyAsns = list(e.value, e.path, checkAsn);
      }
    } else {
      if (!isSeq(value)) fail(`${path} must be a list of { cidr, country, asn, as_org, as_country }`, value ?? keyNode);
      else for (const item of value.items) out.geoOverrides.push(override(item as Node));
    }
  }
  return out;
}

/** A value that fails its check; turned into EGRESS_POLICY_INVALID with the key and line. */
class Invalid extends Error {}

function checkName(v: unknown): string {
  if (typeof v === 'string' && /^[a-z][a-z0-9-]*$/.test(v)) return v;
  throw new Invalid(`"${String(v)}" is not a profile name`);
}

function checkDomain(v: unknown): string {
  // Stryker disable next-line MethodExpression: equivalent, DomainSet lower-cases every rule it is given
  if (typeof v === 'string' && isValidDomainRule(v)) return v.toLowerCase();
  throw new Invalid(`"${String(v)}" is not a domain (name.tld or *.name.tld)`);
}

function checkCidr(v: unknown): Cidr {
  const c = typeof v === 'string' ? parseCidr(v) : null;
  if (c === null) throw new Invalid(`"${String(v)}" is not a CIDR prefix`);
  return c;
}

/** ISO 3166-1 alpha-2; accepted in any case, stored upper case. */
function checkCountry(v: unknown): string {
  if (typeof v === 'string' && /^[a-zA-Z]{2}$/.test(v)) return v.toUpperCase();
  throw new Invalid(`"${String(v)}" is not a two-letter country code`);
}

/** 37963 or "AS37963". */
function checkAsn(v: unknown): number {
  const n =
    typeof v === 'number'
      ? v
      : typeof v === 'string' && /^(AS)?\d+$/i.test(v)
        ? // Stryker disable next-line Regex: equivalent, the test above allows "AS" only at the start
          Number(v.replace(/^AS/i, ''))
        : Number.NaN;
  if (Number.isInteger(n) && n >= 0 && n <= 4294967295) return n;
  throw new Invalid(`"${String(v)}" is not an AS number`);
}

function checkText(v: unknown): string {
  if (typeof v === 'string') return v;
  throw new Invalid(`"${String(v)}" is not text`);
}
