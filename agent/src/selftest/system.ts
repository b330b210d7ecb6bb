// System checks: clock synchronised (systemd-timesyncd through timedatectl,
// else chrony through chronyc; "unknown" when neither answers), geo/ASN data
// age (the agent's own geoDataHealth, stale after 90 days), and free disk
// for sessions in the data directory (statfs of it or its nearest parent).

import { existsSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { STALE_AFTER_DAYS } from '../enrich/geo-age.js';
import { GeoSource } from '../enrich/geo-source.js';
import { EgressError } from '../errors.js';
import { fix, mib } from './fixes.js';
import { seen } from './seen.js';
import { type CheckResult, type Runner, result } from './types.js';

const MIB = 1024 * 1024;
/** Below this the agent cannot keep a flight's evidence: fail. */
export const DISK_FAIL_BYTES = 200 * MIB;
/** Below this a long day of flights may not fit: warn. */
export const DISK_WARN_BYTES = 1024 * MIB;

export async function checkClock(run: Runner): Promise<CheckResult> {
  const t = await run('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], 5000);
  if (t.code === 0 && /^(yes|no)$/.test(t.stdout.trim())) {
    const synced = t.stdout.trim() === 'yes';
    return synced
      ? result('clock', 'pass', 'clock synchronised (systemd-timesyncd)', null, {
          source: 'timedatectl',
          synchronised: true,
        })
      : result('clock', 'warn', seen('clock_timesyncd', {}), fix('clock_timesyncd', {}), {
          source: 'timedatectl',
          synchronised: false,
        });
  }
  const c = await run('chronyc', ['-n', 'tracking'], 5000);
  if (c.code === 0) {
    const leap = /^Leap status\s*:\s*(.+)$/m.exec(c.stdout)?.[1]?.trim() ?? null;
    const synced = leap === 'Normal';
    return synced
      ? result('clock', 'pass', 'clock synchronised (chrony)', null, { source: 'chronyc', synchronised: true, leap })
      : result(
          'clock',
          'warn',
          leap === null ? seen('clock_chrony_no_leap', {}) : seen('clock_chrony', { leap }),
          fix('clock_chrony', {}),
          { source: 'chronyc', synchronised: false, leap },
        );
  }
  return result('clock', 'warn', seen('clock_unknown', {}), fix('clock_unknown', {}), {
    source: null,
    synchronised: null,
  });
}

export function checkGeo(dataDir: string, explicit: string | undefined, now: () => number): CheckResult {
  try {
    const geo = GeoSource.open({ dataDir, explicit, log: () => {}, now });
    const h = geo.health();
    const facts = { path: geo.path, origin: geo.origin, data_date: h.dataDate, age_days: h.ageDays };
    return h.stale
      ? result('geo', 'warn', staleGeo(h.dataDate, h.ageDays), fix('geo_stale', {}), facts)
      : result('geo', 'pass', h.text, null, facts);
  } catch (err) {
    if (err instanceof EgressError)
      return result('geo', 'fail', err.message, fix('geo_missing', {}), {
        code: err.code,
      });
    throw err;
  }
}

/** Free space where sessions are written: the data directory, or its nearest existing parent. */
export function checkDisk(
  dataDir: string,
  statfs: (dir: string) => { bavail: number; bsize: number } = statfsSync,
): CheckResult {
  let dir = dataDir;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  let s: { bavail: number; bsize: number };
  try {
    s = statfs(dir);
  } catch (err) {
    return result(
      'disk',
      'fail',
      seen('disk_unreadable', { path: dir, error: (err as Error).message }),
      fix('disk_unreadable', { path: dataDir }),
      { path: dataDir },
    );
  }
  const free = s.bavail * s.bsize;
  const facts = { path: dataDir, measured_at: dir, free_bytes: free };
  const text = seen('disk_free', { free_mib: Math.floor(free / MIB), path: dataDir });
  if (free < DISK_FAIL_BYTES)
    return result('disk', 'fail', text, fix('disk_full', { need_mib: mib(DISK_FAIL_BYTES) }), facts);
  if (free < DISK_WARN_BYTES)
    return result('disk', 'warn', text, fix('disk_low', { advised_mib: mib(DISK_WARN_BYTES) }), facts);
  return result('disk', 'pass', text, null, facts);
}

/** geo-age.ts's line for stale data, with its id and facts. */
function staleGeo(dataDate: string | null, ageDays: number | null) {
  if (dataDate === null || ageDays === null) return seen('geo_undated', {});
  return seen('geo_old', { data_date: dataDate, age_days: ageDays, max_days: STALE_AFTER_DAYS });
}
