// Preloaded (`node --import`) into an `egress` started by a test while
// Stryker runs: the child runs agent/src (Stryker's instrumented sources,
// compiled by hooks.mjs) instead of the built dist, so a mutant is active
// there too (the instrumented code reads __STRYKER_ACTIVE_MUTANT__ from the
// environment), and at exit the mutants it reached are written where the
// test process reads them (test/support/mutation/parent.ts) and counts them
// as the running test's coverage.

import { writeFileSync } from 'node:fs';
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);

const out = process.env.EGRESS_MUTATION_COVERAGE;
if (out) {
  process.on('exit', () => {
    const coverage = globalThis.__stryker__?.mutantCoverage;
    try {
      if (coverage) writeFileSync(`${out}.${process.pid}.json`, JSON.stringify(coverage));
    } catch {
      // A child running as another user may not write there: its coverage is lost, its exit status is not.
    }
  });
}
