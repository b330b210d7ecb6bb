// The command lines that reach every exit status and error code of
// docs/errors.md, and the files they need (made in a temporary directory):
// shared by test/cli/exit-codes.test.ts (the built binary) and
// test/unit/cli-main.test.ts (the same through main(), in-process).

import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '../../agent/src/errors.js';
import { ROOT } from './cli.js';

export const dir = mkdtempSync(join(tmpdir(), 'egress-exit-'));
const fixture = (name: string) =>
  join(
    ROOT,
    'test/fixtures/bad',
    name,
    readdirSync(join(ROOT, 'test/fixtures/bad', name)).find((f) => f.startsWith('input.')) ?? '',
  );
const good = fixture('header-only');
let taken: Server;
let takenPort = 0;

/** A pcapng Section Header Block of major version 2 (this reader knows 1). */
function pcapngVersion2(): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt32LE(0x0a0d0d0a, 0);
  b.writeUInt32LE(28, 4);
  b.writeUInt32LE(0x1a2b3c4d, 8);
  b.writeUInt16LE(2, 12); // major
  b.writeUInt16LE(0, 14); // minor
  b.writeBigInt64LE(-1n, 16); // section length unknown
  b.writeUInt32LE(28, 24);
  return b;
}

export async function makeExitFixtures(): Promise<void> {
  writeFileSync(join(dir, 'v2.pcapng'), pcapngVersion2());
  writeFileSync(join(dir, 'bad-key.yaml'), 'allow:\n  domains: [a.example]\ndeny:\n  contries: [CN]\n');
  writeFileSync(join(dir, 'not-geo.bin'), Buffer.alloc(64, 7));
  // A data directory whose spool is a file, and one holding a file named as a segment that is not one.
  mkdirSync(join(dir, 'spool-file'));
  writeFileSync(join(dir, 'spool-file/spool'), '');
  mkdirSync(join(dir, 'spool-bad/spool'), { recursive: true });
  writeFileSync(join(dir, 'spool-bad/spool/alert-0000000000000001.seg'), 'not a segment at all');
  taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
  takenPort = (taken.address() as { port: number }).port;
}

export async function closeExitFixtures(): Promise<void> {
  await new Promise<void>((r) => taken.close(() => r()));
}

export interface ExitCase {
  what: string;
  args: () => string[];
  exit: number;
  /** The code on stderr; null: success, nothing on stderr. */
  code: string | null;
}

