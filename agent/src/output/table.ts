// The human view of a scan: one line per internet destination (address,
// port, protocol) with flows, packets and bytes, busiest first. Bounded: at
// most MAX_DESTINATIONS rows are tracked; beyond that flows are summed as "other".

import type { FlowRecord } from './flow-record.js';
import type { ScanStats } from './ndjson.js';
import { isoMicros } from './time.js';

const MAX_DESTINATIONS = 65_536;
const ROWS_SHOWN = 40;

interface DestRow {
  dest: string;
  proto: string;
  flows: number;
  pkts: number;
  bytes: number;
  firstUs: number;
  lastUs: number;
}

export class DestinationTable {
  private readonly rows = new Map<string, DestRow>();
  overflowFlows = 0;

  flow(r: FlowRecord): void {
    if (!r.internet) return;
    const dest =
      r.destPort === null
        ? r.destIp
        : r.destIp.includes(':')
          ? `[${r.destIp}]:${r.destPort}`
          : `${r.destIp}:${r.destPort}`;
    const key = `${r.proto} ${dest}`;
    let row = this.rows.get(key);
    if (row === undefined) {
      if (this.rows.size >= MAX_DESTINATIONS) {
        this.overflowFlows++;
        return;
      }
      row = { dest, proto: r.proto, flows: 0, pkts: 0, bytes: 0, firstUs: r.startUs, lastUs: r.endUs };
      this.rows.set(key, row);
    }
    row.flows++;
    row.pkts += r.pktsToServer + r.pktsToClient;
    row.bytes += r.bytesToServer + r.bytesToClient;
    if (r.startUs < row.firstUs) row.firstUs = r.startUs;
    if (r.endUs > row.lastUs) row.lastUs = r.endUs;
  }

  render(stats: ScanStats): string {
    const rows = [...this.rows.values()].sort((a, b) => b.bytes - a.bytes || a.dest.localeCompare(b.dest));
    const out: string[] = [];
    out.push(
      `${stats.packets} packets, ${formatBytes(stats.bytes)}, ${stats.flows} flows ` +
        `(${stats.flowsInternet} to the internet, ${stats.flowsLocal} local)`,
    );
    if (stats.firstUs >= 0) out.push(`from ${isoMicros(stats.firstUs)} to ${isoMicros(stats.lastUs)}`);
    out.push('');
    if (rows.length === 0) out.push('No connections to internet destinations.');
    else {
      const header = ['DESTINATION', 'PROTO', 'FLOWS', 'PACKETS', 'BYTES', 'FIRST SEEN', 'VERDICT'];
      const body = rows
        .slice(0, ROWS_SHOWN)
        .map((r) => [
          r.dest,
          r.proto,
          String(r.flows),
          String(r.pkts),
          formatBytes(r.bytes),
          isoMicros(r.firstUs).slice(0, 19),
          'not allowlisted',
        ]);
      out.push(...columns([header, ...body]));
      if (rows.length > ROWS_SHOWN)
        out.push(`… and ${rows.length - ROWS_SHOWN} more destinations (use --format ndjson for all)`);
    }
    if (this.overflowFlows > 0) out.push(`${this.overflowFlows} flows to further destinations not itemised`);
    const anomalies = Object.entries(stats.anomalies).filter(([, n]) => n > 0);
    if (anomalies.length > 0) {
      out.push('');
      out.push(`Decoder notes: ${anomalies.map(([k, n]) => `${k} ${n}`).join(', ')}`);
    }
    const evicted = stats.flowTable.evicted_lru ?? 0;
    if (evicted > 0) out.push(`Flow table full: ${evicted} flows evicted early (raise --max-flows)`);
    return `${out.join('\n')}\n`;
  }
}

function columns(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  );
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}
