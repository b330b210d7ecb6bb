// Run the real `egress` binary (built dist) as a user would (under mutation
// testing: its sources with the active mutant, test/support/mutation/).

import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { egressChild } from './mutation/parent.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const EGRESS_BIN = `${ROOT}agent/dist/cli/bin.js`;

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function egress(args: string[], opts: { input?: Buffer; cwd?: string } = {}): Run {
  const child = egressChild(EGRESS_BIN);
  const r = spawnSync(process.execPath, [...child.argv, ...args], {
    env: child.env,
    input: opts.input,
    cwd: opts.cwd ?? ROOT,
    maxBuffer: 256 * 1024 * 1024,
    encoding: 'utf8',
    // A command that hangs fails its test instead of holding the whole run.
    timeout: 120_000,
    killSignal: 'SIGKILL',
  });
  child.done();
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Start `egress` in the background (`run`, `replay`, `tail`): the built binary, or its mutated sources under Stryker. */
export function spawnEgress(args: string[], opts: SpawnOptions = {}): ChildProcess {
  const child = egressChild(EGRESS_BIN, opts.env ?? process.env);
  const p = spawn(process.execPath, [...child.argv, ...args], { ...opts, env: child.env });
  p.once('exit', () => child.done());
  return p;
}

/** Parse NDJSON output into events. */
export function events(stdout: string): Record<string, any>[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
}
