// Lookups in the geo/ASN database: IPv4 and IPv6 answered apart (only
// IPv4-mapped addresses reach the IPv4 data), the caller's answer object
// filled in place and cleared on a miss, unsigned words, and the versions
// record of the sources.

import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { emptyGeoAnswer, type GeoAnswer, type GeoDb } from '../../agent/src/enrich/geo.js';
import { IPTOASN_PKG, loadGeoDb, requireFromAgent, SOURCES, v4 } from '../support/geo-csv.js';

let db: GeoDb;

beforeAll(() => {
  db = loadGeoDb();
});

describe('IPv4 and IPv6 stay apart', () => {
  const samples = ['8.8.8.8', '1.1.1.1', '223.5.5.5', '145.100.1.1', '114.114.114.114'];

  it('IPv4-mapped ::ffff:a.b.c.d is answered as the IPv4 address a.b.c.d (documented)', () => {
    for (const text of samples) {
      const asV4 = emptyGeoAnswer();
      expect(db.lookupV4(v4(text), asV4)).toBe(true);
      const mapped = emptyGeoAnswer();
      expect(db.lookupV6(0, 0, 0xffff, v4(text), mapped)).toBe(true);
      expect(mapped).toEqual(asV4);
    }
  });

  it('no other IPv6 address is answered from IPv4 data', () => {
    for (const text of samples) {
      const w = v4(text);
      const out = emptyGeoAnswer();
      // ::a.b.c.d (deprecated IPv4-compatible), 64:ff9b::a.b.c.d (NAT64), a.b.c.d:: (the words up front)
      expect(db.lookupV6(0, 0, 0, w, out)).toBe(false);
      expect(out).toEqual(emptyGeoAnswer());
      expect(db.lookupV6(0x0064ff9b, 0, 0, w, out)).toBe(false);
      expect(db.lookupV6(w, 0, 0, 0, out)).toBe(false);
      expect(db.lookupV6(0, 0, 0xfffe, w, out)).toBe(false);
    }
  });
});

describe('lookups', () => {
  it('fill the caller’s object in place and clear every field on a miss', () => {
    const out: GeoAnswer = { country: 'XX', asn: 1, asOrg: 'stale', asCountry: 'XX' };
    expect(db.lookupV6(0x3fff0000, 0, 0, 1, out)).toBe(false); // 3fff::/20 is reserved for documentation
    expect(out).toEqual(emptyGeoAnswer());
    expect(db.lookupV4(v4('8.8.8.8'), out)).toBe(true);
    expect(out.asn).toBe(15169);
    expect(db.lookupV4(v4('10.0.0.1'), out)).toBe(false);
    expect(out).toEqual(emptyGeoAnswer());
  });

  it('treat the words as unsigned: the top and bottom of both address spaces', () => {
    const out = emptyGeoAnswer();
    expect(db.lookupV4(-1, out)).toBe(false); // 255.255.255.255
    expect(db.lookupV4(0, out)).toBe(false); // 0.0.0.0
    expect(db.lookupV6(-1, -1, -1, -1, out)).toBe(false);
    expect(db.lookupV6(0, 0, 0, 0, out)).toBe(false);
    expect(db.lookupV4(v4('223.5.5.5'), out)).toBe(true); // above 2^31
  });

  it('versions name the source packages as installed, the format and the table hash, not the build time', () => {
    const v = db.versions();
    for (const src of [...SOURCES, { pkg: IPTOASN_PKG }]) {
      const installed = JSON.parse(readFileSync(requireFromAgent.resolve(`${src.pkg}/package.json`), 'utf8')).version;
      expect(v[src.pkg]).toBe(installed);
    }
    expect(v.format).toBe('1');
    expect(v.built).toBeUndefined(); // the same data must give the same record on every machine
    expect(v.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
