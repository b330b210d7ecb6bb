// The special-purpose blocks (IANA registries, RFC 6890) the build of the
// geo/ASN database blanks, whatever the sources say: every block knows
// nothing, its IPv4-mapped form neither, while the addresses just outside
// and the globally reachable blocks inside keep the sources' answer.

import { beforeAll, describe, expect, it } from 'vitest';
import { emptyGeoAnswer, type GeoAnswer, type GeoDb } from '../../agent/src/enrich/geo.js';
import { BLANKED, csvAnswer, loadGeoDb, look, parseBlock, parseV4, parseV6, v4 } from '../support/geo-csv.js';

let db: GeoDb;

beforeAll(() => {
  db = loadGeoDb();
});

describe('special-purpose blocks (IANA registries, RFC 6890) know nothing, whatever the sources say', () => {
  for (const group of BLANKED) {
    it(`IPv${group.v6 ? 6 : 4} ${group.kind}: ${group.blocks.join(', ')}`, () => {
      for (const block of group.blocks) {
        const [first, last] = parseBlock(block);
        for (const a of [first, (first + last) / 2n, last]) {
          const out: GeoAnswer = { country: 'XX', asn: 1, asOrg: 'stale', asCountry: 'XX' };
          const w = group.v6 ? [96n, 64n, 32n, 0n].map((s) => Number((a >> s) & 0xffffffffn) | 0) : [];
          const found = group.v6 ? db.lookupV6(w[0], w[1], w[2], w[3], out) : db.lookupV4(Number(a) | 0, out);
          expect(found, `${block}: ${a}`).toBe(false);
          expect(out, `${block}: ${a}`).toEqual(emptyGeoAnswer());
        }
      }
    });
  }

  it('the sources do have answers there (else the tests above prove nothing)', () => {
    for (const text of ['172.16.0.1', '192.168.1.1', '198.51.100.1', '203.0.113.1']) {
      expect(csvAnswer(false, parseV4(text)).country, text).toMatch(/^[A-Z]{2}$/);
    }
    expect(csvAnswer(true, parseV6('2001:db8::1')).country).toMatch(/^[A-Z]{2}$/);
  });

  it('IPv4-mapped addresses of those blocks know nothing either', () => {
    for (const text of ['10.1.2.3', '192.168.1.1', '203.0.113.7', '127.0.0.1', '224.0.0.251']) {
      const out = emptyGeoAnswer();
      expect(db.lookupV6(0, 0, 0xffff, v4(text), out), text).toBe(false);
      expect(out).toEqual(emptyGeoAnswer());
    }
  });

  it('the addresses just outside keep the sources’ answer', () => {
    const neighbours: [boolean, string][] = [
      [false, '9.255.255.255'],
      [false, '11.0.0.0'],
      [false, '100.63.255.255'],
      [false, '100.128.0.0'],
      [false, '126.255.255.255'],
      [false, '128.0.0.0'],
      [false, '169.253.255.255'],
      [false, '169.255.0.0'],
      [false, '172.15.255.255'],
      [false, '172.32.0.0'],
      [false, '192.0.1.255'],
      [false, '192.0.3.0'],
      [false, '192.88.98.255'],
      [false, '192.88.100.0'],
      [false, '192.167.255.255'],
      [false, '192.169.0.0'],
      [false, '198.17.255.255'],
      [false, '198.20.0.0'],
      [false, '198.51.101.0'],
      [false, '203.0.114.0'],
      [false, '223.255.255.255'],
      [true, '2001:db7:ffff:ffff:ffff:ffff:ffff:ffff'],
      [true, '2001:db9::'],
      [true, '2001:200::'],
      [true, '2003::'],
    ];
    for (const [v6, text] of neighbours) {
      const a = v6 ? parseV6(text) : parseV4(text);
      const want = csvAnswer(v6, a);
      expect(want.country ?? want.asn, `${text} has data`).not.toBeNull();
      const got = look(db, v6, a);
      // Where IPtoASN is silent the build gives the AS's country seen elsewhere (build-geo.mjs).
      if (want.asCountry === null) want.asCountry = got.asCountry;
      expect(got, text).toEqual(want);
    }
  });

  it('globally reachable blocks inside a blanked one keep the sources’ answer: AS112 in 2001::/23', () => {
    const a = parseV6('2001:4:112::1');
    expect(look(db, true, a)).toMatchObject({ asn: 112 });
    expect(look(db, true, a)).toEqual(csvAnswer(true, a));
    expect(look(db, true, parseV6('2001:4:111:ffff::1'))).toEqual(emptyGeoAnswer());
    expect(look(db, true, parseV6('2001:4:113::'))).toEqual(emptyGeoAnswer());
  });
});
