// Ends every test run with exactly one line `N passed, N failed`, the line
// CI reads. A run that executed no test, or that hit an unhandled error,
// counts as failed: silence must never look green.

import type { Reporter, SerializedError, TestModule } from 'vitest/node';

export default class CountReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): void {
    let passed = 0;
    let failed = 0;
    for (const mod of modules) {
      // An error outside any test (a file that failed to load, a failed beforeAll or afterAll)
      // is a failure: the tests it kept from running show as skipped, not failed.
      const hookErrors = [mod, ...mod.children.allSuites()].filter((s) => s.errors().length > 0).length;
      failed += hookErrors;
      // A file that failed with no tests and no error of its own is a failure too.
      if (hookErrors === 0 && mod.state() === 'failed' && [...mod.children.allTests()].length === 0) failed++;
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
      }
    }
    failed += unhandledErrors.length;
    if (passed + failed === 0) failed = 1;
    if (failed > 0) process.exitCode = 1;
    process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
  }
}
