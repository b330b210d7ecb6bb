// Live capture from a tcpdump child process (DESIGN.md "capture"): tcpdump
// holds CAP_NET_RAW and writes a pcap stream to its standard output; the
// agent runs unprivileged and parses that stream with a fresh CaptureReader
// per tcpdump process (each writes its own file header). tcpdump is
// supervised: restarted with exponential backoff when it exits or cannot
// start, asked for its drop counters with SIGUSR1 (tcpdump(1), "INFO" signal
// on Linux), and stopped with SIGTERM, then SIGKILL. Failures at run time
// are reported with stable codes through health() and onError, never thrown
// (only invalid options throw, from the constructor).

import { type ChildProcess, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { CaptureReader } from '../capture/reader.js';
import type { PacketSink } from '../capture/types.js';
import { EgressError, ErrorCode } from '../errors.js';
import { GapDetector } from './capture-gaps.js';
import { trackChild, untrackChild } from './children.js';
import { tcpdumpArgs } from './tcpdump-args.js';
import type { BackoffOptions, CaptureHealth, CaptureState, TcpdumpCaptureOptions } from './tcpdump-options.js';
import { LineSplitter, parseStderrLine, type TcpdumpCounters } from './tcpdump-stderr.js';

export type { CaptureExclusion } from './tcpdump-args.js';
export type { BackoffOptions, CaptureHealth, CaptureState, TcpdumpCaptureOptions } from './tcpdump-options.js';

const DEFAULT_BACKOFF = { initialMs: 500, maxMs: 30_000, stableMs: 10_000 };

/** One tcpdump process and what it said. */
interface Run {
  child: ChildProcess | null;
  reader: CaptureReader;
  stderr: LineSplitter;
  startedMs: number;
  listeningMs: number | null;
  counters: TcpdumpCounters;
  error: EgressError | null;
  gone: boolean;
  onGone: (() => void)[];
}

export class TcpdumpCapture {
  /** The full command line, for logs: command prefix and tcpdump arguments. */
  readonly argv: string[];
  private readonly o: TcpdumpCaptureOptions;
  private readonly backoff: Required<BackoffOptions>;
  private state: CaptureState = 'idle';
  private run: Run | null = null;
  private spawned = 0;
  private packets = 0;
  private bytes = 0;
  private lastPacketMs = -1;
  private consecutiveFailures = 0;
  private nextDelayMs: number;
  private restartAtMs = -1;
  private error: EgressError | null = null;
  private lastErrorLine: string | null = null;
  private linkType: string | null = null;
  /** Statistics of tcpdump processes that have ended. */
  private readonly past: TcpdumpCounters = {
    captured: 0,
    receivedByFilter: 0,
    droppedByKernel: 0,
    droppedByInterface: 0,
  };
  private restartTimer: NodeJS.Timeout | null = null;
  private statsTimer: NodeJS.Timeout | null = null;
  private tickTimer: NodeJS.Timeout | null = null;
  private stopped: Promise<void> | null = null;
  /** Drops and restarts as capture_gap events (capture-gaps.ts). */
  private readonly gaps: GapDetector;
  /** Counts each record, then hands it on (the view is valid only during the call). */
  private readonly counting: PacketSink = {
    packet: (buf, off, caplen, origLen, tsUs, linkType) => {
      this.packets++;
      this.bytes += origLen;
      this.sink.packet(buf, off, caplen, origLen, tsUs, linkType);
    },
  };

  constructor(
    private readonly sink: PacketSink,
    options: TcpdumpCaptureOptions,
  ) {
    this.o = options;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.nextDelayMs = this.backoff.initialMs;
    const command = options.command ?? ['tcpdump'];
    if (command.length === 0) throw new EgressError(ErrorCode.CAPTURE_CONFIG_INVALID, 'the tcpdump command is empty');
    this.argv = [...command, ...tcpdumpArgs(options)];
    const now = options.now ?? Date.now;
    this.gaps = new GapDetector(
      (g) => options.onGap?.(g),
      () => now() * 1000,
    );
  }

  /** Starts capturing (and the tick); returns at once. Failures show in health() and onError. */
  start(): void {
    if (this.state !== 'idle') throw new Error(`capture already ${this.state}`);
    const tick = this.o.tickMs ?? 1000;
    if (tick > 0 && this.o.onTick) {
      const now = this.o.now ?? Date.now;
      this.tickTimer = setInterval(() => this.o.onTick?.(now() * 1000), tick);
    }
    this.spawnTcpdump();
  }

  /** Ends tcpdump (SIGTERM, SIGKILL after killTimeoutMs) and every timer; resolves when the process is gone. */
  stop(): Promise<void> {
    this.stopped ??= this.shutDown();
    return this.stopped;
  }

  /** Asks the running tcpdump for its statistics now (SIGUSR1); false when none is listening. */
  requestStats(): boolean {
    const r = this.run;
    // Only once it is listening: tcpdump installs its SIGUSR1 handler before it says so, and the default action kills.
    if (!r?.child || r.gone || r.listeningMs === null) return false;
    return r.child.kill('SIGUSR1');
  }

  health(): CaptureHealth {
    const t = performance.now();
    const r = this.run;
    const cur = r && !r.gone ? r.counters : null;
    return {
      state: this.state,
      running: this.state === 'running',
      interface: this.o.interface,
      pid: r && !r.gone ? (r.child?.pid ?? null) : null,
      linkType: this.linkType,
      packets: this.packets,
      bytes: this.bytes,
      receivedByFilter: this.past.receivedByFilter + (cur?.receivedByFilter ?? 0),
      kernelDrops: this.past.droppedByKernel + (cur?.droppedByKernel ?? 0),
      interfaceDrops: this.past.droppedByInterface + (cur?.droppedByInterface ?? 0),
      restarts: Math.max(0, this.spawned - 1),
      consecutiveFailures: this.consecutiveFailures,
      lastPacketAgeMs: this.lastPacketMs < 0 ? null : Math.round(t - this.lastPacketMs),
      uptimeMs: cur && r?.listeningMs != null ? Math.round(t - r.listeningMs) : null,
      nextRestartInMs: this.state === 'backoff' ? Math.max(0, Math.round(this.restartAtMs - t)) : null,
      error: this.error ? { code: this.error.code, message: this.error.message } : null,
      lastErrorLine: this.lastErrorLine,
    };
  }

  private spawnTcpdump(): void {
    this.restartTimer = null;
    if (this.stopped) return;
    this.spawned++;
    this.state = 'starting';
    const run: Run = {
      child: null,
      reader: new CaptureReader(this.counting, this.o.anomalies, `tcpdump -i ${this.o.interface}`),
      stderr: new LineSplitter((line) => this.onStderr(run, line)),
      startedMs: performance.now(),
      listeningMs: null,
      counters: { captured: 0, receivedByFilter: 0, droppedByKernel: 0, droppedByInterface: 0 },
      error: null,
      gone: false,
      onGone: [],
    };
    this.run = run;
    let child: ChildProcess;
    try {
      child = spawn(this.argv[0], this.argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      run.error = spawnError(this.argv[0], err);
      this.processGone(run, null, null);
      return;
    }
    run.child = child;
    trackChild(child);
    child.stdout?.on('data', (chunk: Buffer) => this.onData(run, chunk));
    child.stderr?.on('data', (chunk: Buffer) => run.stderr.push(chunk));
    child.on('error', (err) => {
      if (child.pid === undefined) {
        // It never started, and emits no 'close' to rely on.
        run.error ??= spawnError(this.argv[0], err);
        this.processGone(run, null, null);
      } else {
        this.lastErrorLine = `cannot signal ${this.argv[0]} (pid ${child.pid}): ${err.message}`;
      }
    });
    child.on('close', (code, signal) => this.processGone(run, code, signal));
  }

  private onData(run: Run, chunk: Buffer): void {
    const before = this.packets;
    const reader = run.reader;
    const hadError = reader.error !== null;
    reader.push(chunk);
    if (this.packets !== before) this.lastPacketMs = performance.now();
    if (reader.error && !hadError) {
      // A corrupt stream cannot be resynchronised: start a new tcpdump with a new header.
      run.error ??= reader.error;
      run.child?.kill('SIGTERM');
    }
  }

  private onStderr(run: Run, line: string): void {
    const fact = parseStderrLine(line);
    if (fact === null) return;
    switch (fact.kind) {
      case 'listening':
        run.listeningMs = performance.now();
        this.linkType = fact.linkType;
        if (run.gone || this.stopped) return;
        this.state = 'running';
        this.error = null;
        this.consecutiveFailures = 0;
        this.startStatsTimer();
        this.gaps.listening();
        this.o.onListening?.({ pid: run.child?.pid ?? -1, interface: fact.interface, linkType: fact.linkType });
        return;
      case 'stats':
        if (!run.gone) this.gaps.stats(run.counters, fact.counters);
        Object.assign(run.counters, fact.counters);
        return;
      case 'detail':
        // tcpdump's second line, "(socket: Operation not permitted)": the cause of the line before.
        if (this.lastErrorLine !== null) this.lastErrorLine = `${this.lastErrorLine} ${fact.line}`;
        return;
      case 'warning':
        this.lastErrorLine = fact.line;
        return;
      case 'error':
        this.lastErrorLine = fact.line;
        run.error ??= new EgressError(fact.code ?? ErrorCode.CAPTURE_EXITED, fact.line, {
          interface: this.o.interface,
        });
        return;
    }
  }

  private processGone(run: Run, code: number | null, signal: NodeJS.Signals | null): void {
    if (run.gone) return;
    run.gone = true;
    run.stderr.end();
    if (run.child) untrackChild(run.child);
    this.stopStatsTimer();
    run.reader.end(); // a record cut by the process ending is expected; everything before it was delivered
    for (const k of Object.keys(this.past) as (keyof TcpdumpCounters)[]) this.past[k] += run.counters[k];
    for (const resolve of run.onGone) resolve();
    if (this.stopped) return;
    this.gaps.gone();
    const now = performance.now();
    const listened = run.listeningMs !== null;
    if (listened && now - (run.listeningMs as number) >= this.backoff.stableMs)
      this.nextDelayMs = this.backoff.initialMs;
    const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
    const err =
      run.error ??
      new EgressError(
        ErrorCode.CAPTURE_EXITED,
        `tcpdump ${how} after ${((now - run.startedMs) / 1000).toFixed(1)} s${listened ? '' : ' without capturing'}`,
        { interface: this.o.interface },
      );
    this.error = err;
    this.consecutiveFailures++;
    const delay = this.nextDelayMs;
    this.nextDelayMs = Math.min(this.nextDelayMs * 2, this.backoff.maxMs);
    this.state = 'backoff';
    this.restartAtMs = now + delay;
    this.restartTimer = setTimeout(() => this.spawnTcpdump(), delay);
    this.o.onError?.(err);
  }

  private startStatsTimer(): void {
    const every = this.o.statsIntervalMs ?? 5000;
    this.stopStatsTimer();
    if (every > 0) this.statsTimer = setInterval(() => this.requestStats(), every);
  }

  private stopStatsTimer(): void {
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.statsTimer = null;
  }

  private async shutDown(): Promise<void> {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.restartTimer = null;
    this.tickTimer = null;
    const run = this.run;
    if (run?.child && !run.gone) {
      this.state = 'stopping';
      const child = run.child;
      const gone = new Promise<void>((resolve) => run.onGone.push(resolve));
      child.kill('SIGTERM'); // tcpdump prints its final statistics and exits
      const killer = setTimeout(() => child.kill('SIGKILL'), this.o.killTimeoutMs ?? 2000);
      await gone;
      clearTimeout(killer);
    }
    this.stopStatsTimer();
    this.state = 'stopped';
  }
}

function spawnError(command: string, err: unknown): EgressError {
  const e = err as NodeJS.ErrnoException;
  const missing = e.code === 'ENOENT';
  return new EgressError(
    missing ? ErrorCode.CAPTURE_TOOL_MISSING : ErrorCode.CAPTURE_EXITED,
    missing ? `${command} not found` : `cannot start ${command}: ${e.code ?? ''} ${e.message}`.trim(),
    { command },
  );
}
