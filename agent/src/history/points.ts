// The points the agent writes to InfluxDB (line protocol,
// https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/).
//
//   flow     tags gateway session verdict country asn name proto
//            fields bytes/pkts each way, duration_s, flow_id, dest_ip, dest_port
//   alert    tags gateway session severity country asn name
//            fields count=1, reasons, text, dest_ip
//   capture  tags gateway; fields packets, pps, kernel_drops, restarts, anomalies, flows
//   status   tags gateway; fields state, text, session, uptime_s
//
// Tags are the bounded sets a team groups by (country, ASN, verdict, the
// destination's first name); addresses and ids are fields, so the number of
// series does not grow with traffic. Empty values are left out (line
// protocol has no empty tag).

import type { IPoint } from 'influx';
import type { AlertRecord, FlowRecord } from '../output/flow-record.js';

export interface PointContext {
  gateway: string;
  /** The open flight session's id, '' when none. */
  session: string;
}

export interface CaptureSample {
  tsUs: number;
  packets: number;
  /** Packets per second since the previous sample. */
  pps: number;
  kernelDrops: number;
  restarts: number;
  anomalies: number;
  /** Flows ended so far. */
  flows: number;
}

export interface StatusSample {
  tsUs: number;
  state: string;
  text: string;
  uptimeS: number;
}

function tags(pairs: Record<string, string | number | null | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(pairs)) if (v !== null && v !== undefined && v !== '') out[k] = String(v);
  return out;
}

/**
 * Nanoseconds as a decimal string (beyond 2^53: a number would round). Two
 * flows of one series may end in the same microsecond, and InfluxDB keeps
 * one point per series and time: the flow id's low digits go into the
 * nanoseconds so each flow stays its own point.
 */
export function flowTime(endUs: number, flowId: number): string {
  return `${endUs}${String(flowId % 1000).padStart(3, '0')}`;
}

export function usTime(tsUs: number): string {
  return `${Math.floor(tsUs)}000`;
}

export function flowPoint(r: FlowRecord, ctx: PointContext): IPoint {
  return {
    measurement: 'flow',
    tags: tags({
      gateway: ctx.gateway,
      session: ctx.session,
      verdict: r.verdict,
      country: r.app.country,
      asn: r.app.asn,
      name: r.names[0],
      proto: r.proto,
    }),
    fields: {
      bytes_to_server: r.bytesToServer,
      bytes_to_client: r.bytesToClient,
      pkts_to_server: r.pktsToServer,
      pkts_to_client: r.pktsToClient,
      duration_s: Math.max(0, r.endUs - r.startUs) / 1e6,
      flow_id: r.flowId,
      dest_ip: r.destIp,
      dest_port: r.destPort ?? 0,
      internet: r.internet,
    },
    timestamp: flowTime(r.endUs, r.flowId),
  };
}

export function alertPoint(a: AlertRecord, ctx: PointContext): IPoint {
  return {
    measurement: 'alert',
    tags: tags({
      gateway: ctx.gateway,
      session: ctx.session,
      severity: a.severity,
      country: a.app.country,
      asn: a.app.asn,
      name: a.names[0],
    }),
    fields: { count: 1, reasons: a.reasons.join(','), text: a.text, dest_ip: a.app.destIp, flow_id: a.app.flowId },
    timestamp: flowTime(a.tsUs, a.app.flowId),
  };
}

export function capturePoint(c: CaptureSample, ctx: PointContext): IPoint {
  return {
    measurement: 'capture',
    tags: tags({ gateway: ctx.gateway }),
    fields: {
      packets: c.packets,
      pps: c.pps,
      kernel_drops: c.kernelDrops,
      restarts: c.restarts,
      anomalies: c.anomalies,
      flows: c.flows,
    },
    timestamp: usTime(c.tsUs),
  };
}

export function statusPoint(s: StatusSample, ctx: PointContext): IPoint {
  return {
    measurement: 'status',
    tags: tags({ gateway: ctx.gateway }),
    fields: { state: s.state, text: s.text, session: ctx.session, uptime_s: s.uptimeS },
    timestamp: usTime(s.tsUs),
  };
}
