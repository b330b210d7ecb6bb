// The `N passed, N failed` line CI reads: a failed hook (beforeAll that
// finds a client missing, afterAll that cannot clean up) skips tests rather
// than failing them, and must still show as a failure.

import { afterEach, describe, expect, it } from 'vitest';
import CountReporter from '../support/count-reporter.js';

type State = 'passed' | 'failed' | 'skipped';

/** A stand-in for vitest's TestSuite/TestModule: its state, its own errors, its tests and nested suites. */
function suite(state: State, tests: State[], errors = 0, suites: any[] = []): any {
  const own = tests.map((t) => ({ result: () => ({ state: t }) }));
  return {
    state: () => state,
    errors: () => Array.from({ length: errors }, () => ({ message: 'hook failed' })),
    children: {
      allTests: function* (): Generator<any> {
        yield* own;
        for (const s of suites) yield* s.children.allTests();
      },
      allSuites: function* (): Generator<any> {
        for (const s of suites) yield* [s, ...s.children.allSuites()];
      },
    },
  };
}

// The reporter sets the worker's exit code on failure; give it back after each case.
const saved = process.exitCode;
afterEach(() => {
  process.exitCode = saved;
});

function line(modules: any[]): { text: string; exitCode: typeof process.exitCode } {
  const write = process.stdout.write;
  let text = '';
  process.stdout.write = ((chunk: string) => {
    text += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    new CountReporter().onTestRunEnd(modules, []);
  } finally {
    process.stdout.write = write;
  }
  return { text: text.trim(), exitCode: process.exitCode };
}

describe('count reporter', () => {
  it('counts passed and failed tests', () => {
    expect(line([suite('failed', ['passed', 'failed', 'skipped'])])).toEqual({
      text: '1 passed, 1 failed',
      exitCode: 1,
    });
    expect(line([suite('passed', ['passed', 'passed'])]).text).toBe('2 passed, 0 failed');
  });

  it('counts a failed beforeAll of a describe as a failure, though its tests only show as skipped', () => {
    const describeBlock = suite('failed', ['skipped', 'skipped'], 1);
    const r = line([suite('failed', [], 0, [describeBlock]), suite('passed', ['passed'])]);
    expect(r).toEqual({ text: '1 passed, 1 failed', exitCode: 1 });
  });

  it('counts a failed file-level hook and a file that did not load', () => {
    expect(line([suite('failed', ['skipped', 'skipped'], 1)]).text).toBe('0 passed, 1 failed');
    expect(line([suite('failed', [])]).text).toBe('0 passed, 1 failed');
  });

  it('never reports a run without tests as green', () => {
    expect(line([])).toEqual({ text: '0 passed, 1 failed', exitCode: 1 });
  });
});
