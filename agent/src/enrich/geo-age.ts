// How old the geo/ASN data is. A gateway in the field may never see the
// internet, so its data ages; the date the data was made (the oldest of the
// source tables' dates, in the geo.bin header) is what every stats message,
// status, session record and `egress db info` shows, and the preflight
// self-test warns once it is older than STALE_AFTER_DAYS.

import type { GeoHeader } from './geo-file.js';

/** After this many days the data counts as stale: the self-test warns, `db info` says to update. */
export const STALE_AFTER_DAYS = 90;

const DAY_MS = 86_400_000;

export interface GeoDataHealth {
  /** The data date, YYYY-MM-DD (UTC), or null when the file does not say. */
  dataDate: string | null;
  /** Whole days from the data date to `nowMs`, or null when unknown. */
  ageDays: number | null;
  /** Older than STALE_AFTER_DAYS, or of unknown age. */
  stale: boolean;
  /** One plain-language line for people (self-test, `db info`, logs). */
  text: string;
}

/** The data date of a geo.bin header as YYYY-MM-DD, or null. */
export function dataDateOf(header: GeoHeader): string | null {
  return typeof header.dataDate === 'string' ? header.dataDate.slice(0, 10) : null;
}

/** Whole days between an ISO date and now (never negative: a clock behind the data says 0). */
export function ageInDays(iso: string | null | undefined, nowMs: number): number | null {
  if (iso === null || iso === undefined) return null;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return null;
  return Math.max(0, Math.floor((nowMs - t) / DAY_MS));
}

/**
 * The self-test's check of the geo data: its date, age and whether it is
 * stale (warn after STALE_AFTER_DAYS days), with a line saying what to do.
 */
export function geoDataHealth(header: GeoHeader, nowMs: number): GeoDataHealth {
  const dataDate = dataDateOf(header);
  const ageDays = ageInDays(header.dataDate, nowMs);
  if (dataDate === null || ageDays === null) {
    return {
      dataDate,
      ageDays,
      stale: true,
      text: 'geo data of unknown date: install a current bundle (egress db update)',
    };
  }
  const stale = ageDays > STALE_AFTER_DAYS;
  const text = stale
    ? `geo data from ${dataDate} is ${ageDays} days old (more than ${STALE_AFTER_DAYS}): install a newer bundle with \`egress db update FILE\``
    : `geo data from ${dataDate}, ${ageDays} days old`;
  return { dataDate, ageDays, stale, text };
}
