// Mutation testing (StrykerJS): `scripts/mutation [folder…]` runs it; see
// README ("Mutation testing"). Per-test coverage, so a mutant runs only the
// tests that reach it; incremental, so a rerun tests only mutants whose code
// or tests changed (the incremental file is kept in reports/, not committed:
// it is per machine and large).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'pnpm',
  // pnpm does not hoist the plugins where Stryker's discovery looks: name them.
  plugins: ['@stryker-mutator/vitest-runner', '@stryker-mutator/typescript-checker'],
  testRunner: 'vitest',
  // `related` runs only the test files that import the mutated code; tests that start `egress`
  // reach it through a child process (test/support/mutation/), so with MUTATION_TESTS naming
  // the test files, all of them run.
  vitest: { configFile: 'vitest.mutation.config.ts', related: !process.env.MUTATION_TESTS },
  checkers: ['typescript'],
  tsconfigFile: 'agent/tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  coverageAnalysis: 'perTest',
  // Static mutants (module-level initialisers: tables, constants) would rerun every test of the folder for
  // each one, ~90 % of the run time; they are listed as Ignored in the HTML report and left out of the score.
  ignoreStatic: true,
  mutate: ['agent/src/**/*.ts'],
  disableTypeChecks: 'agent/src/**/*.ts',
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  concurrency: 1,
  timeoutMS: 10_000,
  // The initial run of tests that start egress (test/cli/) takes minutes on a loaded machine; Stryker's default is 5.
  dryRunTimeoutMinutes: 30,
  reporters: ['html', 'json', 'clear-text', 'progress'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  // agent/dist stays: tests that spawn a helper process import the built (unmutated) code.
  // hardware/ stays: the root tsconfig references it (vitest's transform fails without it) and tests import it.
  ignorePatterns: ['dashboard', '.bench', 'tmp', 'reports'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
