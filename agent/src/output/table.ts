// The human view of a scan: one line per internet destination (address,
// port, protocol) with its names, network, verdict, flows, packets and
// bytes, flagged first, then busiest. Bounded: at most MAX_DESTINATIONS rows
// are tracked; beyond that flows are counted as "not itemised". Below it,
// the denied names clients looked up (policy/lookups.ts) and the capture's
// gaps, so "no alert" is never read off a table that hides either.

import type { CaptureGap } from '../capture/types.js';
import { SEVERITY_RANK } from '../names/flow-app.js';
import type { LookupRecord } from '../policy/lookups.js';
import type { Verdict } from '../policy/policy.js';
import type { AlertRecord, FlowRecord } from './flow-record.js';
import type { ScanStats } from './ndjson.js';
import { isoMicros } from './time.js';

const MAX_DESTINATIONS = 65_536;
const MAX_NAMES_PER_ROW = 8;
const ROWS_SHOWN = 40;
const ALERTS_SHOWN = 20;
const LOOKUPS_SHOWN = 40;
const GAPS_SHOWN = 20;

interface DestRow {
  dest: string;
  proto: string;
  names: Set<string>;
  network: string;
  verdict: Verdict;
  flows: number;
  pkts: number;
  bytes: number;
  firstUs: number;
}

export class DestinationTable {
  private readonly rows = new Map<string, DestRow>();
  private readonly alertTexts = new Map<string, { severity: string; text: string; count: number }>();
  overflowFlows = 0;
  /** Lookups of denied names, in the order asked (the first LOOKUPS_SHOWN kept; all counted). */
  private readonly lookups: string[] = [];
  lookupCount = 0;
  /** Capture gaps, in order (the first GAPS_SHOWN kept; all counted, with their drops). */
  private readonly gaps: string[] = [];
  gapCount = 0;
  private gapDrops = 0;
  private gapUnknown = false;

  flow(r: FlowRecord): void {
    if (!r.internet) return;
    const a = r.app;
    const dest =
      a.destPort === null
        ? a.destIp
        : a.destIp.includes(':')
          ? `[${a.destIp}]:${a.destPort}`
          : `${a.destIp}:${a.destPort}`;
    const key = `${a.proto} ${dest}`;
    let row = this.rows.get(key);
    if (row === undefined) {
      if (this.rows.size >= MAX_DESTINATIONS) {
        this.overflowFlows++;
        return;
      }
      const g = a;
      const network = [g.asn !== null ? `AS${g.asn} ${g.asOrg ?? ''}`.trim() : '', g.country ?? '']
        .filter(Boolean)
        .join(', ');
      row = {
        dest,
        proto: a.proto,
        names: new Set(),
        network,
        verdict: 'allowed',
        flows: 0,
        pkts: 0,
        bytes: 0,
        firstUs: r.startUs,
      };
      this.rows.set(key, row);
    }
    for (const n of r.names) if (row.names.size < MAX_NAMES_PER_ROW) row.names.add(n);
    if (SEVERITY_RANK[r.verdict] > SEVERITY_RANK[row.verdict]) row.verdict = r.verdict;
    row.flows++;
    row.pkts += r.pktsToServer + r.pktsToClient;
    row.bytes += r.bytesToServer + r.bytesToClient;
    if (r.startUs < row.firstUs) row.firstUs = r.startUs;
  }

  alert(a: AlertRecord): void {
    const seen = this.alertTexts.get(a.text);
    if (seen) seen.count++;
    else if (this.alertTexts.size < MAX_DESTINATIONS)
      this.alertTexts.set(a.text, { severity: a.severity, text: a.text, count: 1 });
  }

  lookup(l: LookupRecord): void {
    this.lookupCount++;
    if (this.lookups.length >= LOOKUPS_SHOWN) return;
    const a = l.app;
    const resolver = a.destIp.includes(':') ? `[${a.destIp}]:${a.destPort}` : `${a.destIp}:${a.destPort}`;
    this.lookups.push(`  ${isoMicros(l.tsUs).slice(0, 19)}  ${a.srcIp} asked ${resolver} for ${l.name}  [${l.rule}]`);
  }

