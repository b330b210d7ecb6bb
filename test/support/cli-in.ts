// main() in this process with captured stdout and stderr: how the unit tests
// drive a command so that mutation testing sees cli/ at work (test/cli/ runs
// the built binary on the same inputs, as a user does).

import { PassThrough, Readable } from 'node:stream';
import type { CliIo } from '../../agent/src/cli/io.js';
import { main } from '../../agent/src/cli/main.js';

export interface InProcessRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A CliIo whose stdout and stderr are kept as text; `tty` makes stdout look like a terminal. */
export function capturedIo(o: { stdin?: Buffer; tty?: boolean } = {}): {
  io: CliIo;
  stdout(): string;
  stderr(): string;
} {
  let stdout = '';
  let stderr = '';
  const out = new PassThrough().on('data', (b: Buffer) => {
    stdout += b.toString();
  });
  const err = new PassThrough().on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  if (o.tty) Object.assign(out, { isTTY: true });
  return {
    io: {
      stdin: Readable.from(o.stdin ? [o.stdin] : []) as unknown as NodeJS.ReadStream,
      stdout: out as unknown as NodeJS.WriteStream,
      stderr: err as unknown as NodeJS.WriteStream,
    },
    stdout: () => stdout,
    stderr: () => stderr,
  };
}

/** main(args) with captured output; `stdin` is what it reads, `tty` makes stdout look like a terminal. */
export async function egressIn(args: string[], o: { stdin?: Buffer; tty?: boolean } = {}): Promise<InProcessRun> {
  const c = capturedIo(o);
  const code = await main(args, c.io);
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}
