// The preflight self-test (`egress selftest`, and the agent on every start):
// a list of checks, each pass/warn/fail (or skip: not applicable in this
// build or configuration) with one line saying what it saw and one saying
// what to do. The JSON form of a SelftestReport is what the dashboard shows.

import type { Fix, FixId } from './fixes.js';
import type { Seen, SeenId } from './seen.js';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export type CheckResult = {
  /** Stable id: interface, tcpdump, capture, clock, geo, disk, broker, evidence_key, gpio. */
  id: string;
  status: CheckStatus;
  /** What was seen, one line (English). */
  summary: string;
  /** The stable id of that line and its facts (seen.ts); absent when the line is a program's own message. */
  summary_id?: SeenId;
  summary_facts?: Readonly<Record<string, string | number>>;
  /** The measured facts (bytes free, age in days, ms to first packet…), the fix's own among them. */
  facts: Record<string, unknown>;
} & (
  | {
      /** What to do about it, one line (English). */
      fix: string;
      /** The stable id of that line (fixes.ts): a fix never comes without it. */
      fix_id: FixId;
    }
  | { fix: null; fix_id: null }
);

export interface SelftestReport {
  gateway: string;
  /** ISO 8601 UTC. */
  at: string;
  worst: CheckStatus;
  checks: CheckResult[];
}

/** Worse first: fail > warn > pass > skip. */
const RANK: Record<CheckStatus, number> = { skip: 0, pass: 1, warn: 2, fail: 3 };

export function worstOf(checks: readonly CheckResult[]): CheckStatus {
  let worst: CheckStatus = 'pass';
  for (const c of checks) if (RANK[c.status] > RANK[worst]) worst = c.status;
  return worst;
}

/** Exit status of `egress selftest` (docs/errors.md): 0 pass, 4 warnings only, 1 a check failed. */
export const SelftestExit = { PASS: 0, WARN: 4, FAIL: 1 } as const;

export function exitStatusOf(worst: CheckStatus): number {
  if (worst === 'fail') return SelftestExit.FAIL;
  if (worst === 'warn') return SelftestExit.WARN;
  return SelftestExit.PASS;
}

/**
 * A check's result; a fix comes from the catalogue (fixes.ts `fix`), so it
 * always has its id and facts; so does a summary made with seen.ts `seen`.
 */
export function result(
  id: string,
  status: CheckStatus,
  summary: string | Seen,
  fix: Fix | null = null,
  facts: Record<string, unknown> = {},
): CheckResult {
  const said =
    typeof summary === 'string'
      ? { summary }
      : { summary: summary.text, summary_id: summary.id, summary_facts: summary.facts };
  if (fix === null) return { id, status, ...said, fix: null, fix_id: null, facts };
  return { id, status, ...said, fix: fix.text, fix_id: fix.id, facts: { ...facts, ...fix.facts } };
}

/** Outcome of running a program: exit code (null: killed or not started), output, and spawn error code. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** ENOENT when the program does not exist. */
  error?: string;
}

export type Runner = (cmd: string, args: string[], timeoutMs: number) => Promise<RunResult>;
