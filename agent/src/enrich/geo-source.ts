// The geo data of a long-running agent (`egress run`, `egress replay`),
// kept current without a restart: on every stats tick refresh() looks at
// the installed file's inode, size and time (one stat, no read), and when an
// `egress db update` or `rollback` has swapped it, loads and checks the new
// data and hands it to the enricher. New lookups use it from then on. A file
// that fails its checks is logged and counted, and the data in use stays.
//
// Loading takes a fraction of a second (about 0.2 s on the CI machine for
// the full tables), on the event loop; capture input waits in tcpdump's
// pipe meanwhile. The old tables are freed by the garbage collector once no
// lookup holds them, so two sets are resident only briefly.

import type { Enricher } from './enricher.js';
import { GeoDb } from './geo.js';
import { type GeoDataHealth, geoDataHealth } from './geo-age.js';
import { readGeoHeader } from './geo-file.js';
import { chooseGeoData, fileSignature, type GeoChoice, type GeoOrigin, GeoStore } from './geo-store.js';

export interface GeoSourceOptions {
  /** The data directory whose geo/ folder `egress db update` installs into; null: the shipped data only. */
  dataDir: string | null;
  /** --geo-db: this file and nothing else (it is still reloaded when it changes). */
  explicit?: string;
  log: (line: string) => void;
  now?: () => number;
}

export class GeoSource {
  readonly counters = { reloads: 0, reload_failures: 0 };
  private choice: GeoChoice;
  private db: GeoDb;
  private watched: string;
  private signature: string;
  private readonly now: () => number;

  private constructor(
    private readonly options: GeoSourceOptions,
    choice: GeoChoice,
  ) {
    this.now = options.now ?? Date.now;
    this.choice = choice;
    this.db = GeoDb.load(choice.path);
    this.watched = options.explicit ?? (options.dataDir === null ? choice.path : new GeoStore(options.dataDir).current);
    this.signature = fileSignature(this.watched);
  }

  /** Loads the data to use now; throws EGRESS_GEO_DB_INVALID when it is missing or damaged. */
  static open(options: GeoSourceOptions): GeoSource {
    return new GeoSource(options, chooseGeoData(options.dataDir, options.explicit));
  }

  get database(): GeoDb {
    return this.db;
  }

  get path(): string {
    return this.choice.path;
  }

  get origin(): GeoOrigin {
    return this.choice.origin;
  }

  health(): GeoDataHealth {
    return geoDataHealth(this.db.header, this.now());
  }

  /**
   * Picks up newly installed data: true when the enricher now answers from
   * other data. Cheap when nothing changed (one stat).
   */
  refresh(enricher: Enricher): boolean {
    const signature = fileSignature(this.watched);
    if (signature === this.signature) return false;
    this.signature = signature;
    const choice = chooseGeoData(this.options.dataDir, this.options.explicit);
    try {
      // A damaged install (header unreadable) must not silently send the agent back to older shipped data.
      if (signature !== 'absent' && choice.path !== this.watched && readGeoHeader(this.watched) === null)
        throw new Error('not a readable geo database');
      const db = GeoDb.load(choice.path);
      if (db.header.sha256 === this.db.header.sha256) {
        this.choice = choice;
        return false;
      }
      this.db = db;
      this.choice = choice;
      enricher.replaceDatabase(db);
      this.counters.reloads++;
      this.options.log(`geo: now using ${choice.origin} data ${choice.path} (${this.health().text})`);
      return true;
    } catch (err) {
      this.counters.reload_failures++;
      this.options.log(`geo: kept the data in use; ${this.watched} failed to load: ${(err as Error).message}`);
      return false;
    }
  }
}
