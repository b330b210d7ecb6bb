// Flows at rest, field by field (names/at-rest.ts, names/flow-app.ts): every
// flag, counter and reference a FlowApp carries comes back from record() and
// restore() as it was, for each value each field can take; shared values are
// counted per holder and go with the last one; names() is sorted, without
// repeats, and the same array until a name is added.

import { describe, expect, it } from 'vitest';
import type { GeoAnswer } from '../../agent/src/enrich/geo.js';
import { FlowsAtRest, SharedValues } from '../../agent/src/names/at-rest.js';
import { FlowApp } from '../../agent/src/names/flow-app.js';
import { fresh, HIGH, MEDIUM } from '../support/flow-apps.js';

/** What a FlowApp carries between packets, as one plain object. */
function carried(a: FlowApp) {
  return {
    appProto: a.appProto,
    naming: a.naming,
    ech: a.ech,
    encryptedDns: a.encryptedDns,
    internet: a.internet,
    decided: a.decided,
    alerted: a.alerted,
    clientIsn: a.clientIsn,
    quicDatagrams: a.quicDatagrams,
    country: a.country,
    asn: a.asn,
    asOrg: a.asOrg,
    asCountry: a.asCountry,
    judgement: a.judgement,
    sni: a.sni,
    httpHost: a.httpHost,
    dnsNames: [...a.dnsNames],
    names: [...a.names()],
    judgedCurrent: a.judgedNames !== null && a.judgedNames === a.names(),
  };
}

type Edit = (a: FlowApp) => void;

describe('record() then restore() gives back what the flow carried', () => {
  it.each<[string, Edit]>([
    ['nothing set', () => {}],
    ['naming over', (a) => (a.naming = false)],
    ...(['dns', 'tls', 'quic', 'http'] as const).map((p): [string, Edit] => [`protocol ${p}`, (a) => (a.appProto = p)]),
    ['ECH', (a) => (a.ech = true)],
    ...(['dot', 'doq', 'doh'] as const).map((e): [string, Edit] => [`encrypted DNS ${e}`, (a) => (a.encryptedDns = e)]),
    ['internet', (a) => (a.internet = true)],
    ['decided', (a) => (a.decided = true)],
    ['alerted medium', (a) => (a.alerted = 1)],
    ['alerted high', (a) => (a.alerted = 2)],
    ['client ISN 0', (a) => (a.clientIsn = 0)],
    ['client ISN 2^32 - 1', (a) => (a.clientIsn = 0xffffffff)],
    ['3 QUIC datagrams', (a) => (a.quicDatagrams = 3)],
    ['300 QUIC datagrams (kept as 255)', (a) => (a.quicDatagrams = 300)],
    ['a country only', (a) => (a.country = 'CN')],
    ['an ASN only', (a) => (a.asn = 37963)],
    ['an AS name only', (a) => (a.asOrg = 'Alibaba')],
    ['an AS country only', (a) => (a.asCountry = 'CN')],
    ['a judgement', (a) => (a.judgement = MEDIUM)],
    ['an SNI', (a) => (a.sni = 'b.example.org')],
    ['a Host', (a) => (a.httpHost = 'c.example.org')],
    ['DNS names', (a) => a.addDnsNames(['z.example', 'a.example'])],
    [
      'everything, judged with the current names',
      (a) => {
        a.naming = false;
        a.appProto = 'quic';
        a.ech = true;
        a.encryptedDns = 'doq';
        a.internet = true;
        a.decided = true;
        a.alerted = 2;
        a.clientIsn = 123456;
        a.quicDatagrams = 7;
        Object.assign(a, { country: 'NL', asn: 1136, asOrg: 'KPN', asCountry: 'NL' } satisfies GeoAnswer);
        a.judgement = HIGH;
        a.addDnsNames(['dji.com']);
        a.sni = 'www.dji.com';
        a.httpHost = 'dji.com';
        a.judgedNames = a.names();
      },
    ],
  ])('%s', (_what, edit) => {
    const rest = new FlowsAtRest(4);
    const a = fresh();
    edit(a);
    rest.record(2, a);
    expect(rest.bits[2] & 1).toBe(1); // recorded, whatever the flags
    expect([rest.bits[0], rest.bits[1], rest.bits[3]]).toEqual([0, 0, 0]);
    const b = fresh();
    rest.restore(2, b);
    const want = carried(a);
    want.quicDatagrams = Math.min(want.quicDatagrams, 255);
    expect(carried(b)).toEqual(want);
    expect(rest.readsPackets(2)).toBe(a.naming || a.appProto === 'dns');
    expect(rest.isNaming(2)).toBe(a.naming);
    rest.clear(2);
    expect([rest.bits[2], rest.geos.size, rest.judgements.size, rest.names.size]).toEqual([0, 0, 0, 0]);
  });

  it('a verdict made with older names is not taken as current once a name was added', () => {
    const rest = new FlowsAtRest(1);
    const a = fresh();
    a.sni = 'a.example';
    a.judgedNames = a.names();
    a.httpHost = 'b.example';
    rest.record(0, a);
    const b = fresh();
    rest.restore(0, b);
    expect(b.judgedNames).toBeNull();
    expect(b.names()).toEqual(['a.example', 'b.example']);
  });

  it('reads packets of a DNS flow after naming, and of no other', () => {
    const rest = new FlowsAtRest(5);
    (['dns', 'tls', 'quic', 'http', null] as const).forEach((p, slot) => {
      const a = fresh();
      a.naming = false;
      a.appProto = p;
      rest.record(slot, a);
    });
    expect([0, 1, 2, 3, 4].map((s) => rest.readsPackets(s))).toEqual([true, false, false, false, false]);
  });
});

