// The tcpdump capture source without a network: its command line and BPF
// exclusions, what it reads from tcpdump's standard error (lines as tcpdump
// 4.99 prints them), and the supervisor driven by stand-in commands: a
// pcap stream on stdout, exits that back off, a process that ignores
// SIGTERM. The real tcpdump is exercised in test/live/capture.test.ts.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../agent/src/errors.js';
import { TcpdumpCapture } from '../../agent/src/live/tcpdump.js';
import { captureFilter, tcpdumpArgs } from '../../agent/src/live/tcpdump-args.js';
import { LineSplitter, parseStderrLine } from '../../agent/src/live/tcpdump-stderr.js';
import { Collector, readInChunks } from '../support/collect.js';
import { FIXTURES_DIR } from '../support/fixtures.js';

const LISTENING = 'tcpdump: listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes';

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('tcpdump command line', () => {
  it('writes a packet-buffered pcap stream to stdout, immediately, without name lookups', () => {
    expect(tcpdumpArgs({ interface: 'wlan0' })).toEqual(['-U', '-w', '-', '-n', '-i', 'wlan0', '--immediate-mode']);
  });

  it('adds the user, snaplen, buffer, no-promiscuous and filter only when asked', () => {
    expect(
      tcpdumpArgs({
        interface: 'eth0',
        immediate: false,
        snaplen: 65535,
        bufferKiB: 8192,
        promiscuous: false,
        user: 'tcpdump',
        filter: 'ip or ip6',
      }),
    ).toEqual(['-U', '-w', '-', '-n', '-i', 'eth0', '-s', '65535', '-B', '8192', '-p', '-Z', 'tcpdump', '(ip or ip6)']);
  });

  it('excludes an endpoint by address and port on the same side', () => {
    expect(captureFilter(undefined, [{ host: '127.0.0.1', port: 1883 }])).toBe(
      'not (tcp and ((src host 127.0.0.1 and src port 1883) or (dst host 127.0.0.1 and dst port 1883)))',
    );
    expect(
      captureFilter('not arp', [
        { host: '192.0.2.1', port: 8083 },
        { host: '2001:db8::1', port: 5353, proto: 'udp' },
      ]),
    ).toBe(
      '(not arp) and ' +
        'not (tcp and ((src host 192.0.2.1 and src port 8083) or (dst host 192.0.2.1 and dst port 8083))) and ' +
        'not (udp and ((src host 2001:db8::1 and src port 5353) or (dst host 2001:db8::1 and dst port 5353)))',
    );
    expect(captureFilter()).toBeNull();
    expect(captureFilter('  ')).toBeNull();
  });

  it('refuses what cannot be a safe filter or option, with the config code', () => {
    const bad: (() => unknown)[] = [
      () => captureFilter(undefined, [{ host: 'broker.local', port: 1883 }]),
      () => captureFilter(undefined, [{ host: '127.0.0.1) or (tcp', port: 1883 }]),
      () => captureFilter(undefined, [{ host: '127.0.0.1', port: 0 }]),
      () => captureFilter(undefined, [{ host: '127.0.0.1', port: 70_000 }]),
      () => captureFilter(undefined, [{ host: '127.0.0.1', port: 1883, proto: 'sctp' as 'tcp' }]),
      () => tcpdumpArgs({ interface: '' }),
      () => tcpdumpArgs({ interface: 'eth0 -w /etc/passwd' }),
      () => tcpdumpArgs({ interface: 'eth0', snaplen: -1 }),
      () => new TcpdumpCapture(new Collector(), { interface: 'eth0', command: [] }),
    ];
    for (const f of bad) expect(f).toThrow(expect.objectContaining({ code: ErrorCode.CAPTURE_CONFIG_INVALID }));
  });

  it('builds filters the real tcpdump compiles', () => {
    const filter = captureFilter('ip or ip6', [
      { host: '127.0.0.1', port: 1883 },
      { host: '::1', port: 8083 },
    ]) as string;
    // -d: compile and print the program; reading a capture file needs no privilege or interface.
    const r = spawnSync('tcpdump', ['-d', '-r', join(FIXTURES_DIR, 'udp/dns-dig/input.pcap'), filter], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('ret');
  });
});

describe('tcpdump standard error', () => {
  it('reads the listening line, SIGUSR1 statistics and exit statistics', () => {
    expect(parseStderrLine(LISTENING)).toEqual({ kind: 'listening', interface: 'eth0', linkType: 'EN10MB' });
    expect(
      parseStderrLine(
        'tcpdump: 4 packets captured, 8 packets received by filter, 2 packets dropped by kernel, 1 packet dropped by interface',
      ),
    ).toEqual({
      kind: 'stats',
      counters: { captured: 4, receivedByFilter: 8, droppedByKernel: 2, droppedByInterface: 1 },
    });
    expect(parseStderrLine('0 packets dropped by kernel')).toEqual({ kind: 'stats', counters: { droppedByKernel: 0 } });
    expect(parseStderrLine('1 packet captured')).toEqual({ kind: 'stats', counters: { captured: 1 } });
  });

  it('classifies failures by their message', () => {
    const code = (line: string) => {
      const f = parseStderrLine(line);
      return f?.kind === 'error' ? f.code : f?.kind;
    };
    expect(code('tcpdump: wlan9: No such device exists')).toBe(ErrorCode.CAPTURE_NO_INTERFACE);
    expect(code('tcpdump: veth0: That device is not up')).toBe(ErrorCode.CAPTURE_NO_INTERFACE);
    expect(code("tcpdump: lo: You don't have permission to perform this capture on that device")).toBe(
      ErrorCode.CAPTURE_PERMISSION,
    );
    expect(code("tcpdump: can't parse filter expression: syntax error")).toBe(ErrorCode.CAPTURE_CONFIG_INVALID);
    expect(code('tcpdump: illegal port number 99999 > 65535')).toBe(ErrorCode.CAPTURE_CONFIG_INVALID);
    expect(code('exec of "tcpdump" failed: No such file or directory')).toBe(ErrorCode.CAPTURE_TOOL_MISSING);
    expect(code('sudo: tcpdump: command not found')).toBe(ErrorCode.CAPTURE_TOOL_MISSING);
    expect(code('tcpdump: pcap_loop: something else')).toBeNull();
    expect(code('(socket: Operation not permitted)')).toBe('detail');
    expect(code("tcpdump: WARNING: any: That device doesn't support promiscuous mode")).toBe('warning');
    expect(parseStderrLine('   ')).toBeNull();
  });

  it('splits lines across chunks and bounds a line without end', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l), 16);
    s.push(Buffer.from('ab'));
    s.push(Buffer.from('c\nde'));
    s.push(Buffer.from(`f\n${'x'.repeat(100)}`));
    s.end();
    expect(lines).toEqual(['abc', 'def', 'x'.repeat(16)]);
  });
});

