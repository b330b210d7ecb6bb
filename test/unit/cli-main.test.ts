// The exit-status table of test/support/exit-cases.ts run in-process through
// main() (the commands that need no broker or capture child): the same
// statuses and codes as the built binary gives (test/cli/exit-codes.test.ts),
// where mutation testing can see them.

import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../agent/src/cli/main.js';
import { CASES, closeExitFixtures, codesIn, makeExitFixtures } from '../support/exit-cases.js';

beforeAll(makeExitFixtures);
afterAll(closeExitFixtures);

describe('exit status and error code through main()', () => {
  const inProcess = CASES.filter((c) => c.args()[0] !== 'replay' && c.args()[0] !== 'run' && c.args()[0] !== 'tail');
  it.each(inProcess)('$what: exit $exit, $code', async (c) => {
    const out = new PassThrough();
    const err = new PassThrough();
    let stderr = '';
    err.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    let stdout = '';
    out.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    const args = c.args();
    const code = await main(args, {
      stdin: new PassThrough(),
      stdout: out as unknown as NodeJS.WriteStream,
      stderr: err as unknown as NodeJS.WriteStream,
    });
    expect(code, stderr).toBe(c.exit);
    if (args.length === 0) expect(stdout).toBe('');
    expect(codesIn(stderr)).toEqual(c.code === null ? [] : [c.code]);
  });
});
