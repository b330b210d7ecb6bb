// What the agent sets up in InfluxDB 1.x on start, each only when absent
// (InfluxQL: https://docs.influxdata.com/influxdb/v1/query_language/manage-database/,
// continuous queries: …/query_language/continuous_queries/):
//
//   database         DB (from --influx)
//   egress_raw       retention policy for raw points (--influx-retention, default 30d), the default one
//   egress_1m        retention policy for 1-minute totals, kept forever
//   egress_flow_1m   continuous query: flow → egress_1m.flow_1m, sums per minute and per tag set
//
// A team that changes a duration by hand keeps it: nothing is altered when present.

import type { InfluxDB } from 'influx';
import { FLOW_CQ, type HistoryTarget, RAW_RP, TOTALS_RP } from './config.js';

/** The SELECT of the continuous query (run by hand in tests and the benchmark to check it). */
export function flowTotalsSelect(database: string, into = true, where = ''): string {
  const db = JSON.stringify(database);
  return (
    'SELECT sum("bytes_to_server") AS "bytes_to_server", sum("bytes_to_client") AS "bytes_to_client", ' +
    'sum("pkts_to_server") AS "pkts_to_server", sum("pkts_to_client") AS "pkts_to_client", ' +
    `count("bytes_to_server") AS "flows"${into ? ` INTO ${db}."${TOTALS_RP}"."flow_1m"` : ''} ` +
    `FROM ${db}."${RAW_RP}"."flow"${where ? ` WHERE ${where}` : ''} GROUP BY time(1m), *`
  );
}

export async function ensureSchema(client: InfluxDB, t: HistoryTarget): Promise<void> {
  const names = await client.getDatabaseNames();
  if (!names.includes(t.database)) await client.createDatabase(t.database);
  const rps = new Set((await client.showRetentionPolicies(t.database)).map((r) => r.name));
  if (!rps.has(RAW_RP))
    await client.createRetentionPolicy(RAW_RP, {
      database: t.database,
      duration: t.retention,
      replication: 1,
      isDefault: true,
    });
  if (!rps.has(TOTALS_RP))
    await client.createRetentionPolicy(TOTALS_RP, { database: t.database, duration: 'INF', replication: 1 });
  const cqs = await client.showContinousQueries(t.database);
  if (!cqs.some((q) => q.name === FLOW_CQ))
    await client.createContinuousQuery(FLOW_CQ, flowTotalsSelect(t.database), t.database);
}