describe('tcpdump supervisor, with stand-in commands', () => {
  const pcap = join(FIXTURES_DIR, 'mixed/many-flows/input.pcap');

  it('parses the pcap stream on stdout into the sink', async () => {
    const sink = new Collector();
    // A stand-in that says it listens, writes a capture, then waits like tcpdump on a quiet link.
    const cap = new TcpdumpCapture(sink, {
      interface: 'eth0',
      command: ['sh', '-c', `echo '${LISTENING}' >&2; cat '${pcap}'; exec sleep 30`, 'sh'],
      statsIntervalMs: 0,
    });
    cap.start();
    const want = readInChunks(readFileSync(pcap)).packets;
    await waitFor('all packets', () => sink.packets.length === want.length);
    expect(sink.packets).toEqual(want);
    const h = cap.health();
    expect(h).toMatchObject({ state: 'running', running: true, packets: want.length, restarts: 0, linkType: 'EN10MB' });
    expect(h.bytes).toBe(want.reduce((n, p) => n + p.origLen, 0));
    expect(h.lastPacketAgeMs).toBeGreaterThanOrEqual(0);
    const pid = h.pid as number;
    await cap.stop();
    expect(alive(pid)).toBe(false);
    expect(cap.health().state).toBe('stopped');
  });

  it('backs off exponentially up to the ceiling between failed starts', async () => {
    const at: number[] = [];
    const delays: (number | null)[] = [];
    const cap: TcpdumpCapture = new TcpdumpCapture(new Collector(), {
      interface: 'eth0',
      command: ['sh', '-c', 'echo "tcpdump: eth0: No such device exists" >&2; exit 1', 'sh'],
      backoff: { initialMs: 40, maxMs: 160 },
      onError: () => {
        at.push(performance.now());
        delays.push(cap.health().nextRestartInMs);
      },
    });
    cap.start();
    await waitFor('six failures', () => at.length >= 6);
    await cap.stop();
    const gaps = at.slice(1).map((t, i) => t - at[i]);
    // Lower bounds only: each gap is at least the delay before the restart.
    [40, 80, 160, 160, 160].forEach((min, i) => {
      expect(gaps[i], `gap ${i}`).toBeGreaterThanOrEqual(min - 1);
    });
    // The time left before the restart, read in the error callback: the
    // doubling delay less the (small) time since it was scheduled.
    [40, 80, 160, 160, 160, 160].forEach((delay, i) => {
      expect(delays[i], `delay ${i}`).toBeLessThanOrEqual(delay);
      expect(delays[i], `delay ${i}`).toBeGreaterThan(delay * 0.75);
    });
    expect(cap.health()).toMatchObject({ consecutiveFailures: 6, error: { code: ErrorCode.CAPTURE_NO_INTERFACE } });
    expect(cap.health().restarts).toBeGreaterThanOrEqual(5);
  });

  it('restarts after the initial delay again once a tcpdump had captured stably', async () => {
    const delays: (number | null)[] = [];
    const cap: TcpdumpCapture = new TcpdumpCapture(new Collector(), {
      interface: 'eth0',
      // Listens, captures for 80 ms, then ends: stable by a 50 ms standard.
      command: ['sh', '-c', `echo '${LISTENING}' >&2; sleep 0.08`, 'sh'],
      backoff: { initialMs: 30, maxMs: 1000, stableMs: 50 },
      statsIntervalMs: 0,
      onError: () => delays.push(cap.health().nextRestartInMs),
    });
    cap.start();
    await waitFor('four ends', () => delays.length >= 4);
    await cap.stop();
    for (const [i, d] of delays.slice(0, 4).entries()) {
      expect(d, `delay ${i}`).toBeLessThanOrEqual(30); // never doubled: each start was stable
      expect(d, `delay ${i}`).toBeGreaterThan(22);
    }
    expect(cap.health().error?.code).toBe(ErrorCode.CAPTURE_EXITED);
  });

  it('kills with SIGKILL what ignores SIGTERM, and resolves once it is gone', async () => {
    const cap = new TcpdumpCapture(new Collector(), {
      interface: 'eth0',
      // An ignored signal stays ignored across exec: the sleep ignores SIGTERM.
      command: ['sh', '-c', `trap '' TERM; echo '${LISTENING}' >&2; exec sleep 30`, 'sh'],
      killTimeoutMs: 200,
      statsIntervalMs: 0,
    });
    cap.start();
    await waitFor('listening', () => cap.health().running);
    const pid = cap.health().pid as number;
    const t0 = performance.now();
    await cap.stop();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    expect(alive(pid)).toBe(false);
  });

  it('ticks with the wall clock while nothing arrives, and stops ticking when stopped', async () => {
    const ticks: number[] = [];
    const cap = new TcpdumpCapture(new Collector(), {
      interface: 'eth0',
      command: ['sh', '-c', `echo '${LISTENING}' >&2; exec sleep 30`, 'sh'],
      tickMs: 20,
      now: () => 1_767_225_600_000,
      onTick: (us) => ticks.push(us),
    });
    cap.start();
    await waitFor('three ticks', () => ticks.length >= 3);
    await cap.stop();
    const n = ticks.length;
    await new Promise((r) => setTimeout(r, 60));
    expect(ticks.length).toBe(n);
    expect(ticks[0]).toBe(1_767_225_600_000_000);
  });
});
