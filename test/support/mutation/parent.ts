// How a test starts `egress` so that mutation testing sees what the child
// does. Normally: the built binary (agent/dist/cli/bin.js), as a user runs
// it. Under Stryker (vitest.mutation.config.ts sets EGRESS_MUTATION=1): the
// sources through child.mjs, with the active mutant in the child's
// environment, and the mutants the child reached added to the running
// test's coverage when it ends — so tests that drive the real command line
// (test/cli/, test/live/) count for the code they reach, instead of every
// mutant in cli/ and live/ showing as "no coverage".

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** Stryker's global namespace in this test process (its instrumented code and vitest setup use it). */
interface StrykerNamespace {
  activeMutant?: string;
  currentTestId?: string;
  mutantCoverage?: { static: Record<string, number>; perTest: Record<string, Record<string, number>> };
}

export const UNDER_MUTATION = process.env.EGRESS_MUTATION === '1';

function stryker(): StrykerNamespace | undefined {
  return (globalThis as { __stryker__?: StrykerNamespace }).__stryker__;
}

let covDir: string | null = null;
let spawned = 0;

export interface EgressChild {
  /** Arguments for process.execPath before egress's own. */
  argv: string[];
  env: NodeJS.ProcessEnv;
  /** Call when the child has exited: its coverage joins the running test's. */
  done(): void;
}

/** How to start `egress` (the built binary, or the mutated sources under Stryker). */
export function egressChild(bin: string, env: NodeJS.ProcessEnv = process.env): EgressChild {
  const ns = stryker();
  if (!UNDER_MUTATION || ns === undefined) return { argv: [bin], env, done: () => {} };
  covDir ??= mkdtempSync(join(tmpdir(), 'egress-mutation-cov-'));
  const prefix = join(covDir, `c${process.pid}-${++spawned}`);
  const childEnv: NodeJS.ProcessEnv = { ...env, EGRESS_MUTATION_COVERAGE: prefix };
  if (ns.activeMutant !== undefined) childEnv.__STRYKER_ACTIVE_MUTANT__ = String(ns.activeMutant);
  else delete childEnv.__STRYKER_ACTIVE_MUTANT__;
  const testId = ns.currentTestId;
  return {
    argv: ['--import', join(ROOT, 'test/support/mutation/child.mjs'), join(ROOT, 'agent/src/cli/bin.ts')],
    env: childEnv,
    done: () => mergeCoverage(ns, prefix, testId),
  };
}

/**
 * The child's counts, under the test that started it. A child started
 * outside a test (while a file's tests are collected) is not counted: its
 * mutants would otherwise be "static" and Stryker would leave them out of
 * the score instead of reporting them as not covered.
 */
function mergeCoverage(ns: StrykerNamespace, prefix: string, testId: string | undefined): void {
  const dir = covDir as string;
  const base = prefix.slice(dir.length + 1);
  for (const f of readdirSync(dir)) {
    if (!f.startsWith(`${base}.`)) continue;
    const path = join(dir, f);
    const child = JSON.parse(readFileSync(path, 'utf8')) as NonNullable<StrykerNamespace['mutantCoverage']>;
    rmSync(path, { force: true });
    if (testId === undefined) continue;
    ns.mutantCoverage ??= { static: {}, perTest: {} };
    ns.mutantCoverage.perTest[testId] ??= {};
    const into = ns.mutantCoverage.perTest[testId];
    for (const counts of [child.static, ...Object.values(child.perTest)]) {
      for (const [id, n] of Object.entries(counts)) into[id] = (into[id] ?? 0) + n;
    }
  }
}