describe('shared values', () => {
  it('one value per distinct geo answer, judgement and names, counted per flow, each gone with its last holder', () => {
    const rest = new FlowsAtRest(6);
    const apps = [0, 1, 2, 3, 4, 5].map((i) => fresh(i));
    for (const [i, a] of apps.entries()) {
      Object.assign(a, { country: i < 3 ? 'CN' : 'NL', asn: 1, asOrg: 'x', asCountry: 'CN' });
      a.judgement = i % 2 === 0 ? MEDIUM : { ...MEDIUM, reasons: [...MEDIUM.reasons] }; // equal, not the same
      a.sni = i < 4 ? 'same.example' : `other${i}.example`;
      rest.record(i, a);
    }
    expect([rest.geos.size, rest.judgements.size, rest.names.size]).toEqual([2, 1, 3]);
    // Recording the same again changes nothing.
    for (const [i, a] of apps.entries()) rest.record(i, a);
    expect([rest.geos.size, rest.judgements.size, rest.names.size]).toEqual([2, 1, 3]);
    // A flow that changes lets go of its old values.
    apps[4].country = 'DE';
    apps[4].judgement = HIGH;
    apps[4].sni = 'same.example';
    rest.record(4, apps[4]);
    expect([rest.geos.size, rest.judgements.size, rest.names.size]).toEqual([3, 2, 2]);
    for (const i of [0, 1, 2]) rest.clear(i);
    expect([rest.geos.size, rest.judgements.size, rest.names.size]).toEqual([2, 2, 2]);
    rest.clear(0); // twice: nothing more to let go
    expect([rest.geos.size, rest.judgements.size, rest.names.size]).toEqual([2, 2, 2]);
    for (const i of [3, 5]) rest.clear(i);
    expect([rest.geos.size, rest.judgements.size, rest.names.size]).toEqual([1, 1, 1]);
    const b = fresh();
    rest.restore(4, b);
    expect([b.country, b.judgement, b.sni]).toEqual(['DE', HIGH, 'same.example']);
    rest.clear(4);
    expect([rest.geos.size, rest.judgements.size, rest.names.size]).toEqual([0, 0, 0]);
  });

  it('an empty geo answer, no judgement and no names hold nothing, and replace what was held', () => {
    const rest = new FlowsAtRest(1);
    const a = fresh();
    Object.assign(a, { country: 'CN', asn: 1, asOrg: 'x', asCountry: 'CN' });
    a.judgement = MEDIUM;
    a.addDnsNames(['a.example']);
    rest.record(0, a);
    expect([rest.geos.size, rest.judgements.size, rest.names.size]).toEqual([1, 1, 1]);
    const b = fresh();
    rest.record(0, b);
    expect([rest.geos.size, rest.judgements.size, rest.names.size]).toEqual([0, 0, 0]);
    const c = fresh();
    Object.assign(c, { country: 'CN', asn: 9 });
    rest.restore(0, c);
    expect([c.country, c.asn, c.judgement, c.names()]).toEqual(['CN', 9, null, []]); // nothing restored over it
  });

  it('each geo field tells answers apart', () => {
    const rest = new FlowsAtRest(5);
    const base = { country: 'CN', asn: 1, asOrg: 'x', asCountry: 'CN' };
    const variants = [
      base,
      { ...base, country: 'HK' },
      { ...base, asn: 2 },
      { ...base, asOrg: 'y' },
      { ...base, asCountry: 'HK' },
    ];
    for (const [i, g] of variants.entries()) {
      const a = fresh();
      Object.assign(a, g);
      rest.record(i, a);
    }
    expect(rest.geos.size).toBe(5);
    // Changing one field of a recorded flow's answer is a new value; the old one goes.
    for (const [i, g] of variants.entries()) {
      const a = fresh();
      Object.assign(a, { ...g, asOrg: 'z' });
      rest.record(i, a);
      const b = fresh();
      rest.restore(i, b);
      expect([b.country, b.asn, b.asOrg, b.asCountry]).toEqual([g.country, g.asn, 'z', g.asCountry]);
    }
    expect(rest.geos.size).toBe(4); // the variant with asOrg 'y' became the same as base's
  });

  it('grows past its first capacity and reuses freed ids', () => {
    const t = new SharedValues<{ v: number }>();
    const ids = Array.from({ length: 200 }, (_, i) => t.add(`k${i}`, { v: i }));
    expect(ids).toEqual(Array.from({ length: 200 }, (_, i) => i));
    for (const id of ids) t.hold(id);
    for (const id of ids) t.release(id);
    expect(t.size).toBe(200);
    expect(ids.map((id) => t.get(id).v)).toEqual(ids);
    for (const id of ids) t.release(id);
    expect(t.size).toBe(0);
    expect([t.find('k150'), t.findValue({ v: 1 })]).toEqual([-1, -1]);
  });

  it('files values that share a key together: candidates in order, each let go of alone', () => {
    const t = new SharedValues<{ v: number }, number>();
    const a = t.add(7, { v: 1 });
    const b = t.add(7, { v: 2 });
    const c = t.add(7, { v: 3 });
    const d = t.add(8, { v: 4 });
    expect([...t.candidates(7)]).toEqual([a, b, c]);
    expect([[...t.candidates(8)], [...t.candidates(9)], t.find(7), t.find(8), t.find(9)]).toEqual([[d], [], a, d, -1]);
    expect(t.size).toBe(4);
    t.hold(b);
    t.release(b); // still held once
    expect([...t.candidates(7)]).toEqual([a, b, c]);
    t.release(a); // the first goes: the last takes its place
    expect([...t.candidates(7)]).toEqual([c, b]);
    expect([t.find(7), t.size]).toEqual([c, 3]);
    t.release(c);
    t.release(b);
    expect([[...t.candidates(7)], t.find(7), t.size]).toEqual([[], -1, 1]);
    // Freed ids are given again, under any key.
    expect(t.add(9, { v: 5 })).toBe(b);
    expect([...t.candidates(9)]).toEqual([b]);
    expect(t.get(b)).toEqual({ v: 5 });
  });

  it('finds a held value by itself, and only that object', () => {
    const t = new SharedValues<{ v: number }>();
    const x = { v: 1 };
    const id = t.add('x', x);
    expect([t.findValue(x), t.findValue({ v: 1 })]).toEqual([id, -1]);
    t.release(id);
    expect(t.findValue(x)).toBe(-1);
  });
});

