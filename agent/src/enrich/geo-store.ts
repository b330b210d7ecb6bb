// Geo data installed on the gateway: DATA_DIR/geo/ holds the geo.bin that
// `egress db update` installed (geo.bin) and the one it replaced
// (geo.previous.bin), for `egress db rollback`.
//
// An update checks the whole bundle first (geo-bundle.ts), writes the new
// file beside the old one, flushes it to disk, reads it back and checks it
// again, then swaps it in with rename(2), which is atomic: a reader (the
// running agent, a power cut) sees the old file or the new one, never a mix.
// The old file is first hard-linked to geo.previous.bin, so at every moment
// both are whole. A lock file keeps two updates from interleaving.
//
// Which data a command uses (chooseGeoData): --geo-db when given; else the
// newer (by data date) of the installed data and the data shipped with the
// agent, so an agent upgrade with fresher data is never shadowed by an old
// install; on a tie the installed data.

import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { EgressError, ErrorCode } from '../errors.js';
import { DEFAULT_GEO_PATH } from './geo.js';
import { openBundle } from './geo-bundle.js';
import { type GeoHeader, parseGeoFile, readGeoHeader } from './geo-file.js';

export type GeoOrigin = 'option' | 'installed' | 'shipped';

export interface GeoChoice {
  path: string;
  origin: GeoOrigin;
  /** Null only for --geo-db paths that could not be read (loading reports it). */
  header: GeoHeader | null;
}

export class GeoStore {
  readonly dir: string;
  readonly current: string;
  readonly previous: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'geo');
    this.current = join(this.dir, 'geo.bin');
    this.previous = join(this.dir, 'geo.previous.bin');
  }

  /**
   * Installs a bundle: throws EGRESS_GEO_BUNDLE_INVALID (nothing changed)
   * or EGRESS_GEO_STORE_FAILED. Returns the new header and the one replaced.
   */
  install(bundle: Uint8Array, file: string): { installed: GeoHeader; replaced: GeoHeader | null } {
    const { geoBin, header } = openBundle(bundle, file);
    return this.locked(() => {
      const replaced = readGeoHeader(this.current);
      const tmp = join(this.dir, `geo.bin.${process.pid}.new`);
      try {
        writeDurably(tmp, geoBin);
        parseGeoFile(readFileSync(tmp), tmp, ErrorCode.GEO_STORE_FAILED, ': written file reads back damaged');
        if (replaced !== null) this.keepAsPrevious();
        renameSync(tmp, this.current);
        syncDir(this.dir);
      } catch (err) {
        rmSync(tmp, { force: true });
        throw storeError(err, this.dir);
      }
      return { installed: header, replaced };
    });
  }

  /** Swaps the installed data and the previous one (a second rollback undoes the first). */
  rollback(): { installed: GeoHeader; replaced: GeoHeader | null } {
    return this.locked(() => {
      let installed: GeoHeader;
      try {
        installed = parseGeoFile(readFileSync(this.previous), this.previous).header;
      } catch {
        throw new EgressError(ErrorCode.GEO_NO_PREVIOUS, 'no earlier geo data is kept to roll back to', {
          file: this.previous,
        });
      }
      const replaced = readGeoHeader(this.current);
      const swap = join(this.dir, `geo.bin.${process.pid}.swap`);
      try {
        if (replaced !== null) linkSync(this.current, swap);
        renameSync(this.previous, this.current);
        if (replaced !== null) renameSync(swap, this.previous);
        syncDir(this.dir);
      } catch (err) {
        rmSync(swap, { force: true });
        throw storeError(err, this.dir);
      }
      return { installed, replaced };
    });
  }

  /** geo.bin → geo.previous.bin, keeping geo.bin in place (a hard link, then an atomic rename). */
  private keepAsPrevious(): void {
    const link = join(this.dir, `geo.previous.bin.${process.pid}.new`);
    rmSync(link, { force: true });
    linkSync(this.current, link);
    renameSync(link, this.previous);
  }

  private locked<T>(work: () => T): T {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw storeError(err, this.dir);
    }
    const lock = join(this.dir, 'update.lock');
    let fd: number;
    try {
      fd = openSync(lock, 'wx', 0o600);
    } catch (err) {
      const holder = Number.parseInt(safeRead(lock), 10);
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && Number.isInteger(holder) && !alive(holder)) {
        rmSync(lock, { force: true }); // left by a process that died
        return this.locked(work);
      }
      throw new EgressError(
        ErrorCode.GEO_STORE_FAILED,
        Number.isInteger(holder)
          ? `another geo data update (pid ${holder}) holds ${lock}`
          : `cannot lock ${lock}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        { file: lock },
      );
    }
    try {
      writeSync(fd, `${process.pid}\n`);
      return work();
    } finally {
      closeSync(fd);
      rmSync(lock, { force: true });
    }
  }
}

/** The data a command uses: --geo-db, else the newer of installed and shipped (installed on a tie). */
export function chooseGeoData(dataDir: string | null, explicit?: string, shipped = DEFAULT_GEO_PATH): GeoChoice {
  if (explicit !== undefined) return { path: explicit, origin: 'option', header: readGeoHeader(explicit) };
  const own: GeoChoice = { path: shipped, origin: 'shipped', header: readGeoHeader(shipped) };
  if (dataDir === null) return own;
  const path = new GeoStore(dataDir).current;
  const header = readGeoHeader(path);
  if (header === null) return own;
  if (own.header !== null && (own.header.dataDate ?? '') > (header.dataDate ?? '')) return own;
  return { path, origin: 'installed', header };
}

/** What identifies a file's version on disk, to notice a new install cheaply (stat only). */
export function fileSignature(path: string): string {
  try {
    const s = statSync(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'absent';
  }
}

function writeDurably(path: string, bytes: Uint8Array): void {
  writeFileSync(path, bytes, { mode: 0o600 });
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function storeError(err: unknown, dir: string): EgressError {
  if (err instanceof EgressError) return err;
  const e = err as NodeJS.ErrnoException;
  return new EgressError(ErrorCode.GEO_STORE_FAILED, `cannot write the geo data folder: ${e.code ?? e.message}`, {
    file: dir,
  });
}
