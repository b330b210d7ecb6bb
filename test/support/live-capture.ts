// Capture and oracle for the live tests: tcpdump on a namespace's loopback
// around the clients of one case, and tshark (the independent oracle) reading
// fields of the packets it captured.

import { type ChildProcess, spawnSync } from 'node:child_process';
import { expect } from 'vitest';
import { spawnInNs, stop } from './netns.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** tcpdump on the loopback of namespace `ns` into `file` around `clients`; fails if the kernel dropped packets. */
export async function captureLoopback(
  started: ChildProcess[],
  ns: string,
  file: string,
  clients: () => Promise<void>,
): Promise<string> {
  // --immediate-mode: deliver each packet at once, or the last ones are still in the kernel
  // buffer when we stop; -Z root: Debian's tcpdump otherwise drops to a user that cannot write here.
  const args = ['-n', '-U', '--immediate-mode', '-B', '16384', '-Z', 'root', '-i', 'lo', '-w', file, 'not arp'];
  const tcpdump = spawnInNs(started, ns, 'tcpdump', args);
  for (let i = 0; !/listening on/.test(tcpdump.output()); i++) {
    if (i === 100 || tcpdump.child.exitCode !== null) throw new Error(`tcpdump did not start: ${tcpdump.output()}`);
    await sleep(100);
  }
  try {
    await clients();
  } finally {
    await sleep(500); // let the last packets (a server's close) reach the file
    // tcpdump writes its statistics as it exits: time to do so on a busy machine, and for its
    // last stderr bytes to be read ('exit' can come before them).
    await stop(tcpdump.child, 'SIGINT', 15_000);
    for (let i = 0; i < 50 && !/packets dropped by kernel/.test(tcpdump.output()); i++) await sleep(100);
  }
  expect(tcpdump.output()).toMatch(/\b0 packets dropped by kernel/);
  return file;
}

/** tshark's fields for the packets matching `filter`, one row per packet (repeated fields joined by ','). */
export function tshark(file: string, filter: string, fields: string[]): string[][] {
  const args = ['-n', '-r', file, '-Y', filter, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,'];
  const r = spawnSync('tshark', [...args, ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`tshark (the oracle) failed: ${r.error?.message ?? r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

/** tshark's frame.time_epoch as egress writes timestamps (microseconds, UTC). */
export function epochToIso(epoch: string): string {
  const [s, frac = ''] = epoch.split('.');
  return `${new Date(Number(s) * 1000).toISOString().slice(0, 19)}.${frac.padEnd(6, '0').slice(0, 6)}Z`;
}
