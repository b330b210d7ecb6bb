// The session's tamper-evident log: append-only NDJSON, one record a line,
//   {"seq":N,"prev":"<SHA-256 hex of record N-1's line>","ts":"…","type":"…","data":{…}}
// (record 0's prev is 64 zeros). Every few records, and at session end, a
// `checkpoint` record carries an Ed25519 signature (RFC 8032) over the head
// of the chain, so everything before it is signed; checkpoints are fsync'd.
// After SIGKILL or a power cut the log reads up to the last whole record.

import { createHash, type KeyObject } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { EgressError, ErrorCode } from '../errors.js';
import { isoMicros } from '../output/time.js';
import { type SigningKey, signBytes, verifyBytes } from './keys.js';

export const GENESIS = '0'.repeat(64);

export interface ChainRecord {
  seq: number;
  prev: string;
  ts: string;
  type: string;
  data: Record<string, unknown>;
}

/** What a checkpoint signs: the session and the hash of the last record before it. */
export function checkpointMessage(session: string, upto: number, head: string): string {
  return `egress-evidence-checkpoint-v1\n${session}\n${upto}\n${head}\n`;
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface ChainCheck {
  records: ChainRecord[];
  /** Bytes of whole, chained records from the start. */
  goodBytes: number;
  /** The first problem, in words, or null. */
  error: string | null;
  /** The torn tail only (a last line without its newline): safe to cut off on resume. */
  tornTail: boolean;
  /** Seq of the last record covered by a good checkpoint signature (-1: none). */
  signedUpTo: number;
  lastHash: string;
}

/**
 * Read a log and check its chain: seq in order, each prev the hash of the
 * line before, each checkpoint's signature (when a key is given). Stops at
 * the first problem and says where.
 */
export function checkChain(buf: Buffer, publicKey: KeyObject | null): ChainCheck {
  const records: ChainRecord[] = [];
  let off = 0;
  let prev = GENESIS;
  let signedUpTo = -1;
  const out = (error: string | null, tornTail = false): ChainCheck => ({
    records,
    goodBytes: off,
    error,
    tornTail,
    signedUpTo,
    lastHash: prev,
  });
  while (off < buf.length) {
    const nl = buf.indexOf(0x0a, off);
    const n = records.length;
    if (nl < 0) return out(`truncated mid-record at byte ${off}, after record ${n - 1}`, true);
    const line = buf.subarray(off, nl);
    let r: ChainRecord;
    try {
      r = JSON.parse(line.toString('utf8')) as ChainRecord;
    } catch {
      return out(`record at line ${n + 1} (byte ${off}) is not valid JSON: altered or cut`);
    }
    // Stryker disable next-line ConditionalExpression: a number, string or boolean has no string .type either: refused the same
    if (typeof r !== 'object' || r === null || typeof r.type !== 'string' || typeof r.data !== 'object')
      return out(`record at line ${n + 1} (byte ${off}) lacks seq, prev, type or data`);
    if (r.seq !== n)
      return out(`record at line ${n + 1} has seq ${r.seq}, expected ${n}: a record is missing or out of order`);
    if (r.prev !== prev)
      return out(
        n === 0 ? 'record 0 does not start the chain' : `record ${n - 1} was altered: record ${n} does not chain to it`,
      );
    if (r.type === 'checkpoint' && publicKey !== null) {
      const d = r.data as { upto?: unknown; session?: unknown; sig?: unknown };
      const ok =
        d.upto === n - 1 &&
        typeof d.session === 'string' &&
        typeof d.sig === 'string' &&
        verifyBytes(publicKey, checkpointMessage(d.session, n - 1, prev), Buffer.from(d.sig, 'base64'));
      if (!ok)
        return out(
          `checkpoint record ${n} has a bad signature (records before it were altered, or another key signed it)`,
        );
      signedUpTo = n;
    }
    records.push(r);
    prev = sha256Hex(line);
    off = nl + 1;
  }
  return out(null);
}

export interface ChainWriterOptions {
  /** A checkpoint after this many records (default 256). */
  checkpointEvery?: number;
  now?: () => number;
}

/** Appends records to one session's log; reopening continues the chain after the last whole record. */
export class ChainWriter {
  private fd: number;
  private seq = 0;
  private prev = GENESIS;
  private sinceCheckpoint = 0;
  private readonly every: number;
  private readonly now: () => number;
  /** Bytes of a torn last record cut off when the log was reopened (0: none). */
  readonly tornBytes: number = 0;
  /** Time of the last record found when reopened (µs), or null for a new log. */
  readonly lastTsUs: number | null = null;

  constructor(
    readonly file: string,
    private readonly key: SigningKey,
    private readonly session: string,
    options: ChainWriterOptions = {},
  ) {
    this.every = options.checkpointEvery ?? 256;
    this.now = options.now ?? (() => Date.now() * 1000);
    if (existsSync(file)) {
      const buf = readFileSync(file);
      const c = checkChain(buf, null);
      this.seq = c.records.length;
      this.prev = c.lastHash;
      this.tornBytes = buf.length - c.goodBytes;
      const last = c.records[c.records.length - 1];
      if (last) this.lastTsUs = Date.parse(last.ts) * 1000;
      if (c.error !== null && !c.tornTail) {
        // Damage before the end is not ours to repair: keep the file, refuse to append to it.
        throw new EgressError(ErrorCode.EVIDENCE_LOG_DAMAGED, c.error, { file });
      }
      this.fd = openSync(file, 'r+');
      // Stryker disable next-line ConditionalExpression,EqualityOperator: truncating a whole log to its length changes nothing
      if (this.tornBytes > 0) ftruncateSync(this.fd, c.goodBytes);
      closeSync(this.fd);
    }
    this.fd = openSync(file, 'a', 0o600);
  }

  get records(): number {
    return this.seq;
  }

  /** Append one record; `data` is a JSON object text. */
  append(type: string, data: string): void {
    const line = `{"seq":${this.seq},"prev":"${this.prev}","ts":"${isoMicros(this.now())}","type":"${type}","data":${data}}`;
    writeSync(this.fd, `${line}\n`);
    this.prev = sha256Hex(line);
    this.seq++;
    if (type === 'checkpoint') {
      this.sinceCheckpoint = 0;
      fsyncSync(this.fd);
    } else if (++this.sinceCheckpoint >= this.every) this.checkpoint();
  }

  /** Sign the head of the chain (when something was appended since the last checkpoint) and fsync. */
  checkpoint(): void {
    if (this.sinceCheckpoint === 0) return;
    const upto = this.seq - 1;
    const sig = signBytes(this.key, checkpointMessage(this.session, upto, this.prev)).toString('base64');
    this.append('checkpoint', JSON.stringify({ upto, session: this.session, key: this.key.fingerprint, sig }));
  }

  close(): void {
    this.checkpoint();
    closeSync(this.fd);
  }
}
