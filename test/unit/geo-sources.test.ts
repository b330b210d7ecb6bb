// The offline geo/ASN database (agent/data/geo.bin, built from the
// ip-location-db packages) checked against the packages' own CSV files, read
// independently of the build script (test/support/geo-csv.ts): random rows,
// their first and last address, the address just outside, gaps, nested
// rows; then well-known anchors.

import { beforeAll, describe, expect, it } from 'vitest';
import type { GeoDb } from '../../agent/src/enrich/geo.js';
import {
  inBlanked,
  iptoasnCountry,
  loadGeoDb,
  look,
  parseV4,
  parseV6,
  pick,
  readRows,
  SOURCES,
} from '../support/geo-csv.js';

const SEED = 0x6e0_db;
const ROWS_PER_FILE = 300;

let db: GeoDb;

beforeAll(() => {
  db = loadGeoDb();
});

describe('geo database against the CSV files it was built from', () => {
  for (const src of SOURCES) {
    for (const v6 of [false, true]) {
      const file = `${src.file}-ipv${v6 ? 6 : 4}.csv`;
      it(`${src.name}: ${file}, first/middle/last address of random rows, and the gaps beside them`, () => {
        const rows = readRows(src.pkg, file, v6);
        const alone = rows.filter((r) => r.alone && !inBlanked(v6, r.start, r.end));
        expect(alone.length).toBeGreaterThan(rows.length * 0.9);
        let gaps = 0;
        for (const r of pick(alone, ROWS_PER_FILE, SEED)) {
          const want = src.expected(r.fields);
          const where = `${file} row ${r.start}-${r.end}`;
          expect(src.field(look(db, v6, r.start)), `${where} first`).toEqual(want);
          expect(src.field(look(db, v6, (r.start + r.end) / 2n)), `${where} middle`).toEqual(want);
          expect(src.field(look(db, v6, r.end)), `${where} last`).toEqual(want);
          const unknown = Array.isArray(want) ? [null, null] : null;
          if (r.gapBefore && r.start > 0n) {
            expect(src.field(look(db, v6, r.start - 1n)), `${where} address before`).toEqual(unknown);
            gaps++;
          }
          if (r.gapAfter) {
            expect(src.field(look(db, v6, r.end + 1n)), `${where} address after`).toEqual(unknown);
            gaps++;
          }
        }
        expect(gaps).toBeGreaterThan(0);
      });
    }
  }

  it('resolves nested rows the way a longest-prefix match would: the narrowest row wins', () => {
    // A wide whois block with a geofeed entry inside it (both in the CSV).
    const rows = readRows('@ip-location-db/geo-whois-asn-country', 'geo-whois-asn-country-ipv4.csv', false);
    let checked = 0;
    for (let i = 0; i + 1 < rows.length && checked < 50; i++) {
      const outer = rows[i];
      const inner = rows[i + 1];
      const nested = inner.start > outer.start && inner.end < outer.end && inner.fields[0] !== outer.fields[0];
      const innerAlone = i + 2 >= rows.length || rows[i + 2].start > inner.end;
      if (!nested || !innerAlone) continue;
      expect(look(db, false, inner.start).country).toBe(inner.fields[0]);
      expect(look(db, false, inner.end).country).toBe(inner.fields[0]);
      expect(look(db, false, outer.start).country).toBe(outer.fields[0]);
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
  });
});

describe('as_country against IPtoASN (iptoasn-country-mmdb, read with mmdb-lib)', () => {
  for (const v6 of [false, true]) {
    it(`IPv${v6 ? 6 : 4}: equals IPtoASN's answer wherever IPtoASN has one; elsewhere the AS's country or nothing`, () => {
      // Addresses inside random rows of the asn package: where a destination's AS is known.
      const rows = readRows('@ip-location-db/asn', `asn-ipv${v6 ? 6 : 4}.csv`, v6).filter(
        (r) => r.alone && !inBlanked(v6, r.start, r.end),
      );
      let answered = 0;
      let byAsn = 0;
      for (const r of pick(rows, 2000, SEED + (v6 ? 1 : 0))) {
        const a = (r.start + r.end) / 2n;
        const got = look(db, v6, a);
        const want = iptoasnCountry(v6, a);
        if (want !== null) {
          expect(got.asCountry, `${r.start}-${r.end}`).toBe(want);
          answered++;
        } else if (got.asCountry !== null) {
          byAsn++; // filled from the country IPtoASN gives the same AS elsewhere (build-geo.mjs)
        }
      }
      // IPtoASN covers the announced space; the asn package also has some unannounced IPv6 blocks.
      expect(answered).toBeGreaterThan(v6 ? 1000 : 1500);
      expect(byAsn).toBeLessThan(700);
    });
  }
});

describe('well-known addresses', () => {
  it('8.8.8.8 is Google, AS15169, in the US', () => {
    const a = look(db, false, parseV4('8.8.8.8'));
    expect(a).toMatchObject({ country: 'US', asn: 15169, asCountry: 'US' });
    expect(a.asOrg).toMatch(/Google/);
  });

  it('2001:4860:4860::8888 is Google, AS15169', () => {
    const a = look(db, true, parseV6('2001:4860:4860::8888'));
    expect(a).toMatchObject({ asn: 15169, asCountry: 'US' });
    expect(a.asOrg).toMatch(/Google/);
  });

  it('114.114.114.114 (a public resolver in China) is in CN; its anycast is announced by a US network', () => {
    // as_country is the country of the AS announcing the address (IPtoASN): this /24
    // is announced by Zenlayer (AS21859, US), so the country of the address (CN)
    // is what flags it; the dji profile also denies it by name and resolver list.
    expect(look(db, false, parseV4('114.114.114.114'))).toMatchObject({ country: 'CN', asCountry: 'US' });
  });

  it('223.5.5.5 (AliDNS) is an Alibaba AS registered in China', () => {
    // This data routes 223.5.5.0/24 from AS45102 (the anycast AS of AliDNS);
    // the rest of 223.4.0.0/15 is AS37963. Both are Alibaba.
    const a = look(db, false, parseV4('223.5.5.5'));
    expect([37963, 45102]).toContain(a.asn);
    expect(a.asOrg).toMatch(/Alibaba/);
    expect(a.asCountry).toBe('CN');
    expect(look(db, false, parseV4('223.4.0.1')).asn).toBe(37963);
  });

  it('1.1.1.1 is Cloudflare, AS13335', () => {
    const a = look(db, false, parseV4('1.1.1.1'));
    expect(a.asn).toBe(13335);
    expect(a.asOrg).toMatch(/Cloudflare/);
  });
});
