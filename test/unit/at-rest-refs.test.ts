// Flows at rest, the references into the shared tables (names/at-rest.ts,
// DESIGN.md "A flow's names"): a value first held under id 0 is shared, not
// made again; a flow recorded with nothing takes no reference; changing any
// one field of a flow's network answer or names is a new value; recording a
// flow whose values did not change keeps its references without making a key
// or looking one up; judgement keys tell reason lists apart. And what a fresh
// FlowApp (names/flow-app.ts) carries before anything is known.

import { describe, expect, it, vi } from 'vitest';
import type { GeoAnswer } from '../../agent/src/enrich/geo.js';
import { FlowsAtRest } from '../../agent/src/names/at-rest.js';
import type { FlowApp } from '../../agent/src/names/flow-app.js';
import type { Judgement } from '../../agent/src/policy/verdict.js';
import { fresh, HIGH, MEDIUM } from '../support/flow-apps.js';

const GEO: GeoAnswer = { country: 'CN', asn: 37963, asOrg: 'Alibaba', asCountry: 'CN' };

/** A flow with GEO, MEDIUM and an SNI, a Host and a DNS name. */
function full(id = 1): FlowApp {
  const a = fresh(id);
  Object.assign(a, GEO);
  a.judgement = MEDIUM;
  a.sni = 's.example';
  a.httpHost = 'h.example';
  a.addDnsNames(['d.example']);
  return a;
}

const restored = (rest: FlowsAtRest, slot: number) => {
  const b = fresh();
  rest.restore(slot, b);
  return b;
};
const sizes = (rest: FlowsAtRest) => [rest.geos.size, rest.judgements.size, rest.names.size];

describe('a fresh FlowApp', () => {
  it('is not yet on the internet nor decided, and shares one empty names() with every other', () => {
    const [a, b] = [fresh(1), fresh(2)];
    expect([a.internet, a.decided, a.alerted, a.judgement, a.naming]).toEqual([false, false, 0, null, true]);
    expect(a.names()).toEqual([]);
    expect(a.names()).toBe(b.names());
  });
});

