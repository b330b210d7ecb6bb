// What the live capture source takes and reports: its options and the
// plain health snapshot published in status messages.

import type { CaptureGap } from '../capture/types.js';
import type { Anomalies } from '../decode/anomaly.js';
import type { EgressError } from '../errors.js';
import type { TcpdumpArgOptions } from './tcpdump-args.js';

export type CaptureState = 'idle' | 'starting' | 'running' | 'backoff' | 'stopping' | 'stopped';

/** A plain, JSON-ready snapshot of the capture's health. Counters are cumulative over every tcpdump process. */
export interface CaptureHealth {
  state: CaptureState;
  /** A tcpdump process has opened the interface and is capturing. */
  running: boolean;
  interface: string;
  pid: number | null;
  /** Link type name from tcpdump's "listening on" line (EN10MB, LINUX_SLL2, …). */
  linkType: string | null;
  /** Packets delivered to the sink, and their bytes on the wire (original length). */
  packets: number;
  bytes: number;
  /** From tcpdump's statistics (pcap_stats): as of its last SIGUSR1 report or its exit. */
  receivedByFilter: number;
  kernelDrops: number;
  interfaceDrops: number;
  /** tcpdump processes started after the first one. */
  restarts: number;
  /** tcpdump processes in a row that failed before or while capturing; 0 while capturing. */
  consecutiveFailures: number;
  /** Since the last packet was delivered; null before the first. */
  lastPacketAgeMs: number | null;
  /** Since the current tcpdump started listening; null when none is. */
  uptimeMs: number | null;
  /** When a restart is due (state 'backoff'). */
  nextRestartInMs: number | null;
  /** Why capture is not running, or failed last; cleared once a tcpdump is listening again. */
  error: { code: string; message: string } | null;
  /** The last line tcpdump printed that was not routine (an error or warning), kept across restarts. */
  lastErrorLine: string | null;
}

export interface BackoffOptions {
  /** First restart delay (default 500 ms); doubles after each failure. */
  initialMs?: number;
  /** Ceiling of the delay (default 30 s). */
  maxMs?: number;
  /** A tcpdump that captured this long before it ended restarts after initialMs again (default 10 s). */
  stableMs?: number;
}

export interface TcpdumpCaptureOptions extends TcpdumpArgOptions {
  /**
   * The command that runs tcpdump, before tcpdump's own arguments. Default
   * ['tcpdump']; a path (['/usr/sbin/tcpdump']) or a prefix
   * (['ip', 'netns', 'exec', NS, 'tcpdump']). The prefix must exec tcpdump
   * (or relay signals, as sudo does): signals go to the spawned PID.
   */
  command?: string[];
  /** Counters for malformed records in the stream (share the pipeline's). */
  anomalies?: Anomalies;
  backoff?: BackoffOptions;
  /** How often to ask tcpdump for its statistics with SIGUSR1 (default 5 s; 0: only at exit). */
  statsIntervalMs?: number;
  /** Period of onTick (default 1 s; 0: no tick). */
  tickMs?: number;
  /** Time between SIGTERM and SIGKILL in stop() (default 2 s). */
  killTimeoutMs?: number;
  /** Wall clock in ms for onTick (default Date.now). */
  now?: () => number;
  /** Every tickMs, with the wall clock in µs: expire idle flows even when no packet arrives. */
  onTick?: (nowUs: number) => void;
  /** Each failure: tcpdump could not start, or ended while it should be capturing. */
  onError?: (err: EgressError) => void;
  /** The capture was blind for a while: kernel or interface drops in tcpdump's statistics, or a restart. */
  onGap?: (gap: CaptureGap) => void;
  /** A tcpdump process opened the interface. */
  onListening?: (info: { pid: number; interface: string; linkType: string }) => void;
}
