// Processes inside the network namespaces a live test creates: run a
// command to completion, start a server and wait until it says it is ready,
// stop a child by PID (SIGTERM, then SIGKILL), and wait for a condition.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';

/** Run `cmd args` inside namespace `ns`; its standard output. */
export function inNs(ns: string, cmd: string, args: string[], input?: string): string {
  return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], {
    encoding: 'utf8',
    input,
    timeout: 20_000,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/**
 * Start a server in namespace `ns`, added to `started` (for the test's
 * afterAll); resolves once `ready` shows on its output, or after 2 s.
 */
export function startInNs(
  started: ChildProcess[],
  ns: string,
  cmd: string,
  args: string[],
  ready?: RegExp,
): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  started.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(child), 2000);
    const check = (chunk: Buffer) => {
      if (ready?.test(chunk.toString())) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.on('error', reject);
  });
}

/** Stop a child by PID: `signal`, then SIGKILL after 3 s; resolves when it is gone. */
export function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill(signal);
  });
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