describe('references into the shared tables', () => {
  it('a flow recorded with nothing takes no reference, and the next flow still gets its own values', () => {
    const rest = new FlowsAtRest(2);
    rest.record(0, fresh());
    rest.record(1, full());
    expect(sizes(rest)).toEqual([1, 1, 1]);
    const b = restored(rest, 1);
    expect([b.country, b.asn, b.asOrg, b.asCountry, b.judgement, b.names()]).toEqual([
      'CN',
      37963,
      'Alibaba',
      'CN',
      MEDIUM,
      ['d.example', 'h.example', 's.example'],
    ]);
  });

  it('values first held under id 0 are shared by a second flow, and stay while it holds them', () => {
    const rest = new FlowsAtRest(2);
    rest.record(0, full(1));
    const second = full(2);
    second.judgement = { ...MEDIUM, reasons: [...MEDIUM.reasons] }; // equal, not the same object
    rest.record(1, second);
    expect(sizes(rest)).toEqual([1, 1, 1]);
    rest.clear(0);
    expect(sizes(rest)).toEqual([1, 1, 1]);
    const b = restored(rest, 1);
    expect([b.asn, b.judgement, b.sni]).toEqual([37963, MEDIUM, 's.example']);
    rest.clear(1);
    expect(sizes(rest)).toEqual([0, 0, 0]);
  });

  it.each<[string, (a: FlowApp) => void, (b: FlowApp) => unknown, unknown]>([
    ['the country', (a) => (a.country = 'HK'), (b) => b.country, 'HK'],
    ['the AS number', (a) => (a.asn = 45102), (b) => b.asn, 45102],
    ['the AS name', (a) => (a.asOrg = 'Tencent'), (b) => b.asOrg, 'Tencent'],
    ['the AS country', (a) => (a.asCountry = 'SG'), (b) => b.asCountry, 'SG'],
    ['the SNI', (a) => (a.sni = 't.example'), (b) => b.sni, 't.example'],
    ['the Host', (a) => (a.httpHost = 'i.example'), (b) => b.httpHost, 'i.example'],
    ['the DNS names', (a) => a.addDnsNames(['e.example']), (b) => b.dnsNames, ['d.example', 'e.example']],
    ['the judgement', (a) => (a.judgement = HIGH), (b) => b.judgement, HIGH],
  ])(
    'a recorded flow whose %s alone changes gets the new value, and lets go of the old',
    (_what, change, read, want) => {
      const rest = new FlowsAtRest(1);
      const a = full();
      rest.record(0, a);
      change(a);
      rest.record(0, a);
      expect(read(restored(rest, 0))).toEqual(want);
      expect(sizes(rest)).toEqual([1, 1, 1]);
    },
  );

  it.each<[string, (a: FlowApp) => void, (b: FlowApp) => unknown, number]>([
    ['the country', (a) => (a.country = 'HK'), (b) => b.country, 0],
    ['the AS number', (a) => (a.asn = 45102), (b) => b.asn, 0],
    ['the AS name', (a) => (a.asOrg = 'Tencent'), (b) => b.asOrg, 0],
    ['the AS country', (a) => (a.asCountry = 'SG'), (b) => b.asCountry, 0],
    ['the SNI', (a) => (a.sni = 't.example'), (b) => b.sni, 2],
    ['the Host', (a) => (a.httpHost = 'i.example'), (b) => b.httpHost, 2],
    ['the DNS names, one more', (a) => a.addDnsNames(['e.example']), (b) => b.dnsNames, 2],
    ['the DNS names, another', (a) => a.restoreNames(['f.example'], a.sni, a.httpHost, []), (b) => b.dnsNames, 2],
  ])('every value under one key: two flows that differ only in %s hold two values', (_what, change, read, table) => {
    const rest = new FlowsAtRest(2, 0);
    const a = full(1);
    const b = full(2);
    change(b);
    rest.record(0, a);
    rest.record(1, b);
    const want = [1, 1, 1];
    want[table] = 2;
    expect(sizes(rest)).toEqual(want);
    expect(read(restored(rest, 0))).toEqual(read(a));
    expect(read(restored(rest, 1))).toEqual(read(b));
    expect(read(a)).not.toEqual(read(b));
    // And a third flow equal to the first shares its values.
    rest.clear(1);
    rest.record(1, full(3));
    expect(sizes(rest)).toEqual([1, 1, 1]);
  });

  it('recording a flow whose values did not change keeps its references: no key made, nothing looked up', () => {
    const rest = new FlowsAtRest(1);
    const a = full();
    rest.record(0, a);
    const looked = [
      vi.spyOn(rest.geos, 'candidates'),
      vi.spyOn(rest.judgements, 'find'),
      vi.spyOn(rest.judgements, 'findValue'),
      vi.spyOn(rest.names, 'candidates'),
    ];
    rest.record(0, a);
    rest.record(0, restored(rest, 0)); // the same values, as a later packet sees them
    expect(looked.map((s) => s.mock.calls.length)).toEqual([0, 0, 0, 0]);
    expect(sizes(rest)).toEqual([1, 1, 1]);
  });

  it('a shared judgement is found as itself, without a key', () => {
    const rest = new FlowsAtRest(2);
    const [a, b] = [fresh(1), fresh(2)];
    a.judgement = MEDIUM;
    b.judgement = MEDIUM;
    rest.record(0, a);
    const byKey = vi.spyOn(rest.judgements, 'find');
    rest.record(1, b);
    expect([byKey.mock.calls.length, rest.judgements.size]).toEqual([0, 1]);
  });

  it('judgements whose reasons differ only in where the list splits are different values', () => {
    const rest = new FlowsAtRest(2);
    // Not real reason codes: the key must tell any two lists apart.
    const one: Judgement = { verdict: 'high', reasons: ['deny_a', 'sn'] as never, matched: {} };
    const two: Judgement = { verdict: 'high', reasons: ['deny_as', 'n'] as never, matched: {} };
    const [a, b] = [fresh(1), fresh(2)];
    a.judgement = one;
    b.judgement = { ...two };
    rest.record(0, a);
    rest.record(1, b);
    expect(rest.judgements.size).toBe(2);
    expect([restored(rest, 0).judgement?.reasons, restored(rest, 1).judgement?.reasons]).toEqual([
      ['deny_a', 'sn'],
      ['deny_as', 'n'],
    ]);
  });
});
