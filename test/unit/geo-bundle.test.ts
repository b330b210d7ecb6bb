// Geo data bundles (agent/src/enrich/geo-bundle.ts), the installed data in
// DATA_DIR/geo (geo-store.ts) and the age of the data (geo-age.ts), in
// process, on the geo.bin `pnpm build` makes: every byte of a bundle's
// prefix and manifest and seeded random bytes of its body are guarded; an
// install swaps atomically and keeps the previous data; a held lock is
// refused; the newer of installed and shipped data is used.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GEO_PATH, GeoDb } from '../../agent/src/enrich/geo.js';
import { geoDataHealth, STALE_AFTER_DAYS } from '../../agent/src/enrich/geo-age.js';
import { openBundle, packBundle } from '../../agent/src/enrich/geo-bundle.js';
import { readGeoHeader } from '../../agent/src/enrich/geo-file.js';
import { chooseGeoData, GeoStore } from '../../agent/src/enrich/geo-store.js';
import { EgressError } from '../../agent/src/errors.js';
import { buildGeoDb } from '../support/geo-csv.js';

const SEED = 0x6e0b_0d1e;
const tmp = mkdtempSync(join(tmpdir(), 'egress-geo-bundle-'));
let geoBin: Buffer;
let bundle: Buffer;

/** The shipped geo.bin with its data date moved (same length, so the header padding holds; the body hash is unchanged). */
function withDataDate(year: string): Buffer {
  const text = geoBin.toString('latin1');
  const date = JSON.parse(geoBin.subarray(16, 16 + geoBin.readUInt32LE(12)).toString('utf8')).dataDate as string;
  return Buffer.from(text.replace(`"dataDate":"${date}"`, `"dataDate":"${year}${date.slice(4)}"`), 'latin1');
}

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    return err instanceof EgressError ? err.code : `not an EgressError: ${err}`;
  }
  return 'no error';
}

beforeAll(() => {
  buildGeoDb();
  geoBin = readFileSync(DEFAULT_GEO_PATH);
  bundle = packBundle(geoBin, new Date('2026-12-01T00:00:00Z'));
});

describe('a geo data bundle', () => {
  it('round-trips: the geo.bin inside is the one packed, described by its manifest', () => {
    const opened = openBundle(bundle, 'b');
    expect(Buffer.from(opened.geoBin).equals(geoBin)).toBe(true);
    expect(opened.manifest).toMatchObject({ kind: 'egress-geo-bundle', format: 1, seal: 'sha256' });
    expect(opened.manifest.data.sha256).toBe(opened.header.sha256);
    expect(opened.manifest.data.dataDate).toBe(opened.header.dataDate);
  });

  it('refuses a bit flip in every byte of its prefix and every 7th byte of its manifest', () => {
    // Each check hashes the 16 MB geo.bin once: every 7th byte keeps this a few seconds.
    const manifestEnd = 16 + bundle.readUInt32LE(12);
    for (let at = 0; at < manifestEnd; at += at < 16 ? 1 : 7) {
      const bad = Buffer.from(bundle);
      bad[at] ^= 1 << (at % 8);
      expect(
        codeOf(() => openBundle(bad, 'b')),
        `byte ${at}`,
      ).toBe('EGRESS_GEO_BUNDLE_INVALID');
    }
  });

  it(`refuses flips at seeded random places in the geo.bin and the seal (seed ${SEED})`, () => {
    let s = SEED;
    for (let i = 0; i < 12; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      const at = (s >>> 0) % bundle.length;
      const bad = Buffer.from(bundle);
      bad[at] ^= 0x80;
      expect(
        codeOf(() => openBundle(bad, 'b')),
        `seed ${SEED}, byte ${at}`,
      ).toBe('EGRESS_GEO_BUNDLE_INVALID');
    }
  });

  it('refuses a bundle around a damaged geo.bin even when its checksums are right', () => {
    expect(codeOf(() => packBundle(Buffer.from('EGEOBIN\0junk'), new Date()))).toBe('EGRESS_GEO_DB_INVALID');
  });
});

describe('installed geo data (DATA_DIR/geo)', () => {
  it('install keeps the previous file; rollback swaps them', () => {
    const store = new GeoStore(join(tmp, 'a'));
    const older = packBundle(withDataDate('2025'), new Date());
    expect(store.install(older, 'older').replaced).toBeNull();
    const r = store.install(bundle, 'newer');
    expect(r.replaced?.dataDate?.slice(0, 4)).toBe('2025');
    expect(readGeoHeader(store.previous)?.dataDate?.slice(0, 4)).toBe('2025');
    store.rollback();
    expect(readGeoHeader(store.current)?.dataDate?.slice(0, 4)).toBe('2025');
    expect(readGeoHeader(store.previous)?.dataDate).toBe(readGeoHeader(DEFAULT_GEO_PATH)?.dataDate);
  });

  it('is refused while another update holds the lock (a live pid), and taken over from a dead one', () => {
    const store = new GeoStore(join(tmp, 'b'));
    store.install(bundle, 'first');
    writeFileSync(join(store.dir, 'update.lock'), `${process.pid}\n`);
    expect(codeOf(() => store.install(bundle, 'second'))).toBe('EGRESS_GEO_STORE_FAILED');
    writeFileSync(join(store.dir, 'update.lock'), '2147483646\n'); // no such process
    expect(store.install(bundle, 'third').replaced).not.toBeNull();
  });

  it('the newer of installed and shipped data is used: an old install does not shadow a newer agent', () => {
    const store = new GeoStore(join(tmp, 'c'));
    store.install(packBundle(withDataDate('2025'), new Date()), 'older');
    expect(chooseGeoData(join(tmp, 'c')).origin).toBe('shipped');
    store.install(packBundle(withDataDate('2027'), new Date()), 'newer');
    expect(chooseGeoData(join(tmp, 'c')).origin).toBe('installed');
    expect(chooseGeoData(join(tmp, 'c'), '/x/geo.bin').origin).toBe('option');
  });
});

describe('age of the geo data', () => {
  const header = () => GeoDb.fromBytes(geoBin).header;

  it(`is stale after ${STALE_AFTER_DAYS} days, not on the day itself`, () => {
    const date = Date.parse(header().dataDate as string);
    const day = 86_400_000;
    expect(geoDataHealth(header(), date + STALE_AFTER_DAYS * day)).toMatchObject({ ageDays: 90, stale: false });
    const late = geoDataHealth(header(), date + (STALE_AFTER_DAYS + 1) * day);
    expect(late).toMatchObject({ ageDays: 91, stale: true });
    expect(late.text).toContain('egress db update');
    expect(geoDataHealth(header(), date - day).ageDays).toBe(0); // a clock behind the data
  });

  it('of unknown date counts as stale', () => {
    const { dataDate: _, ...h } = header();
    expect(geoDataHealth(h, Date.now())).toMatchObject({ dataDate: null, ageDays: null, stale: true });
  });

  it('is part of what versions() records in stats and sessions', () => {
    expect(GeoDb.fromBytes(geoBin).versions().data_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});
