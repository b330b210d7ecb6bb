// The enrich stage: country, AS number, AS organisation and the AS's country
// of registration for a destination address, from the offline database, with
// the policy's geo_overrides (local truth) beating it. The most specific
// override wins; fields it leaves out come from the database.

import { cidrContains } from '../policy/cidr.js';
import type { GeoOverride } from '../policy/policy.js';
import type { GeoAnswer, GeoDb } from './geo.js';
import { type GeoDataHealth, geoDataHealth } from './geo-age.js';

export class Enricher {
  private readonly overrides: GeoOverride[];
  private db: GeoDb | null;

  constructor(db: GeoDb | null, overrides: readonly GeoOverride[] = []) {
    this.db = db;
    this.overrides = [...overrides].sort((a, b) => b.cidr.bits - a.cidr.bits);
  }

  /** Database versions and data date (`data_date`), for stats and sessions. */
  versions(): Record<string, string> {
    return this.db?.versions() ?? {};
  }

  /** Date and age of the data at `nowMs` (stale after 90 days), or null without a database. */
  dataHealth(nowMs: number): GeoDataHealth | null {
    return this.db === null ? null : geoDataHealth(this.db.header, nowMs);
  }

  /** The database in use. */
  get database(): GeoDb | null {
    return this.db;
  }

  /**
   * Answer from another database from now on (a newer bundle installed
   * under a running agent: geo-source.ts). Lookups already made keep the
   * answers they got; the next lookup uses the new data.
   */
  replaceDatabase(db: GeoDb): void {
    this.db = db;
  }

  /** Fill `out` for the address in `words` (1 word IPv4, 4 words IPv6). */
  lookup(words: ArrayLike<number>, v6: boolean, out: GeoAnswer): void {
    out.country = null;
    out.asn = null;
    out.asOrg = null;
    out.asCountry = null;
    if (this.db !== null) {
      if (v6) this.db.lookupV6(words[0], words[1], words[2], words[3], out);
      else this.db.lookupV4(words[0], out);
    }
    for (const o of this.overrides) {
      if (!cidrContains(o.cidr, words, v6)) continue;
      if (o.country !== undefined) out.country = o.country;
      if (o.asn !== undefined) out.asn = o.asn;
      if (o.asOrg !== undefined) out.asOrg = o.asOrg;
      if (o.asCountry !== undefined) out.asCountry = o.asCountry;
      return;
    }
  }
}
