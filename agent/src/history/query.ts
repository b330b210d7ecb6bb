// What the dashboard's history panel shows, read back from InfluxDB with
// InfluxQL (https://docs.influxdata.com/influxdb/v1/query_language/explore-data/):
// bytes per country and per verdict over the last 24 h in 1-hour steps, and
// per flight session, for one gateway. The same statements are in the
// Grafana dashboard (scripts/grafana-egress.json).

import type { InfluxDB } from 'influx';
import { RAW_RP } from './config.js';

export const HISTORY_HOURS = 24;
export const STEP_MS = 3_600_000;
/** Countries drawn one by one; the rest are summed as "other". */
export const TOP_COUNTRIES = 6;

export interface HistorySeries {
  key: string;
  bytes: number[];
  total: number;
}

export interface SessionTotals {
  session: string;
  flows: number;
  bytes: number;
  byVerdict: Record<string, number>;
}

export interface HistoryAnswer {
  gateway: string;
  stepMs: number;
  times: number[];
  byCountry: HistorySeries[];
  byVerdict: HistorySeries[];
  sessions: SessionTotals[];
  totals: { flows: number; bytes: number };
}

interface RawSeries {
  tags?: Record<string, string>;
  columns: string[];
  values: (number | string | null)[][];
}

/** InfluxQL string literal. */
export function quote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export function historyStatements(gateway: string, hours = HISTORY_HOURS): string[] {
  const where = `"gateway" = ${quote(gateway)} AND time > now() - ${hours}h`;
  const sums = 'sum("bytes_to_server") AS "up", sum("bytes_to_client") AS "down"';
  const from = `FROM "${RAW_RP}"."flow"`;
  return [
    `SELECT ${sums} ${from} WHERE ${where} GROUP BY time(1h), "country" fill(0)`,
    `SELECT ${sums} ${from} WHERE ${where} GROUP BY time(1h), "verdict" fill(0)`,
    `SELECT ${sums}, count("bytes_to_server") AS "flows" ${from} WHERE ${where} GROUP BY "session", "verdict"`,
  ];
}

export async function queryHistory(client: InfluxDB, gateway: string): Promise<HistoryAnswer> {
  const raw = (await client.queryRaw(historyStatements(gateway).join('; '), { precision: 'ms' })) as {
    results: { series?: RawSeries[]; error?: string }[];
  };
  const failed = raw.results.find((r) => r.error);
  if (failed) throw new Error(failed.error);
  const [country, verdict, session] = raw.results.map((r) => r.series ?? []);
  const times = timeAxis([...country, ...verdict]);
  const byCountry = topN(perTag(country, 'country', times), TOP_COUNTRIES);
  const byVerdict = perTag(verdict, 'verdict', times);
  const sessions = new Map<string, SessionTotals>();
  const totals = { flows: 0, bytes: 0 };
  for (const s of session) {
    const id = s.tags?.session ?? '';
    const row = s.values[0] ?? [];
    const col = (n: string) => Number(row[s.columns.indexOf(n)] ?? 0);
    const bytes = col('up') + col('down');
    const t = sessions.get(id) ?? { session: id, flows: 0, bytes: 0, byVerdict: {} };
    t.flows += col('flows');
    t.bytes += bytes;
    const v = s.tags?.verdict || 'allowed';
    t.byVerdict[v] = (t.byVerdict[v] ?? 0) + bytes;
    sessions.set(id, t);
    totals.flows += col('flows');
    totals.bytes += bytes;
  }
  return {
    gateway,
    stepMs: STEP_MS,
    times,
    byCountry,
    byVerdict,
    sessions: [...sessions.values()].sort((a, b) => b.bytes - a.bytes),
    totals,
  };
}

function timeAxis(series: RawSeries[]): number[] {
  const set = new Set<number>();
  for (const s of series) for (const v of s.values) set.add(Number(v[0]));
  return [...set].sort((a, b) => a - b);
}

function perTag(series: RawSeries[], tag: string, times: number[]): HistorySeries[] {
  const index = new Map(times.map((t, i) => [t, i]));
  const out = new Map<string, HistorySeries>();
  for (const s of series) {
    const key = s.tags?.[tag] || (tag === 'country' ? '??' : 'allowed');
    const row = out.get(key) ?? { key, bytes: new Array(times.length).fill(0), total: 0 };
    const up = s.columns.indexOf('up');
    const down = s.columns.indexOf('down');
    for (const v of s.values) {
      const b = Number(v[up] ?? 0) + Number(v[down] ?? 0);
      row.bytes[index.get(Number(v[0])) ?? 0] += b;
      row.total += b;
    }
    out.set(key, row);
  }
  return [...out.values()].sort((a, b) => b.total - a.total);
}

function topN(series: HistorySeries[], n: number): HistorySeries[] {
  if (series.length <= n) return series;
  const rest = series.slice(n);
  const other: HistorySeries = { key: 'other', bytes: rest[0].bytes.map(() => 0), total: 0 };
  for (const s of rest) {
    s.bytes.forEach((b, i) => {
      other.bytes[i] += b;
    });
    other.total += s.total;
  }
  return [...series.slice(0, n), other];
}
