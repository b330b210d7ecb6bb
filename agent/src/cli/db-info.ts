// What `egress db info` prints: for each geo data file (the one in use, the
// installed one and the one kept for rollback, the one shipped with the
// agent), every table's fields, source, version, data date and age.

import { ageInDays, dataDateOf, geoDataHealth, STALE_AFTER_DAYS } from '../enrich/geo-age.js';
import type { GeoHeader } from '../enrich/geo-file.js';
import type { GeoChoice } from '../enrich/geo-store.js';

export interface DataFile {
  role: string;
  path: string;
  header: GeoHeader | null;
}

/** One file's description as JSON (`db info --json`). */
export function fileJson(f: DataFile, nowMs: number): Record<string, unknown> {
  const h = f.header;
  if (h === null) return { role: f.role, path: f.path, present: false };
  const health = geoDataHealth(h, nowMs);
  return {
    role: f.role,
    path: f.path,
    present: true,
    data_date: health.dataDate,
    age_days: health.ageDays,
    stale: health.stale,
    built: h.built,
    sha256: h.sha256,
    tables: tablesOf(h).map((t) => ({ ...t, age_days: ageInDays(t.date, nowMs) })),
  };
}

/** The tables of a header; files built before `tables` existed list their sources without fields. */
export function tablesOf(h: GeoHeader): { fields: string; source: string; version: string; date: string | null }[] {
  if (h.tables !== undefined) return h.tables;
  return Object.entries(h.sources).map(([source, version]) => ({ fields: '?', source, version, date: null }));
}

/** The human form: the data in use first, then the others. */
export function infoText(inUse: GeoChoice, files: DataFile[], nowMs: number): string {
  const lines: string[] = [];
  const h = inUse.header;
  if (h === null) {
    lines.push(`geo data in use: ${inUse.path} (unreadable)`);
  } else {
    const health = geoDataHealth(h, nowMs);
    lines.push(`geo data in use: ${inUse.origin} ${inUse.path}`);
    lines.push(`  ${health.stale ? 'WARNING: ' : ''}${health.text}`);
  }
  for (const f of files) {
    lines.push('');
    if (f.header === null) {
      lines.push(`${f.role}: none (${f.path})`);
      continue;
    }
    const date = dataDateOf(f.header) ?? 'unknown date';
    lines.push(`${f.role}: ${f.path}`);
    lines.push(`  data ${date}, built ${f.header.built}, sha256 ${f.header.sha256.slice(0, 16)}…`);
    const rows = tablesOf(f.header).map((t) => {
      const age = ageInDays(t.date, nowMs);
      return [t.fields, t.source, t.version, t.date?.slice(0, 10) ?? '?', age === null ? '?' : `${age} days`];
    });
    lines.push(...table([['fields', 'source', 'version', 'date', 'age'], ...rows]).map((l) => `  ${l}`));
  }
  lines.push('');
  lines.push(`Data older than ${STALE_AFTER_DAYS} days is flagged by the self-test; refresh it with`);
  lines.push('`egress db build --out FILE` on a machine with internet, then `egress db update FILE` here.');
  return `${lines.join('\n')}\n`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]))
      .join('  ')
      .trimEnd(),
  );
}
