// Run the real `egress` binary (built dist) as a user would.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const EGRESS_BIN = `${ROOT}agent/dist/cli/bin.js`;

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function egress(args: string[], opts: { input?: Buffer; cwd?: string } = {}): Run {
  const r = spawnSync(process.execPath, [EGRESS_BIN, ...args], {
    input: opts.input,
    cwd: opts.cwd ?? ROOT,
    maxBuffer: 256 * 1024 * 1024,
    encoding: 'utf8',
    // A command that hangs fails its test instead of holding the whole run.
    timeout: 120_000,
    killSignal: 'SIGKILL',
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Parse NDJSON output into events. */
export function events(stdout: string): Record<string, any>[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
}
