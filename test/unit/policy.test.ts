// Policy semantics of DESIGN.md: domain and CIDR matching (with the traps
// that fool naive matchers), validation with key and line, profiles and
// `extends`, and the verdict rules (deny beats allow, every matching code).

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EgressError } from '../../agent/src/errors.js';
import { cidrContains, parseAddress, parseCidr } from '../../agent/src/policy/cidr.js';
import { DomainSet } from '../../agent/src/policy/domains.js';
import { loadPolicy, parsePolicyText } from '../../agent/src/policy/load.js';
import { type Destination, judge } from '../../agent/src/policy/verdict.js';

const dir = mkdtempSync(join(tmpdir(), 'egress-policy-'));
function policyFile(text: string): string {
  const f = join(dir, `p${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(f, text);
  return f;
}

function dest(ip: string, extra: Partial<Destination> = {}): Destination {
  const words = parseAddress(ip)!;
  return {
    words,
    v6: words.length === 4,
    internet: true,
    names: [],
    country: null,
    asn: null,
    asCountry: null,
    ...extra,
  };
}

function invalid(fn: () => unknown): EgressError {
  try {
    fn();
  } catch (err) {
    if (err instanceof EgressError) return err;
    throw err;
  }
  throw new Error('expected EGRESS_POLICY_INVALID');
}

describe('domain rules', () => {
  const set = new DomainSet(['dji.com', '*.djicdn.com', 'Example.NL.']);
  it.each([
    ['dji.com', 'dji.com'],
    ['flysafe-api.dji.com', 'dji.com'],
    ['FLYSAFE-API.DJI.COM.', 'dji.com'],
    ['fakedji.com', null],
    ['dji.com.cdn-example.org', null],
    ['notdji.com', null],
    ['djicdn.com', null],
    ['a.b.djicdn.com', '*.djicdn.com'],
    ['maps.example.nl', 'example.nl'],
  ])('%s → %s', (name, rule) => {
    expect(set.match(name)).toBe(rule);
  });
});

describe('CIDR prefixes', () => {
  it.each([
    ['203.0.113.0/24', '203.0.113.255', true],
    ['203.0.113.0/24', '203.0.114.0', false],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['145.100.0.0/16', '145.100.9.9', true],
    ['192.0.2.7', '192.0.2.7', true],
    ['192.0.2.7', '192.0.2.8', false],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['2001:db8:0:1::/64', '2001:db8::1:0:0:0:1', true],
    ['::ffff:192.0.2.0/120', '::ffff:192.0.2.9', true],
    ['203.0.113.0/24', '2001:db8::1', false],
  ])('%s contains %s: %s', (cidr, ip, want) => {
    const c = parseCidr(cidr)!;
    const w = parseAddress(ip)!;
    expect(cidrContains(c, w, w.length === 4)).toBe(want);
  });

  it.each(['203.0.113.0/33', '2001:db8::/129', '1.2.3/24', '256.1.1.1', '2001:db8:::1', 'x', '1.2.3.4/', '::1::2'])(
    'rejects %s',
    (bad) => expect(parseCidr(bad)).toBeNull(),
  );
});

describe('policy files', () => {
  it('names the unknown key and its line', () => {
    const e = invalid(() => parsePolicyText('allow:\n  domains: [a.example]\ndeny:\n  contries: [CN]\n', 'p.yaml'));
    expect(e.code).toBe('EGRESS_POLICY_INVALID');
    expect(e.facts.line).toBe(4);
    expect(e.message).toContain('deny.contries');
    expect(e.toLine()).toMatch(/^EGRESS_POLICY_INVALID at line 4 of p\.yaml: unknown key "deny\.contries"/);
  });

  it.each([
    ['deny:\n  countries: CN\n', 2, 'deny.countries must be a list'],
    ['deny:\n  countries: [CN, CHN]\n', 2, '"CHN" is not a two-letter country code'],
    ['allow:\n  cidrs:\n    - 10.0.0.0/8\n    - 300.0.0.0/8\n', 4, '"300.0.0.0/8" is not a CIDR prefix'],
    ['deny:\n  asns: [AS37963, cheese]\n', 2, '"cheese" is not an AS number'],
    ['deny:\n  domains: ["bad domain.com"]\n', 2, 'is not a domain'],
    ['geo_overrides:\n  - { country: CN }\n', 2, 'every override needs a cidr'],
    ['geo_overrides:\n  - { cidr: 203.0.113.0/24, colour: red }\n', 2, 'unknown key "geo_overrides[].colour"'],
    ['unlisted: low\n', 1, 'unlisted must be medium or high'],
    ['allow: [a, b]\n', 1, 'allow must be a mapping'],
    ['deny:\n  countries: [CN\n', 3, 'not valid YAML'],
  ])('rejects %j at line %i', (text, line, message) => {
    const e = invalid(() => parsePolicyText(text, 'p.yaml'));
    expect(e.facts.line).toBe(line);
    expect(e.message).toContain(message);
  });

  it('reads the example of DESIGN.md', () => {
    const doc = parsePolicyText(
      `allow:
  domains: [maps.example.nl]
  cidrs: [145.100.0.0/16]
deny:
  countries: [CN, HK, MO]
  as_countries: [CN]
  domains: [dji.com, djicdn.com]
  asns: [37963]
geo_overrides:
  - { cidr: 203.0.113.0/24, country: CN, asn: 64500, as_org: "Test CN", as_country: CN }
`,
      'p.yaml',
    );
    expect(doc.denyCountries).toEqual(['CN', 'HK', 'MO']);
    expect(doc.denyAsns).toEqual([37963]);
    expect(doc.geoOverrides[0]).toMatchObject({ country: 'CN', asn: 64500, asOrg: 'Test CN', asCountry: 'CN' });
  });

  it('an empty file is an empty policy; a file extends profiles and overrides unlisted', () => {
    expect(parsePolicyText('', 'p.yaml').denyDomains).toEqual([]);
    const p = loadPolicy({ file: policyFile('extends: dji\nallow:\n  domains: [maps.example.nl]\nunlisted: high\n') });
    expect(p.source).toMatch(/^profile default \+ profile dji \+ .*\.yaml$/);
    expect(p.denyDomains.match('flysafe-api.dji.com')).toBe('dji.com');
    expect(p.allowDomains.match('maps.example.nl')).toBe('maps.example.nl');
    expect(p.unlisted).toBe('high');
  });

  it('rejects an unknown profile and names the known ones', () => {
    const e = invalid(() => loadPolicy({ profile: 'djj' }));
    expect(e.message).toContain('unknown profile "djj" (known: default, dji, camera, local-data-mode)');
  });

  it('loads every built-in profile', () => {
    for (const name of ['default', 'dji', 'camera', 'local-data-mode'])
      expect(loadPolicy({ profile: name }).source).toContain(name);
  });
});

describe('verdicts', () => {
  const p = loadPolicy({
    file: policyFile(`extends: default
allow:
  domains: [maps.example.nl]
  cidrs: [145.100.0.0/16]
deny:
  domains: [dji.com]
  asns: [37963]
`),
  });

  it('flags every deny rule that matched, high', () => {
    const j = judge(
      dest('203.0.113.10', { names: ['flysafe-api.dji.com'], country: 'CN', asn: 37963, asCountry: 'CN' }),
      p,
    );
    expect(j.verdict).toBe('high');
    expect(j.reasons).toEqual(['deny_country', 'deny_as_country', 'deny_asn', 'deny_domain']);
  });

  it('deny beats allow: an allowed name on a denied network is high', () => {
    expect(judge(dest('145.100.1.1', { names: ['maps.example.nl'], asCountry: 'CN' }), p)).toMatchObject({
      verdict: 'high',
      reasons: ['deny_as_country'],
    });
    expect(judge(dest('145.100.1.1', { names: ['dji.com'] }), p).verdict).toBe('high');
  });

  it('a Chinese cloud network in a European country is caught by as_countries and the default ASN list', () => {
    expect(judge(dest('198.51.100.40', { country: 'DE', asn: 45102, asCountry: 'CN' }), p).reasons).toEqual([
      'deny_as_country',
      'deny_asn',
    ]);
  });

  it('allows by CIDR or by name; everything else is not_allowlisted', () => {
    expect(judge(dest('145.100.200.1'), p)).toMatchObject({ verdict: 'allowed', reasons: [] });
    expect(judge(dest('192.0.2.30', { names: ['tiles.maps.example.nl'] }), p).verdict).toBe('allowed');
    expect(
      judge(dest('192.0.2.30', { names: ['fakedji.com', 'dji.com.cdn-example.org'], country: 'NL' }), p),
    ).toMatchObject({
      verdict: 'medium',
      reasons: ['not_allowlisted'],
    });
  });

  it('never flags a local destination', () => {
    expect(judge(dest('192.168.1.1', { internet: false, country: 'CN' }), p).verdict).toBe('allowed');
  });

  it('local-data-mode makes any internet connection high', () => {
    const ldm = loadPolicy({ profile: 'local-data-mode' });
    expect(judge(dest('192.0.2.1', { country: 'NL' }), ldm)).toMatchObject({
      verdict: 'high',
      reasons: ['not_allowlisted'],
    });
  });
});
