// Processes inside the network namespaces a live test creates: run a
// command to completion, start a server and wait until it says it is ready,
// stop a child by PID (SIGTERM, then SIGKILL), and wait for a condition.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

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

export interface NamespacePair {
  /** The controller's namespace and its end of the veth. */
  ctl: string;
  ifCtl: string;
  /** The gateway's namespace and its end of the veth (the interface the agent captures). */
  gw: string;
  ifGw: string;
  /** Addresses on the link (/24), the controller's default route via `gateway`. */
  client: string;
  gateway: string;
  /** "Internet" hosts, on the gateway side's loopback (/32). */
  internet: string[];
}

/** Two namespaces joined by a veth pair: a controller routing everything to the gateway, which holds the "internet". */
export function makeNamespacePair(p: NamespacePair): void {
  if (process.getuid?.() !== 0)
    throw new Error('this test needs root: it creates network namespaces and captures on them');
  execFileSync('ip', ['netns', 'add', p.ctl]);
  execFileSync('ip', ['netns', 'add', p.gw]);
  execFileSync('ip', ['-n', p.ctl, 'link', 'add', p.ifCtl, 'type', 'veth', 'peer', 'name', p.ifGw, 'netns', p.gw]);
  for (const [ns, ifname, addr] of [
    [p.ctl, p.ifCtl, p.client],
    [p.gw, p.ifGw, p.gateway],
  ]) {
    execFileSync('ip', ['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', ifname]);
    execFileSync('ip', ['-n', ns, 'link', 'set', ifname, 'up']);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }
  for (const a of p.internet) execFileSync('ip', ['-n', p.gw, 'addr', 'add', `${a}/32`, 'dev', 'lo']);
  execFileSync('ip', ['-n', p.ctl, 'route', 'add', 'default', 'via', p.gateway]);
}

/** dnsmasq in `ns` on `listen`, answering each name with its address (TTL 300), nothing else. */
export function startDnsmasq(
  started: ChildProcess[],
  ns: string,
  dir: string,
  listen: string,
  answers: Record<string, string>,
): Promise<ChildProcess> {
  const conf = join(dir, 'dnsmasq.conf');
  const lines = ['no-resolv', 'no-hosts', 'bind-interfaces', `listen-address=${listen}`, 'local-ttl=300'];
  for (const [name, addr] of Object.entries(answers)) lines.push(`address=/${name}/${addr}`);
  writeFileSync(conf, `${lines.join('\n')}\n`);
  return startInNs(started, ns, 'dnsmasq', [
    '--keep-in-foreground',
    `--conf-file=${conf}`,
    '--user=root',
    `--pid-file=${join(dir, 'dnsmasq.pid')}`,
  ]);
}
