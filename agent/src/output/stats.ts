// The `stats` record of a run (scan or live), read from the pipeline and the
// capture source: the shape NDJSON's stats event and MQTT's Stats message
// start from.

import type { EgressError } from '../errors.js';
import type { ScanPipeline } from '../pipeline.js';
import type { ScanStats } from './ndjson.js';

/** What the capture source knows: its format and the link types it saw. */
export interface CaptureInfo {
  readonly format: ScanStats['format'];
  linkTypes(): number[];
}

export function collectStats(
  p: ScanPipeline,
  reader: CaptureInfo,
  error: EgressError | null,
  policy: string,
  databases: Record<string, string>,
): ScanStats {
  const c = p.flows.counters;
  return {
    packets: p.packets,
    bytes: p.bytes,
    firstUs: p.firstUs,
    lastUs: p.lastUs,
    format: reader.format,
    linkTypes: reader.linkTypes(),
    decoded: { transport: p.decoded[0], ip_only: p.decoded[1], not_ip: p.decoded[2], malformed: p.decoded[3] },
    flows: c.created,
    flowsInternet: p.flowsInternet,
    flowsLocal: p.flowsLocal,
    flowTable: {
      max: p.flows.maxFlows,
      active_max: c.activeMax,
      ended_closed: c.endedClosed,
      ended_timeout: c.endedTimeout,
      ended_port_reuse: c.endedPortReuse,
      ended_end_of_input: c.endedEndOfInput,
      evicted_lru: c.evictedLru,
    },
    alerts: p.alerts,
    names: {
      ...p.names.counters,
      ...p.lookups.counters,
      dns_cache_entries: p.dnsCache.size,
      dns_cache_evictions: p.dnsCache.evictions,
    },
    policy,
    databases,
    anomalies: p.anomalies.toJSON(),
    error,
  };
}
