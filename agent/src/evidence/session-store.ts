// Flight sessions on disk, under DATA_DIR/sessions/:
//   <id>/session.json     what the session is (for listing; the log is the evidence)
//   <id>/events.ndjson    the chained, signed log (chain.ts)
//   <id>/flagged.pcapng   packets of flagged flows (flagged-pcap.ts)
//   open                  the id of the open session, if any
// An open session survives an agent restart or a power cut: the next start
// reopens its log after the last whole record and records the gap.

import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { EgressError, ErrorCode } from '../errors.js';
import { isoMicros } from '../output/time.js';
import { ChainWriter } from './chain.js';
import type { SigningKey } from './keys.js';

export interface OperatorFields {
  unit?: string;
  drone_serial?: string;
  controller_serial?: string;
  mission_ref?: string;
}
export const OPERATOR_KEYS = ['unit', 'drone_serial', 'controller_serial', 'mission_ref'] as const;

export interface ClockState {
  /** True/false when the system says whether NTP is synchronised; null when it cannot tell. */
  synchronized: boolean | null;
  source: string;
}

export interface SessionMeta {
  id: string;
  name: string;
  gateway: string;
  state: 'open' | 'closed';
  start: string;
  end: string | null;
  operator: OperatorFields;
  agent_version: string;
  policy: { source: string; sha256: string };
  databases: Record<string, string>;
  clock_start: ClockState;
  clock_end: ClockState | null;
  key_fingerprint: string;
  /** Restarts of the agent while the session was open. */
  resumed: number;
}

/** Who is recording: the facts every session starts with. */
export interface RecorderContext {
  gateway: string;
  version: string;
  policy: { source: string; sha256: string };
  databases: Record<string, string>;
  key: SigningKey;
  clock: () => ClockState;
  now?: () => number;
  checkpointEvery?: number;
}

export function sessionsDir(dataDir: string): string {
  return join(dataDir, 'sessions');
}

export function sessionDir(dataDir: string, id: string): string {
  if (!/^[A-Za-z0-9._-]{1,120}$/.test(id) || id.startsWith('.'))
    throw new EgressError(ErrorCode.SESSION_UNKNOWN, `"${id}" is not a session id`);
  return join(sessionsDir(dataDir), id);
}

/** Write a small file so a power cut leaves the old or the new one, never half. */
export function writeFileDurable(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  const fd = openSync(tmp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, file);
}

export function readMeta(dataDir: string, id: string): SessionMeta {
  const file = join(sessionDir(dataDir, id), 'session.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SessionMeta;
  } catch {
    throw new EgressError(ErrorCode.SESSION_UNKNOWN, `no session "${id}" in ${sessionsDir(dataDir)}`, { file });
  }
}

export function openSessionId(dataDir: string): string | null {
  try {
    const id = readFileSync(join(sessionsDir(dataDir), 'open'), 'utf8').trim();
    return id === '' ? null : id;
  } catch {
    return null;
  }
}

/** Every session, oldest first. */
export function listSessions(dataDir: string): SessionMeta[] {
  let names: string[];
  try {
    names = readdirSync(sessionsDir(dataDir));
  } catch {
    return [];
  }
  const out: SessionMeta[] = [];
  for (const n of names) {
    // Stryker disable next-line StringLiteral,ConditionalExpression: `open` is a file, which readMeta below skips as well
    if (n === 'open' || n.endsWith('.tmp')) continue;
    try {
      out.push(readMeta(dataDir, n));
    } catch {
      // A directory without session.json is not a session.
    }
  }
  return out.sort((a, b) => a.start.localeCompare(b.start));
}

export class OpenSession {
  constructor(
    readonly dataDir: string,
    readonly meta: SessionMeta,
    readonly log: ChainWriter,
  ) {}

  get dir(): string {
    return sessionDir(this.dataDir, this.meta.id);
  }

  saveMeta(): void {
    writeFileDurable(join(this.dir, 'session.json'), `${JSON.stringify(this.meta, null, 2)}\n`);
  }
}

/** Open a new session and write its first record. */
export function startSession(
  dataDir: string,
  ctx: RecorderContext,
  name: string,
  operator: OperatorFields = {},
): OpenSession {
  const open = openSessionId(dataDir);
  if (open !== null) throw new EgressError(ErrorCode.SESSION_STATE, `flight ${open} is already open; end it first`);
  const nowUs = (ctx.now ?? (() => Date.now() * 1000))();
  const id = `${ctx.gateway}-${isoMicros(nowUs)
    .replace(/[-:]/g, '')
    // Stryker disable next-line Regex: isoMicros ends in its only Z, so the anchor changes nothing
    .replace(/\.(\d{3})\d*Z$/, '$1Z')}`;
  const dir = sessionDir(dataDir, id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const meta: SessionMeta = {
    id,
    name: name.slice(0, 200),
    gateway: ctx.gateway,
    state: 'open',
    start: isoMicros(nowUs),
    end: null,
    operator: cleanOperator(operator),
    agent_version: ctx.version,
    policy: ctx.policy,
    databases: ctx.databases,
    clock_start: ctx.clock(),
    clock_end: null,
    key_fingerprint: ctx.key.fingerprint,
    resumed: 0,
  };
  const log = new ChainWriter(join(dir, 'events.ndjson'), ctx.key, id, {
    checkpointEvery: ctx.checkpointEvery,
    now: ctx.now,
  });
  const s = new OpenSession(dataDir, meta, log);
  log.append('session_start', JSON.stringify(meta));
  log.checkpoint();
  s.saveMeta();
  writeFileDurable(join(sessionsDir(dataDir), 'open'), `${id}\n`);
  return s;
}

/** The session left open by an earlier run (restart, power cut), reopened; null when none. */
export function resumeSession(
  dataDir: string,
  ctx: RecorderContext,
  /** false: reopened only to be closed (egress session end without an agent), not an agent restart. */
  restart = true,
): { session: OpenSession; gapStartUs: number | null; tornBytes: number } | null {
  const id = openSessionId(dataDir);
  if (id === null) return null;
  const meta = readMeta(dataDir, id);
  const log = new ChainWriter(join(sessionDir(dataDir, id), 'events.ndjson'), ctx.key, id, {
    checkpointEvery: ctx.checkpointEvery,
    now: ctx.now,
  });
  if (restart) meta.resumed++;
  const s = new OpenSession(dataDir, meta, log);
  s.saveMeta();
  return { session: s, gapStartUs: log.lastTsUs, tornBytes: log.tornBytes };
}

/** Close the open session: last record, signed checkpoint, fsync, and the `open` marker removed. */
export function endSession(s: OpenSession, ctx: RecorderContext, summary: Record<string, unknown>): SessionMeta {
  const nowUs = (ctx.now ?? (() => Date.now() * 1000))();
  s.meta.state = 'closed';
  s.meta.end = isoMicros(nowUs);
  s.meta.clock_end = ctx.clock();
  s.log.append('session_end', JSON.stringify({ end: s.meta.end, clock_end: s.meta.clock_end, ...summary }));
  s.log.close();
  s.saveMeta();
  rmSync(join(sessionsDir(s.dataDir), 'open'), { force: true });
  return s.meta;
}

function cleanOperator(o: OperatorFields): OperatorFields {
  const out: OperatorFields = {};
  for (const k of OPERATOR_KEYS) {
    const v = o[k];
    if (typeof v === 'string' && v.trim() !== '') out[k] = v.trim().slice(0, 200);
  }
  return out;
}
