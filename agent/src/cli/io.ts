// The streams a command talks to, injected so tests can run commands in-process.

import type { Readable } from 'node:stream';

export interface CliIo {
  stdin: Readable;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}
