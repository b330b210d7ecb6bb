// Run every preflight check in order and gather the report. The checks are
// independent; they run one after another so their figures (time to first
// packet, broker connect time) are not skewed by each other on a small Pi.

import { hostname } from 'node:os';
import type { DriverKind, GpioPins } from '@egress/hardware';
import { type BrokerTarget, checkBroker } from './broker.js';
import { checkCapture, checkInterface, checkTcpdump } from './capture.js';
import { type EvidenceKeyProbe, evidenceKeyCheck } from './evidence.js';
import { checkGpio } from './gpio.js';
import { runCommand } from './run-command.js';
import { checkClock, checkDisk, checkGeo } from './system.js';
import { type CheckResult, type Runner, type SelftestReport, worstOf } from './types.js';

export interface SelftestOptions {
  gateway?: string;
  interface?: string;
  tcpdump: string;
  /** How long to wait for the first packet. */
  packetWaitMs: number;
  dataDir: string;
  geoDb?: string;
  broker: BrokerTarget;
  gpio?: DriverKind;
  pins: GpioPins;
  evidenceKey?: EvidenceKeyProbe;
  run?: Runner;
  now?: () => number;
}

export async function runSelftest(o: SelftestOptions): Promise<SelftestReport> {
  const run = o.run ?? runCommand;
  const now = o.now ?? Date.now;
  const checks: CheckResult[] = [];
  checks.push(await checkInterface(run, o.interface));
  checks.push(await checkTcpdump(run, o.tcpdump));
  checks.push(await checkCapture(o.tcpdump, o.interface, o.packetWaitMs, now));
  checks.push(await checkClock(run));
  checks.push(checkGeo(o.dataDir, o.geoDb, now));
  checks.push(checkDisk(o.dataDir));
  checks.push(await checkBroker(o.broker));
  checks.push((o.evidenceKey ?? evidenceKeyCheck)(o.dataDir));
  checks.push(await checkGpio(o.gpio, o.pins));
  return {
    gateway: o.gateway ?? hostname().split('.')[0],
    at: new Date(now()).toISOString(),
    worst: worstOf(checks),
    checks,
  };
}

/** The text form: one line per check, the status in words (never colour alone), the fix under it. */
export function formatReport(r: SelftestReport): string {
  const lines = [`egress selftest on ${r.gateway} at ${r.at}`];
  const width = Math.max(...r.checks.map((c) => c.id.length));
  for (const c of r.checks) {
    lines.push(`${c.status.toUpperCase().padEnd(4)}  ${c.id.padEnd(width)}  ${c.summary}`);
    if (c.fix !== null && c.status !== 'pass') lines.push(`${' '.repeat(width + 8)}fix: ${c.fix}`);
  }
  lines.push(`result: ${r.worst.toUpperCase()}`);
  return `${lines.join('\n')}\n`;
}
