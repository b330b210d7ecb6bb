// Where traffic history goes: `--influx http://HOST:8086/DB` (InfluxDB 1.x
// HTTP API, https://docs.influxdata.com/influxdb/v1/tools/api/), user and
// password from EGRESS_INFLUX_USER / EGRESS_INFLUX_PASSWORD, never from the
// command line (it shows in `ps`).

import { EgressError, ErrorCode } from '../errors.js';

export interface HistoryTarget {
  protocol: 'http' | 'https';
  host: string;
  port: number;
  database: string;
  username?: string;
  password?: string;
  /** How long raw points are kept: an InfluxQL duration (30d, 52w) or INF. */
  retention: string;
  /** Points held while InfluxDB is away (default DEFAULT_MAX_QUEUED in writer.ts); then the oldest are dropped. */
  maxQueued?: number;
}

/** Raw points (one per flow) are kept this long; the 1-minute totals forever. */
export const DEFAULT_RETENTION = '30d';
/** Retention policies and the continuous query the agent creates when absent. */
export const RAW_RP = 'egress_raw';
export const TOTALS_RP = 'egress_1m';
export const FLOW_CQ = 'egress_flow_1m';

const DURATION = /^(INF|(\d+(ns|u|µ|ms|s|m|h|d|w))+)$/;

export function parseHistoryTarget(
  url: string,
  env: Record<string, string | undefined>,
  retention = DEFAULT_RETENTION,
): HistoryTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalid(url, 'not a URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid(url, 'the scheme must be http or https');
  if (u.username || u.password)
    throw invalid(url, 'put the user and password in EGRESS_INFLUX_USER and EGRESS_INFLUX_PASSWORD, not in the URL');
  const database = decodeURIComponent(u.pathname.replace(/^\/|\/$/g, ''));
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(database))
    throw invalid(url, 'the path must name the database (letters, digits, _ and -), e.g. http://127.0.0.1:8086/egress');
  if (u.search || u.hash) throw invalid(url, 'no query or fragment');
  if (!DURATION.test(retention))
    throw new EgressError(
      ErrorCode.HISTORY_URL_INVALID,
      `--influx-retention must be an InfluxQL duration (30d, 52w) or INF, got "${retention}"`,
    );
  const protocol = u.protocol === 'https:' ? 'https' : 'http';
  return {
    protocol,
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port === '' ? 8086 : Number(u.port),
    database,
    username: env.EGRESS_INFLUX_USER || undefined,
    password: env.EGRESS_INFLUX_PASSWORD || undefined,
    retention,
  };
}

function invalid(url: string, why: string): EgressError {
  return new EgressError(ErrorCode.HISTORY_URL_INVALID, `--influx ${JSON.stringify(url)}: ${why}`);
}
