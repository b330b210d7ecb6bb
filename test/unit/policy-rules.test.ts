// The policy's building blocks, table-driven, written to kill the mutants
// that survived the first mutation run of agent/src/policy (issue 19):
// address and prefix parsing at their edges, prefix matching on every 32-bit
// word of an IPv6 address, domain rules by whole labels, and validation
// errors with their exact message, key and line.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EgressError } from '../../agent/src/errors.js';
import { cidrContains, parseAddress, parseCidr } from '../../agent/src/policy/cidr.js';
import { DomainSet, isValidDomainRule, MATCH_MEMO_MAX } from '../../agent/src/policy/domains.js';
import { loadPolicy, parsePolicyText } from '../../agent/src/policy/load.js';
import { deniedJudgements, judge, MAX_DENIED_JUDGEMENTS } from '../../agent/src/policy/verdict.js';

const dir = mkdtempSync(join(tmpdir(), 'egress-policy-rules-'));
let files = 0;
function policyFile(text: string): string {
  const f = join(dir, `p${++files}.yaml`);
  writeFileSync(f, text);
  return f;
}

const hex = (w: Int32Array | null) => (w === null ? null : [...w].map((x) => (x >>> 0).toString(16).padStart(8, '0')));

describe('parseAddress', () => {
  it.each([
    ['192.0.2.1', ['c0000201']],
    ['0.0.0.0', ['00000000']],
    ['255.255.255.255', ['ffffffff']],
    ['2001:db8::1', ['20010db8', '00000000', '00000000', '00000001']],
    ['2001:db8:1:2:3:4:5:6', ['20010db8', '00010002', '00030004', '00050006']],
    ['1:2:3:4:5:6:7:8', ['00010002', '00030004', '00050006', '00070008']],
    ['::', ['00000000', '00000000', '00000000', '00000000']],
    ['::1', ['00000000', '00000000', '00000000', '00000001']],
    ['1::', ['00010000', '00000000', '00000000', '00000000']],
    ['1:2:3:4:5:6:7::', ['00010002', '00030004', '00050006', '00070000']],
    ['::2:3:4:5:6:7:8', ['00000002', '00030004', '00050006', '00070008']],
    ['::ffff:192.0.2.1', ['00000000', '00000000', '0000ffff', 'c0000201']],
    ['ABCD:ef01::', ['abcdef01', '00000000', '00000000', '00000000']],
  ])('%s', (text, words) => {
    expect(hex(parseAddress(text))).toEqual(words);
  });

  it.each([
    '256.0.0.1',
    '1.2.3',
    '1.2.3.4.5',
    '+1.2.3.4',
    '1e2.0.0.1',
    '1.2.3.1234',
    '',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7:8::',
    '::1:2:3:4:5:6:7:8',
    '1::2::3',
    ':::',
    'g::1',
    '12345::1',
    '+1::1',
    '1g::',
    '::ffff:300.0.2.1',
  ])('refuses %j', (text) => {
    expect(parseAddress(text)).toBeNull();
  });
});

describe('parseCidr', () => {
  it.each([
    ['192.0.2.0/24', false, 24],
    ['192.0.2.1', false, 32],
    ['0.0.0.0/0', false, 0],
    ['192.0.2.1/32', false, 32],
    ['2001:db8::/32', true, 32],
    ['2001:db8::1', true, 128],
    ['2001:db8::/128', true, 128],
  ])('%s', (text, v6, bits) => {
    expect(parseCidr(text)).toMatchObject({ text, v6, bits });
  });

  it.each([
    '192.0.2.0/33',
    '2001:db8::/129',
    '192.0.2.0/',
    '192.0.2.0/+24',
    '192.0.2.0/2e1',
    '192.0.2.0/1234',
    '192.0.2.0/24/1',
    '/24',
  ])('refuses %j', (text) => {
    expect(parseCidr(text)).toBeNull();
  });
});

