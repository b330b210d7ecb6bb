// main() in this process with captured stdout and stderr: how the unit tests
// drive a command so that mutation testing sees cli/ at work (test/cli/ runs
// the built binary on the same inputs, as a user does).

import { PassThrough, Readable } from 'node:stream';
import { main } from '../../agent/src/cli/main.js';

export interface InProcessRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** main(args) with captured output; `stdin` is what it reads, `tty` makes stdout look like a terminal. */
export async function egressIn(args: string[], o: { stdin?: Buffer; tty?: boolean } = {}): Promise<InProcessRun> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (b: Buffer) => {
    stdout += b.toString();
  });
  err.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  if (o.tty) Object.assign(out, { isTTY: true });
  const code = await main(args, {
    stdin: Readable.from(o.stdin ? [o.stdin] : []) as unknown as NodeJS.ReadStream,
    stdout: out as unknown as NodeJS.WriteStream,
    stderr: err as unknown as NodeJS.WriteStream,
  });
  return { code, stdout, stderr };
}