describe('FlowApp names', () => {
  it.each<[string, string[][], string | null, string | null, string[]]>([
    ['none', [], null, null, []],
    [
      'DNS only, kept in order of arrival and sorted in names()',
      [['b.example', 'a.example']],
      null,
      null,
      ['a.example', 'b.example'],
    ],
    [
      'repeats across DNS, SNI and Host once',
      [['a.example'], ['a.example', 'b.example']],
      'a.example',
      'b.example',
      ['a.example', 'b.example'],
    ],
    ['SNI and Host', [], 'z.example', 'y.example', ['y.example', 'z.example']],
    ['Host only', [], null, 'h.example', ['h.example']],
  ])('%s', (_what, dns, sni, host, names) => {
    const a = fresh();
    for (const d of dns) a.addDnsNames(d);
    a.sni = sni;
    a.httpHost = host;
    expect(a.names()).toEqual(names);
    expect(a.names()).toBe(a.names()); // the same array until a name is added
  });

  it('makes names() again after each change, and not after a repeat', () => {
    const a = fresh();
    const none = a.names();
    a.addDnsNames([]);
    expect(a.names()).toBe(none);
    a.addDnsNames(['b.example']);
    const one = a.names();
    expect(one).toEqual(['b.example']);
    a.addDnsNames(['b.example']);
    expect(a.names()).toBe(one);
    expect(a.dnsNames).toEqual(['b.example']);
    a.addDnsNames(['a.example', 'b.example', 'c.example']);
    expect(a.dnsNames).toEqual(['b.example', 'a.example', 'c.example']);
    expect(a.names()).toEqual(['a.example', 'b.example', 'c.example']);
    const before = a.names();
    a.sni = 'd.example';
    expect(a.names()).toEqual(['a.example', 'b.example', 'c.example', 'd.example']);
    expect(before).toEqual(['a.example', 'b.example', 'c.example']); // not changed in place
    const withSni = a.names();
    a.httpHost = 'e.example';
    expect(a.names()).not.toBe(withSni);
  });

  it('says what hides names, and frees its reassembly state when naming stops', () => {
    const a = fresh();
    expect(a.hiddenBy()).toEqual([]);
    a.ech = true;
    a.encryptedDns = 'doh';
    expect(a.hiddenBy()).toEqual(['ech', 'doh']);
    a.clientStream = {} as never;
    a.quic = {} as never;
    a.stopNaming();
    expect([a.naming, a.clientStream, a.quic]).toEqual([false, null, null]);
  });

  it('writes its addresses, IPv4 and IPv6, once, and copies the destination words', () => {
    const v4 = fresh();
    expect([v4.srcIp, v4.destIp]).toEqual(['10.0.0.2', '203.0.113.10']);
    expect(v4.srcIp).toBe(v4.srcIp);
    const v6 = new FlowApp(2, 1, 2, 'UDP', true, 0x20010db8, 0, 0, 1, 0x20010db8, 0, 0, 0x53);
    expect([v6.srcIp, v6.destIp]).toEqual(['2001:db8::1', '2001:db8::53']);
    expect([...v6.destWords(new Int32Array(4))]).toEqual([0x20010db8, 0, 0, 0x53]);
  });
});
