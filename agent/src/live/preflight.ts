// The preflight the live agent runs on every start (issue 11): the checks of
// `egress selftest` that still mean something while the agent runs (clock,
// geo data, disk, evidence key), with capture and broker judged from the
// running agent itself: its tcpdump listening on the interface, its own
// broker connection. A second tcpdump or a probe of the port the agent
// already holds would measure the wrong thing. The worst result drives the
// green light (hardware/src/signals/machine.ts).

import type { PreflightCheckInfo } from '../mqtt/codec-control.js';
import { evidenceKeyCheck } from '../selftest/evidence.js';
import { FIXES, fix } from '../selftest/fixes.js';
import { runCommand } from '../selftest/run-command.js';
import { seen } from '../selftest/seen.js';
import { checkClock, checkDisk, checkGeo } from '../selftest/system.js';
import { type CheckResult, result, type SelftestReport, worstOf } from '../selftest/types.js';

export interface LivePreflightProbe {
  gateway: string;
  dataDir: string;
  geoDb?: string;
  /** The live capture's health; null when the agent is not capturing an interface (replay). */
  capture: () => { running: boolean; interface: string; packets: number; error: { message: string } | null } | null;
  brokerConnected: () => boolean;
  /** The GPIO driver in use (already opened). */
  gpio: string;
  /** How long capture and broker may take to come up (default 10 s). */
  waitMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** The agent is stopping: stop waiting for capture and broker. */
  cancelled?: () => boolean;
}

const POLL_MS = 100;

export async function livePreflight(p: LivePreflightProbe): Promise<SelftestReport> {
  const now = p.now ?? Date.now;
  const sleep = p.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = now() + (p.waitMs ?? 10_000);
  const ready = () => p.brokerConnected() && (p.capture()?.running ?? true);
  while (now() < deadline && !ready() && !p.cancelled?.()) await sleep(POLL_MS);
  const checks: CheckResult[] = [captureCheck(p), brokerCheck(p.brokerConnected())];
  checks.push(await checkClock(runCommand));
  checks.push(checkGeo(p.dataDir, p.geoDb, now));
  checks.push(checkDisk(p.dataDir));
  checks.push(evidenceKeyCheck(p.dataDir));
  checks.push(result('gpio', 'pass', `GPIO driver ${p.gpio} is driving the lights`, null, { driver: p.gpio }));
  return { gateway: p.gateway, at: new Date(now()).toISOString(), worst: worstOf(checks), checks };
}

function captureCheck(p: LivePreflightProbe): CheckResult {
  const h = p.capture();
  if (h === null) return result('capture', 'skip', 'no live capture (replaying a file)');
  if (h.running)
    return result('capture', 'pass', `tcpdump is capturing on ${h.interface}`, null, {
      interface: h.interface,
      packets: h.packets,
    });
  return result(
    'capture',
    'fail',
    h.error ? h.error.message : seen('capture_not_yet', { interface: h.interface }),
    fix('capture_not_running', { interface: h.interface }),
    { interface: h.interface },
  );
}

function brokerCheck(connected: boolean): CheckResult {
  return connected
    ? result('broker', 'pass', 'connected to the broker')
    : result('broker', 'warn', seen('broker_not_connected', {}), fix('broker_not_connected', {}));
}

/** The checks that warned or failed, one line each, for the status and the banner. */
export function preflightProblems(r: SelftestReport): string[] {
  return r.checks
    .filter((c) => c.status === 'warn' || c.status === 'fail')
    .map((c) => `${c.id}: ${c.summary}${c.fix ? ` (fix: ${c.fix})` : ''}`);
}

/** The same checks as ids and facts, for a page that says them in its own language (status field 35). */
export function preflightChecks(r: SelftestReport): PreflightCheckInfo[] {
  return r.checks
    .filter((c) => c.status === 'warn' || c.status === 'fail')
    .map((c) => {
      const fixFacts: Record<string, string> = {};
      if (c.fix_id !== null)
        for (const name of FIXES[c.fix_id].facts) {
          const v = c.facts[name];
          if (v !== undefined && v !== null) fixFacts[name] = String(v);
        }
      const said =
        c.summary_id === undefined
          ? {}
          : {
              summaryId: c.summary_id,
              summaryFacts: Object.fromEntries(Object.entries(c.summary_facts ?? {}).map(([k, v]) => [k, String(v)])),
            };
      return {
        id: c.id,
        status: c.status,
        summary: c.summary,
        fix: c.fix ?? '',
        fixId: c.fix_id ?? '',
        fixFacts,
        ...said,
      };
    });
}
