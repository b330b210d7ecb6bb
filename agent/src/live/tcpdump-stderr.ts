// What tcpdump 4.99 (libpcap 1.10) says on standard error, turned into facts:
// the "listening on" line once the device is open, the statistics it
// prints on SIGUSR1 (one line) and on exit (one line per counter), and
// failures classified into stable error codes.
//
//   tcpdump: listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes
//   tcpdump: 4 packets captured, 8 packets received by filter, 0 packets dropped by kernel
//   4 packets captured
//   tcpdump: wlan9: No such device exists
//   (No such device exists)
//   tcpdump: lo: You don't have permission to perform this capture on that device
//   tcpdump: can't parse filter expression: syntax error
//   exec of "tcpdump" failed: No such file or directory        (ip netns exec)

import { ErrorCode, type ErrorCodeValue } from '../errors.js';

/** libpcap's pcap_stat as tcpdump reports it, for one tcpdump process. */
export interface TcpdumpCounters {
  captured: number;
  receivedByFilter: number;
  droppedByKernel: number;
  droppedByInterface: number;
}

export type StderrFact =
  | { kind: 'listening'; interface: string; linkType: string }
  | { kind: 'stats'; counters: Partial<TcpdumpCounters> }
  | { kind: 'error'; line: string; code: ErrorCodeValue | null }
  | { kind: 'detail'; line: string }
  | { kind: 'warning'; line: string };

const LISTENING = /listening on (\S+), link-type (\S+)/;
const COUNTER = /(\d+) packets? (captured|received by filter|dropped by kernel|dropped by interface)/g;
const FIELD: Record<string, keyof TcpdumpCounters> = {
  captured: 'captured',
  'received by filter': 'receivedByFilter',
  'dropped by kernel': 'droppedByKernel',
  'dropped by interface': 'droppedByInterface',
};

/** Failure classes, first match wins; messages from tcpdump, libpcap, `ip netns exec`, sudo and env. */
const CLASSES: [RegExp, ErrorCodeValue][] = [
  [/exec of ".*" failed|command not found|: No such file or directory$/, ErrorCode.CAPTURE_TOOL_MISSING],
  [/No such device|device is not up|interface (went down|disappeared)/i, ErrorCode.CAPTURE_NO_INTERFACE],
  [/permission|Operation not permitted|not permitted/i, ErrorCode.CAPTURE_PERMISSION],
  [
    /filter expression|syntax error|illegal port|unknown host|invalid (snaplen|buffer size)/i,
    ErrorCode.CAPTURE_CONFIG_INVALID,
  ],
];

export function parseStderrLine(line: string): StderrFact | null {
  const text = line.trim();
  if (text === '') return null;
  const l = LISTENING.exec(text);
  if (l) return { kind: 'listening', interface: l[1], linkType: l[2] };
  const counters: Partial<TcpdumpCounters> = {};
  let any = false;
  for (const m of text.matchAll(COUNTER)) {
    counters[FIELD[m[2]]] = Number(m[1]);
    any = true;
  }
  if (any) return { kind: 'stats', counters };
  if (text.startsWith('(')) return { kind: 'detail', line: text };
  if (/^tcpdump: WARNING/.test(text)) return { kind: 'warning', line: text };
  for (const [re, code] of CLASSES) if (re.test(text)) return { kind: 'error', line: text, code };
  return { kind: 'error', line: text, code: null };
}

/** Splits a byte stream into lines, keeping a bounded partial line between chunks. */
export class LineSplitter {
  private partial = '';

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLine = 4096,
  ) {}

  push(chunk: Buffer): void {
    const text = this.partial + chunk.toString('utf8');
    const lines = text.split('\n');
    this.partial = (lines.pop() ?? '').slice(-this.maxLine);
    for (const line of lines) this.onLine(line.slice(0, this.maxLine));
  }

  end(): void {
    if (this.partial !== '') this.onLine(this.partial);
    this.partial = '';
  }
}
