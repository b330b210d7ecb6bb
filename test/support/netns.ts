// Processes inside the network namespaces a live test creates: run a
// command to completion, start a server and wait until it says it is ready
// or listens, run a client to its end, stop a child by PID (SIGTERM, then
// SIGKILL), wait for a condition, and delete a namespace with what was left
// running in it.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
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
  const { child } = spawnInNs(started, ns, cmd, args, 'pipe');
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

/**
 * Start `cmd args` in namespace `ns`, added to `started` (for the test's
 * afterAll), at once; its standard output and error are kept for error messages.
 */
export function spawnInNs(
  started: ChildProcess[],
  ns: string,
  cmd: string,
  args: string[],
  stdin: 'ignore' | 'pipe' = 'ignore',
): { child: ChildProcess; output: () => string } {
  const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: [stdin, 'pipe', 'pipe'] });
  started.push(child);
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c));
  child.stderr?.on('data', (c: Buffer) => (out += c));
  return { child, output: () => out };
}

/** Run a client in namespace `ns` to its end (killed by PID after `ms`); its exit code and output. */
export function runInNs(
  started: ChildProcess[],
  ns: string,
  cmd: string,
  args: string[],
  ms: number,
  env: Record<string, string> = {},
): Promise<{ code: number | null; output: string }> {
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const { child, output } = spawnInNs(started, ns, 'env', [...envArgs, cmd, ...args]);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output: output() });
    });
  });
}

/** Resolves once something in namespace `ns` listens on `addr:port` (ss), within 10 s. */
export async function waitListen(ns: string, proto: 'tcp' | 'udp', addr: string, port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (inNs(ns, 'ss', [proto === 'tcp' ? '-Hltn' : '-Hlun', `sport = :${port} and src ${addr}`]).trim()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${proto} ${addr}:${port} in ${ns}`);
}

/**
 * Delete namespace `ns`: kill by PID what is still running in it (a client
 * left behind; it started there, so it is the test's), remove its
 * /etc/netns/NS files (and /etc/netns when nothing else is in it).
 */
export function deleteNamespace(ns: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 20_000 });
    for (const pid of pids.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    execFileSync('ip', ['netns', 'del', ns], { timeout: 20_000 });
  } catch {
    // already gone
  }
  rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
  try {
    rmdirSync('/etc/netns');
  } catch {
    // not empty, or gone
  }
}

/**
 * What `egress run --tcpdump` runs to capture inside namespace `ns`: tcpdump
 * itself, in that namespace (exec keeps one PID all the way, so the agent's
 * SIGTERM reaches it). Written into `dir`; its path.
 */
export function tcpdumpIn(dir: string, ns: string): string {
  const path = join(dir, `tcpdump-${ns}`);
  writeFileSync(path, `#!/bin/sh\nexec ip netns exec ${ns} tcpdump "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

/** Stop a child by PID: `signal`, then SIGKILL after `graceMs` (3 s); resolves when it is gone. */
export function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
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