describe('cidrContains: every bit of the prefix, in every word', () => {
  const v4 = (a: string) => parseAddress(a) as Int32Array;
  it.each([
    ['192.0.2.0/24', '192.0.2.77', true],
    ['192.0.2.0/24', '192.0.3.77', false],
    ['192.0.2.0/23', '192.0.3.1', true],
    ['192.0.2.128/25', '192.0.2.127', false],
    ['192.0.2.1/32', '192.0.2.1', true],
    ['192.0.2.1/32', '192.0.2.2', false],
    ['192.0.2.1/32', '192.0.3.1', false],
    ['2001:db8::1/128', '2001:db8::3', false],
    ['2001:db8::1/128', '2001:db9::1', false],
    ['0.0.0.0/0', '203.0.113.9', true],
    ['128.0.0.0/1', '127.255.255.255', false],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['2001:db8::/33', '2001:db8:8000::1', false],
    ['2001:db8::/64', '2001:db8:0:1::1', false],
    ['2001:db8::/64', '2001:db8::ffff:1', true],
    ['2001:db8::/96', '2001:db8::1:0:1', false],
    ['2001:db8::/96', '2001:db8::ffff:1', true],
    ['2001:db8::1/128', '2001:db8::1', true],
    ['2001:db8::1/128', '2001:db8::2', false],
    ['2001:db8::1/127', '2001:db8::0', true],
    ['::/0', '2001:db8::1', true],
  ])('%s contains %s: %s', (prefix, addr, inside) => {
    const c = parseCidr(prefix)!;
    const w = v4(addr);
    expect(cidrContains(c, w, w.length === 4)).toBe(inside);
  });

  it('never matches across address families', () => {
    expect(cidrContains(parseCidr('0.0.0.0/0')!, v4('::'), true)).toBe(false);
    expect(cidrContains(parseCidr('::/0')!, v4('0.0.0.0'), false)).toBe(false);
  });
});

describe('DomainSet', () => {
  // Made inside each test, so that mutation testing sees the rules being added.
  const rules = () => new DomainSet(['dji.com', '*.amap.com', 'Example.ORG.']);
  it.each([
    ['dji.com', 'dji.com'],
    ['flysafe-api.dji.com', 'dji.com'],
    ['a.b.c.dji.com', 'dji.com'],
    ['.dji.com', 'dji.com'],
    ['DJI.COM.', 'dji.com'],
    ['xdji.com', null],
    ['fakedji.com', null],
    ['dji.com.cdn.example.net', null],
    ['amap.com', null],
    ['restapi.amap.com', '*.amap.com'],
    ['www.example.org', 'example.org'],
    ['com', null],
    [' www.dji.com ', 'dji.com'],
  ])('%s → %s', (name, rule) => {
    expect(rules().match(name)).toBe(rule);
  });

  it('lists its rules, and starts empty', () => {
    const set = rules();
    expect(set.size).toBe(3);
    expect(set.rules()).toEqual(['*.amap.com', 'dji.com', 'example.org']);
    expect([new DomainSet().size, new DomainSet().rules(), new DomainSet().match('dji.com')]).toEqual([0, [], null]);
  });

  it('answers again from its memo as it answered first, through resets, and forgets on a new rule', () => {
    const set = rules();
    const names = Array.from({ length: MATCH_MEMO_MAX + 100 }, (_, i) =>
      i % 3 === 0 ? `h${i}.dji.com` : i % 3 === 1 ? `h${i}.amap.com` : `h${i}.example.net`,
    );
    const first = names.map((n) => set.match(n));
    expect(first.filter((r) => r === 'dji.com').length).toBe(Math.ceil(names.length / 3));
    expect(set.memoResets).toBe(1);
    // Again, in another order: the same answers, whether remembered or found anew.
    const again = [...names].reverse().map((n) => set.match(n));
    expect(again.reverse()).toEqual(first);
    expect(set.memoResets).toBe(2);
    // A rule added later counts for names already answered.
    expect(set.match('h2.example.net')).toBeNull();
    set.add('example.net');
    expect(set.match('h2.example.net')).toBe('example.net');
    expect(set.match('restapi.amap.com')).toBe('*.amap.com');
  });

  it(`remembers at most ${MATCH_MEMO_MAX} answers: the next new name starts the memo again`, () => {
    const set = rules();
    for (let i = 0; i < MATCH_MEMO_MAX; i++) set.match(`n${i}.dji.com`);
    expect(set.memoResets).toBe(0);
    // Names already remembered are answered without a reset.
    expect(set.match('n0.dji.com')).toBe('dji.com');
    expect(set.memoResets).toBe(0);
    expect(set.match('one-more.example')).toBeNull();
    expect(set.memoResets).toBe(1);
    // Started again: the name just answered is the one remembered, the first ones are not.
    for (let i = 0; i < MATCH_MEMO_MAX - 1; i++) set.match(`m${i}.amap.com`);
    expect(set.memoResets).toBe(1);
    expect(set.match('one-more.example')).toBeNull();
    expect(set.memoResets).toBe(1);
    expect(set.match('n0.dji.com')).toBe('dji.com');
    expect(set.memoResets).toBe(2);
  });

  it.each([
    ['dji.com', true],
    ['*.dji.com', true],
    ['a_b.example', true],
    ['', false],
    ['*.', false],
    ['dji..com', false],
    ['-dji.com', false],
    ['x*.dji.com', false],
    ['dji.com*.', false],
    [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, true], // 253
    [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`, false], // 254
    [`*.${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, true],
  ])('rule %j valid: %s', (rule, valid) => {
    expect(isValidDomainRule(rule)).toBe(valid);
  });
});

function invalid(fn: () => unknown): EgressError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EgressError);
    expect((err as EgressError).code).toBe('EGRESS_POLICY_INVALID');
    return err as EgressError;
  }
  throw new Error('no error');
}