/** Options of `egress run`; `replay` also takes --linger. */
export const run = ['--no-http', '--mqtt-port', '0', '--quiet'];
export const live = [...run, '--linger', '1'];
export const CASES: ExitCase[] = [
  { what: 'no arguments', args: () => [], exit: 2, code: ErrorCode.USAGE },
  { what: 'an unknown command', args: () => ['scna', good], exit: 2, code: ErrorCode.USAGE },
  // Names every object has (its prototype's): still unknown commands, not a crash.
  {
    what: 'a command named like a property of every object',
    args: () => ['constructor'],
    exit: 2,
    code: ErrorCode.USAGE,
  },
  { what: 'a command named __proto__', args: () => ['__proto__', good], exit: 2, code: ErrorCode.USAGE },
  { what: 'a command named toString', args: () => ['toString'], exit: 2, code: ErrorCode.USAGE },
  { what: 'scan without a file', args: () => ['scan'], exit: 2, code: ErrorCode.USAGE },
  { what: 'an unknown option', args: () => ['scan', good, '--fromat', 'ndjson'], exit: 2, code: ErrorCode.USAGE },
  { what: 'a bad number', args: () => ['tail', '--count', 'ten'], exit: 2, code: ErrorCode.USAGE },
  {
    what: 'run without --interface',
    args: () => ['run', '--data-dir', join(dir, 'u')],
    exit: 2,
    code: ErrorCode.USAGE,
  },
  {
    what: 'a missing capture',
    args: () => ['scan', join(dir, 'nothing.pcap')],
    exit: 1,
    code: ErrorCode.INPUT_UNREADABLE,
  },
  { what: 'a directory as capture', args: () => ['scan', dir], exit: 1, code: ErrorCode.INPUT_UNREADABLE },
  { what: 'not a capture', args: () => ['scan', fixture('bad-magic')], exit: 3, code: ErrorCode.CAPTURE_BAD_MAGIC },
  { what: 'an empty capture', args: () => ['scan', fixture('empty')], exit: 3, code: ErrorCode.PCAP_TRUNCATED },
  { what: 'a cut record', args: () => ['scan', fixture('truncated-record')], exit: 3, code: ErrorCode.PCAP_TRUNCATED },
  {
    what: 'a record too large',
    args: () => ['scan', fixture('record-too-large')],
    exit: 3,
    code: ErrorCode.PCAP_RECORD_TOO_LARGE,
  },
  {
    what: 'a bad pcapng block length',
    args: () => ['scan', fixture('pcapng-bad-block-length')],
    exit: 3,
    code: ErrorCode.PCAPNG_BAD_BLOCK_LENGTH,
  },
  {
    what: 'a pcapng section of version 2',
    args: () => ['scan', join(dir, 'v2.pcapng')],
    exit: 3,
    code: ErrorCode.PCAPNG_BAD_SECTION,
  },
  {
    what: 'a policy with an unknown key',
    args: () => ['scan', good, '--policy', join(dir, 'bad-key.yaml')],
    exit: 2,
    code: ErrorCode.POLICY_INVALID,
  },
  {
    what: 'an unknown profile',
    args: () => ['scan', good, '--profile', 'djj'],
    exit: 2,
    code: ErrorCode.POLICY_INVALID,
  },
  {
    what: 'a geo database that is not one',
    args: () => ['scan', good, '--geo-db', join(dir, 'not-geo.bin')],
    exit: 1,
    code: ErrorCode.GEO_DB_INVALID,
  },
  {
    what: 'a broker URL of another scheme',
    args: () => ['replay', good, ...live, '--data-dir', join(dir, 'b1'), '--broker', 'ftp://127.0.0.1:21'],
    exit: 1,
    code: ErrorCode.BROKER_UNAVAILABLE,
  },
  {
    what: 'a CA file that cannot be read',
    args: () => [
      'replay',
      good,
      ...live,
      '--data-dir',
      join(dir, 'b2'),
      '--broker',
      'mqtts://127.0.0.1:1',
      '--ca',
      dir,
    ],
    exit: 1,
    code: ErrorCode.BROKER_UNAVAILABLE,
  },
  {
    what: 'an embedded broker port already taken',
    args: () => ['replay', good, '--no-http', '--quiet', '--data-dir', join(dir, 'b3'), '--mqtt-port', `${takenPort}`],
    exit: 1,
    code: ErrorCode.BROKER_UNAVAILABLE,
  },
  {
    what: 'a spool directory that cannot be created',
    args: () => ['replay', good, ...live, '--data-dir', join(dir, 'spool-file')],
    exit: 1,
    code: ErrorCode.SPOOL_UNWRITABLE,
  },
  {
    what: 'a spool file that is not a segment',
    args: () => ['replay', good, ...live, '--data-dir', join(dir, 'spool-bad')],
    exit: 1,
    code: ErrorCode.SPOOL_CORRUPT,
  },
  {
    what: 'an interface name tcpdump cannot take',
    args: () => ['run', '-i', 'not an interface', ...run, '--data-dir', join(dir, 'c1')],
    exit: 2,
    code: ErrorCode.CAPTURE_CONFIG_INVALID,
  },
  {
    what: 'an --influx URL of another scheme',
    args: () => ['replay', good, ...live, '--data-dir', join(dir, 'h1'), '--influx', 'ftp://127.0.0.1:8086/egress'],
    exit: 2,
    code: ErrorCode.HISTORY_URL_INVALID,
  },
  { what: 'a complete capture', args: () => ['scan', good], exit: 0, code: null },
  { what: 'help', args: () => ['--help'], exit: 0, code: null },
];

/** `egress: CODE…` lines on stderr. */
export const codesIn = (stderr: string) => [...stderr.matchAll(/^egress: (EGRESS_[A-Z_]+)\b/gm)].map((m) => m[1]);
