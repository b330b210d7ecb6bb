// The vitest configuration Stryker runs (stryker.config.mjs). Tests that
// start `egress` through test/support/cli.ts's egress() run its sources with
// the active mutant and count the child's coverage (test/support/mutation/,
// EGRESS_MUTATION=1 below). Without MUTATION_TESTS the folders of such tests
// (test/cli/, test/live/ and the MQTT tests that start agents) are left out:
// the live/namespace ones take minutes per mutant; name them in
// MUTATION_TESTS to include them.
import { defineConfig } from 'vitest/config';

// MUTATION_TESTS="test/unit/flow.test.ts,test/unit/flow-*.test.ts" narrows the run to those
// test files: a mutant they kill the full set kills too, so the score is a lower bound, and a
// folder whose code every pipeline test reaches (flow/) runs in minutes instead of hours.
const only = process.env.MUTATION_TESTS?.split(',').filter(Boolean);

export default defineConfig({
  test: {
    include: only?.length ? only : ['test/**/*.test.ts'],
    exclude: only?.length
      ? ['test/static.test.ts']
      : [
          'test/live/**',
          // test/unit/cli-main.test.ts runs the exit-status table of test/cli/exit-codes.test.ts in-process.
          'test/cli/**',
          'test/mqtt/listeners.test.ts',
          'test/mqtt/delivery.test.ts',
          'test/mqtt/external-broker.test.ts',
          'test/mqtt/telemetry.test.ts',
          'test/mqtt/commands.test.ts',
          // Biome reads the source tree: no mutant is killed by it.
          'test/static.test.ts',
        ],
    // The fuzz tests run 120,000 inputs in CI; here each mutant reruns them, so 3,000 (same seed).
    env: { FUZZ_ITERATIONS: process.env.FUZZ_ITERATIONS ?? '3000', EGRESS_MUTATION: '1' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