describe('loading', () => {
  it('uses the default profile when given nothing, and names every source once', () => {
    const p = loadPolicy({});
    expect(p.source).toBe('profile default');
    expect(p.denyCountries.has('CN')).toBe(true);
    expect(loadPolicy({ profile: 'camera' }).source).not.toContain('profile camera + profile camera');
    const f = policyFile('extends: [dji, dji, default]\n');
    expect(loadPolicy({ file: f }).source).toBe(`profile default + profile dji + ${f}`);
    expect(loadPolicy({ profile: 'dji', file: f }).source).toBe(`profile default + profile dji + ${f}`);
  });

  it.each(['medium', 'high'])('takes unlisted: %s', (v) => {
    expect(loadPolicy({ file: policyFile(`unlisted: ${v}\n`) }).unlisted).toBe(v);
  });

  it.each(['', '~\n', 'null\n', '# nothing\n'])('reads %j as an empty policy', (text) => {
    expect(parsePolicyText(text, 'empty.yaml')).toMatchObject({ extends: [], allowCidrs: [], denyAsns: [] });
  });

  it('starts a file with empty lists: only what it says', () => {
    const p = loadPolicy({ file: policyFile('unlisted: high\n') });
    expect(p.unlisted).toBe('high');
    expect([p.allowDomains.size, p.denyDomains.size, p.allowCidrs.length]).toEqual([0, 0, 0]);
    expect([p.denyCountries.size, p.denyAsCountries.size, p.denyAsns.size, p.geoOverrides.length]).toEqual([
      0, 0, 0, 0,
    ]);
    const empty = parsePolicyText('', 'empty.yaml');
    expect(empty).toMatchObject({ extends: [], allowDomains: [], denyCountries: [], denyAsCountries: [] });
  });

  it.each([
    ['--profile ../profiles/default', { profile: '../profiles/default' }, '--profile'],
    ['--profile default/../default', { profile: 'default/../default' }, '--profile'],
    ['--profile Default', { profile: 'Default' }, '--profile'],
  ])('refuses %s, naming where it came from', (_w, opts, file) => {
    const e = invalid(() => loadPolicy(opts));
    expect(e.message).toBe(`unknown profile "${opts.profile}" (known: default, dji, camera, local-data-mode)`);
    expect(e.facts.file).toBe(file);
  });

  it('refuses an unreadable file with its name', () => {
    const f = join(dir, 'missing.yaml');
    const e = invalid(() => loadPolicy({ file: f }));
    expect(e.facts.file).toBe(f);
    expect(e.message).toMatch(/^cannot read policy: ENOENT/);
  });

  it.each([
    ['deny:\n  countries: [CN]\ndeny:\n  asns: [1]\n', 3, /^not valid YAML: Map keys must be unique/],
    ['- a\n- b\n', 1, /^a policy is a mapping of allow, deny, geo_overrides, extends, unlisted/],
    ['allow: 5\n', 1, /^allow must be a mapping \(domains, cidrs\)$/],
    [
      'deny:\n  contries: [CN]\n',
      2,
      /^unknown key "deny.contries" \(known here: countries, as_countries, domains, asns\)$/,
    ],
    ['colour: red\n', 1, /^unknown key "colour" \(known here: /],
    ['unlisted:\n  low\n', 2, /^unlisted must be medium or high$/],
    ['unlisted:\n', 1, /^unlisted must be medium or high$/],
    ['geo_overrides:\n  cidr: 192.0.2.0/24\n', 2, /^geo_overrides must be a list/],
    ['? [a, b]\n: 1\n', 1, /^unknown key "" \(known here: /],
    [
      'geo_overrides: { cidr: 192.0.2.0/24 }\n',
      1,
      /^geo_overrides must be a list of \{ cidr, country, asn, as_org, as_country \}/,
    ],
    ['extends: [Dji]\n', 1, /"Dji" is not a profile name/],
    ['extends: [dji!]\n', 1, /"dji!" is not a profile name/],
    ['extends: [1dji]\n', 1, /"1dji" is not a profile name/],
    ['extends: [dj_i]\n', 1, /"dj_i" is not a profile name/],
    ['extends: [xdji-]\n', undefined, /unknown profile "xdji-"/],
    ['geo_overrides:\n  - { cidr: 192.0.2.0/24, as_org: 5 }\n', 2, /"5" is not text/],
    ['deny:\n  asns: [AS]\n', 2, /"AS" is not an AS number/],
    ['deny:\n  asns: [37963x]\n', 2, /"37963x" is not an AS number/],
    ['deny:\n  asns: [x37963]\n', 2, /"x37963" is not an AS number/],
    ['deny:\n  asns: [ASAS1]\n', 2, /"ASAS1" is not an AS number/],
    ['deny:\n  asns: [4294967296]\n', 2, /"4294967296" is not an AS number/],
    ['deny:\n  asns: [-1]\n', 2, /"-1" is not an AS number/],
    ['deny:\n  asns: [1.5]\n', 2, /"1.5" is not an AS number/],
    ['deny:\n  asns: ["37963 "]\n', 2, /"37963 " is not an AS number/],
    ['deny:\n  asns: [" 37963"]\n', 2, /" 37963" is not an AS number/],
  ])('%j: line %s', (text, line, message) => {
    const f = policyFile(text);
    const e = invalid(() => loadPolicy({ file: f }));
    expect(e.message).toMatch(message);
    expect([e.facts.line, e.facts.file]).toEqual([line, f]);
  });

  it.each([
    ['AS37963', 37963],
    ['as37963', 37963],
    ['"37963"', 37963],
    ['37963', 37963],
    ['0', 0],
    ['AS0', 0],
    ['4294967295', 4294967295],
  ])('reads the AS number %s', (text, asn) => {
    expect([...loadPolicy({ file: policyFile(`deny:\n  asns: [${text}]\n`) }).denyAsns]).toEqual([asn]);
  });
});

describe('judge', () => {
  it('names the AS number that matched', () => {
    const p = loadPolicy({ file: policyFile('deny:\n  asns: [64500]\n') });
    const words = parseAddress('203.0.113.9') as Int32Array;
    const j = judge(
      { words, v6: false, internet: true, names: [], country: 'NL', asn: 64500, asCountry: 'NL' } as never,
      p,
    );
    expect(j).toMatchObject({ verdict: 'high', reasons: ['deny_asn'], matched: { deny_asn: 'AS64500' } });
  });
});

describe('deny judgements are kept per policy, one per combination of matched rules', () => {
  const p = loadPolicy({
    file: policyFile('deny:\n  countries: [CN]\n  as_countries: [CN]\n  asns: [64500]\n  domains: [dji.com]\n'),
  });
  const words = parseAddress('203.0.113.9') as Int32Array;
  const dest = (country: string | null, asn: number | null, asCountry: string | null, names: string[]) =>
    ({ words, v6: false, internet: true, names, country, asn, asCountry }) as never;

  it('gives every combination its reasons in order, and the same object again for it', () => {
    const cases: [ReturnType<typeof dest>, string[], Record<string, string>][] = [
      [dest('CN', null, null, []), ['deny_country'], { deny_country: 'CN' }],
      [dest(null, null, 'CN', []), ['deny_as_country'], { deny_as_country: 'CN' }],
      [dest('NL', 64500, 'NL', []), ['deny_asn'], { deny_asn: 'AS64500' }],
      [dest('NL', null, null, ['a.dji.com']), ['deny_domain'], { deny_domain: 'dji.com' }],
      [
        dest('CN', 64500, 'CN', ['x.example', 'www.dji.com']),
        ['deny_country', 'deny_as_country', 'deny_asn', 'deny_domain'],
        { deny_country: 'CN', deny_as_country: 'CN', deny_asn: 'AS64500', deny_domain: 'dji.com' },
      ],
      // The first name a rule matches decides; the names after it are not asked.
      [
        dest('NL', 64500, 'NL', ['www.dji.com', 'x.example']),
        ['deny_asn', 'deny_domain'],
        { deny_asn: 'AS64500', deny_domain: 'dji.com' },
      ],
      [
        dest('CN', 64501, 'NL', ['dji.com']),
        ['deny_country', 'deny_domain'],
        { deny_country: 'CN', deny_domain: 'dji.com' },
      ],
    ];
    const kept = deniedJudgements(p);
    const before = kept.size;
    const first = cases.map(([d]) => judge(d, p));
    for (let i = 0; i < cases.length; i++) {
      const j = first[i];
      expect(j.verdict).toBe('high');
      expect(j.reasons).toEqual(cases[i][1]);
      expect(j.matched).toEqual(cases[i][2]);
      expect(Object.keys(j.matched)).toEqual(Object.keys(cases[i][2]));
      // Shared: found again as itself, and nobody may change it.
      expect(judge(cases[i][0], p)).toBe(j);
      expect(Object.isFrozen(j) && Object.isFrozen(j.reasons) && Object.isFrozen(j.matched)).toBe(true);
    }
    expect(new Set(first).size).toBe(cases.length);
    expect(kept.size - before).toBe(cases.length);
  });

  it('another policy keeps its own', () => {
    const q = loadPolicy({ file: policyFile('deny:\n  countries: [CN]\n') });
    const j = judge(dest('CN', null, null, []), q);
    expect(j).not.toBe(judge(dest('CN', null, null, []), p));
    expect(judge(dest('CN', null, null, []), q)).toBe(j);
    expect(deniedJudgements(q).size).toBe(1);
  });

  it(`keeps at most ${MAX_DENIED_JUDGEMENTS}, and counts the ones made past it`, () => {
    const many = Array.from({ length: MAX_DENIED_JUDGEMENTS + 5 }, (_, i) => `d${i}.example`);
    const q = loadPolicy({ file: policyFile(`deny:\n  domains: [${many.join(', ')}]\n`) });
    const kept = deniedJudgements(q);
    for (const name of many) expect(judge(dest('NL', null, null, [name]), q).matched).toEqual({ deny_domain: name });
    expect(kept.size).toBe(MAX_DENIED_JUDGEMENTS);
    expect(kept.notKept).toBe(5);
    // One past the bound is made for its call: equal, not the same object.
    const last = many[many.length - 1];
    const again = judge(dest('NL', null, null, [last]), q);
    expect(again).toEqual(judge(dest('NL', null, null, [last]), q));
    expect(again).not.toBe(judge(dest('NL', null, null, [last]), q));
    expect(kept.notKept).toBe(8);
    // One within it is kept.
    expect(judge(dest('NL', null, null, [many[0]]), q)).toBe(judge(dest('NL', null, null, [many[0]]), q));
  });

  it('an allowed or unlisted destination gets no deny judgement', () => {
    const q = loadPolicy({ file: policyFile('deny:\n  countries: [CN]\nallow:\n  domains: [ok.example]\n') });
    expect(judge(dest('NL', null, null, ['ok.example']), q).verdict).toBe('allowed');
    expect(judge(dest('NL', null, null, ['x.example']), q).reasons).toEqual(['not_allowlisted']);
    expect(deniedJudgements(q).size).toBe(0);
  });
});