  gap(g: CaptureGap): void {
    this.gapCount++;
    if (g.packetsDropped === null) this.gapUnknown = true;
    else this.gapDrops += g.packetsDropped;
    if (this.gaps.length >= GAPS_SHOWN) return;
    const dropped = g.packetsDropped === null ? 'packets lost: unknown' : `packets lost: ${g.packetsDropped}`;
    this.gaps.push(
      `  ${isoMicros(g.startUs).slice(0, 19)} to ${isoMicros(g.endUs).slice(0, 19)}  ${g.cause}, ${dropped}`,
    );
  }

  render(stats: ScanStats): string {
    const rows = [...this.rows.values()].sort(
      (a, b) =>
        SEVERITY_RANK[b.verdict] - SEVERITY_RANK[a.verdict] || b.bytes - a.bytes || a.dest.localeCompare(b.dest),
    );
    const out: string[] = [];
    out.push(
      `${stats.packets} packets, ${formatBytes(stats.bytes)}, ${stats.flows} flows ` +
        `(${stats.flowsInternet} to the internet, ${stats.flowsLocal} local), ${stats.alerts} alerts`,
    );
    if (stats.firstUs >= 0)
      out.push(`from ${isoMicros(stats.firstUs)} to ${isoMicros(stats.lastUs)}; policy: ${stats.policy}`);
    out.push('');
    if (rows.length === 0) out.push('No connections to internet destinations.');
    else {
      const header = ['VERDICT', 'DESTINATION', 'PROTO', 'NAMES', 'NETWORK', 'FLOWS', 'PACKETS', 'BYTES', 'FIRST SEEN'];
      const body = rows
        .slice(0, ROWS_SHOWN)
        .map((r) => [
          r.verdict.toUpperCase(),
          r.dest,
          r.proto,
          [...r.names].join(' ') || '-',
          r.network || '-',
          String(r.flows),
          String(r.pkts),
          formatBytes(r.bytes),
          isoMicros(r.firstUs).slice(0, 19),
        ]);
      out.push(...columns([header, ...body]));
      if (rows.length > ROWS_SHOWN)
        out.push(`… and ${rows.length - ROWS_SHOWN} more destinations (use --format ndjson for all)`);
    }
    if (this.overflowFlows > 0) out.push(`${this.overflowFlows} flows to further destinations not itemised`);
    const alerts = [...this.alertTexts.values()].sort((a, b) =>
      a.severity === b.severity ? b.count - a.count : a.severity === 'high' ? -1 : 1,
    );
    if (alerts.length > 0) {
      out.push('', 'Why:');
      for (const a of alerts.slice(0, ALERTS_SHOWN))
        out.push(`  ${a.severity.toUpperCase().padEnd(6)} ${a.text}${a.count > 1 ? ` (${a.count} flows)` : ''}`);
      if (alerts.length > ALERTS_SHOWN) out.push(`  … and ${alerts.length - ALERTS_SHOWN} more`);
    }
    if (this.lookupCount > 0) {
      out.push('', `HIGH: denied names looked up (${this.lookupCount}, once per client and name):`, ...this.lookups);
      if (this.lookupCount > this.lookups.length) out.push(`  … and ${this.lookupCount - this.lookups.length} more`);
    }
    if (this.gapCount > 0) {
      const lost = this.gapUnknown ? `at least ${this.gapDrops}` : String(this.gapDrops);
      out.push(
        '',
        `CAPTURE INCOMPLETE: ${this.gapCount} gap${this.gapCount === 1 ? '' : 's'}, ${lost} packets lost; no alert in a gap does not mean nothing was sent:`,
        ...this.gaps,
      );
      if (this.gapCount > this.gaps.length) out.push(`  … and ${this.gapCount - this.gaps.length} more`);
    }
    const anomalies = Object.entries(stats.anomalies).filter(([, n]) => n > 0);
    if (anomalies.length > 0) out.push('', `Decoder notes: ${anomalies.map(([k, n]) => `${k} ${n}`).join(', ')}`);
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
