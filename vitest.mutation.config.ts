// The vitest configuration Stryker runs (stryker.config.mjs): the in-process
// tests only. Tests that spawn the built `egress` (test/cli/, test/live/ and
// the MQTT tests that start agents) cannot kill a mutant — the child process
// runs the unmutated dist/ — and the live/namespace ones take minutes, so
// they are left out here; they still run in `scripts/test`.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [
      'test/live/**',
      // test/cli/exit-codes.test.ts stays: it runs the same table in-process through main().
      'test/cli/fixtures.test.ts',
      'test/cli/live-cli.test.ts',
      'test/cli/names.test.ts',
      'test/cli/pcap-parser.test.ts',
      'test/cli/scan.test.ts',
      'test/mqtt/listeners.test.ts',
      'test/mqtt/delivery.test.ts',
      'test/mqtt/external-broker.test.ts',
      'test/mqtt/telemetry.test.ts',
      'test/mqtt/commands.test.ts',
      // Biome and the generated-code check read the source tree: no mutant is killed by them.
      'test/static.test.ts',
      'test/unit/proto.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
