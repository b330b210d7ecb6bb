// Run a program to its end (or kill it by PID after a timeout) for the
// self-test's checks; injected into the checks so tests can run them anywhere.

import { execFile } from 'node:child_process';
import type { RunResult } from './types.js';

export function runCommand(cmd: string, args: string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: unknown }) | null;
      if (e && typeof e.code === 'string') {
        resolve({ code: null, stdout, stderr, error: e.code });
        return;
      }
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout, stderr });
    });
  });
}
