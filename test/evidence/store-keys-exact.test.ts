// The evidence key and the session store, in process (agent/src/evidence/
// keys.ts, session-store.ts): the key made once with mode 0600 and read back
// with the same fingerprint (the one openssl computes), clear errors for a
// missing or damaged key, signatures that fail for other data or keys; the
// session id's form, the names and operator fields trimmed and bounded, one
// open flight at a time, a restart counted, and ids that could leave the
// sessions folder refused.

import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  fingerprintOf,
  keyDir,
  loadKey,
  loadOrCreateKey,
  PRIVATE_KEY_FILE,
  parsePublicKey,
  signBytes,
  verifyBytes,
} from '../../agent/src/evidence/keys.js';
import {
  endSession,
  listSessions,
  openSessionId,
  type RecorderContext,
  readMeta,
  resumeSession,
  sessionDir,
  startSession,
} from '../../agent/src/evidence/session-store.js';
import { caught } from '../support/caught.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'egress-store-'));
  dirs.push(d);
  return d;
}

describe('evidence key', () => {
  it('is made once (0600, in keys/), read back with the same fingerprint, the one openssl computes', () => {
    const data = tempDir();
    const made = loadOrCreateKey(data);
    expect(made.created).toBe(true);
    const file = join(keyDir(data), PRIVATE_KEY_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(keyDir(data)).mode & 0o777).toBe(0o700);
    const again = loadOrCreateKey(data);
    expect(again.created).toBe(false);
    expect(again.fingerprint).toBe(made.fingerprint);
    expect(loadKey(data).publicPem).toBe(made.publicPem);
    expect(readFileSync(join(keyDir(data), 'evidence-ed25519.pub.pem'), 'utf8')).toBe(made.publicPem);
    const pub = join(data, 'pub.pem');
    writeFileSync(pub, made.publicPem);
    const der = execFileSync('openssl', ['pkey', '-pubin', '-in', pub, '-outform', 'DER']);
    expect(made.fingerprint).toBe(createHash('sha256').update(der).digest('hex'));
    expect(made.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('signs: the signature verifies for the same bytes and key only', () => {
    const a = loadOrCreateKey(tempDir());
    const b = loadOrCreateKey(tempDir());
    const sig = signBytes(a, 'flight');
    expect(sig).toHaveLength(64);
    expect(verifyBytes(a.publicKey, 'flight', sig)).toBe(true);
    expect(verifyBytes(a.publicKey, Buffer.from('flight'), sig)).toBe(true);
    expect(verifyBytes(a.publicKey, 'flighT', sig)).toBe(false);
    expect(verifyBytes(b.publicKey, 'flight', sig)).toBe(false);
    expect(verifyBytes(a.publicKey, 'flight', Buffer.alloc(3))).toBe(false);
    expect(fingerprintOf(a.publicKey)).toBe(a.fingerprint);
    expect(a.fingerprint).not.toBe(b.fingerprint);
    // A key that cannot verify at all (X25519 is for key agreement): false, not a throw.
    expect(verifyBytes(generateKeyPairSync('x25519').publicKey, 'flight', sig)).toBe(false);
  });

  it('is made in a data directory that does not exist yet', () => {
    const data = join(tempDir(), 'not', 'yet');
    expect(loadOrCreateKey(data).created).toBe(true);
    expect(existsSync(join(keyDir(data), PRIVATE_KEY_FILE))).toBe(true);
  });

  it.each([
    ['an Ed25519 public key', (pem: string) => pem, true],
    ['junk', () => 'junk', false],
    ['an RSA public key', () => rsaPem(), false],
  ])('parsePublicKey: %s', (_what, make, ok) => {
    const k = loadOrCreateKey(tempDir());
    const parsed = parsePublicKey(make(k.publicPem));
    expect(parsed !== null).toBe(ok);
    if (ok) expect(fingerprintOf(parsed as NonNullable<typeof parsed>)).toBe(k.fingerprint);
  });

  it('says EGRESS_KEY_MISSING for no key and for a file that is not a key, naming the file', () => {
    const data = tempDir();
    const none = caught(() => loadKey(data));
    expect(none.code).toBe('EGRESS_KEY_MISSING');
    expect(none.message).toBe(`no evidence key in ${keyDir(data)} (ENOENT); it is made when the agent first starts`);
    expect(none.facts).toEqual({ file: join(keyDir(data), PRIVATE_KEY_FILE) });
    mkdirSync(keyDir(data));
    writeFileSync(join(keyDir(data), PRIVATE_KEY_FILE), 'not a key');
    const bad = caught(() => loadKey(data));
    expect(bad.code).toBe('EGRESS_KEY_MISSING');
    expect(bad.message).toMatch(/evidence-ed25519\.pem is not an Ed25519 private key: /);
    expect(bad.facts).toEqual({ file: join(keyDir(data), PRIVATE_KEY_FILE) });
    expect(caught(() => loadOrCreateKey(data)).code).toBe('EGRESS_KEY_MISSING'); // never replaced silently
  });
});

function rsaPem(): string {
  return generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
    type: 'spki',
    format: 'pem',
  }) as string;
}

function context(data: string, startMs: number): RecorderContext & { clockCalls: number } {
  let now = startMs * 1000;
  const ctx = {
    gateway: 'gw-s',
    version: '9.9.9',
    policy: { source: 'p.yaml', sha256: 'a'.repeat(64) },
    databases: { geo: '2026-01-01' },
    key: loadOrCreateKey(data),
    clockCalls: 0,
    clock: () => {
      ctx.clockCalls++;
      return { synchronized: ctx.clockCalls === 1, source: `c${ctx.clockCalls}` };
    },
    now: () => {
      now += 1500;
      return now;
    },
  };
  return ctx;
}

describe('session store', () => {
  it('names a flight by gateway and start (ms, UTC), trims and bounds its name and operator fields', () => {
    const data = tempDir();
    const ctx = context(data, Date.parse('2026-05-01T10:20:30.123Z'));
    const s = startSession(data, ctx, `  ${'N'.repeat(250)}`, {
      unit: '  Unit 7 ',
      drone_serial: '   ',
      mission_ref: 'M'.repeat(300),
      // not an operator field: dropped
      ...({ password: 'x' } as object),
    });
    expect(s.meta.id).toBe('gw-s-20260501T102030124Z');
    expect(s.meta.name).toBe(`  ${'N'.repeat(198)}`);
    expect(s.meta.operator).toEqual({ unit: 'Unit 7', mission_ref: 'M'.repeat(200) });
    expect(s.meta).toMatchObject({
      gateway: 'gw-s',
      state: 'open',
      start: '2026-05-01T10:20:30.124500Z',
      end: null,
      agent_version: '9.9.9',
      clock_start: { synchronized: true, source: 'c1' },
      clock_end: null,
      key_fingerprint: ctx.key.fingerprint,
      resumed: 0,
    });
    expect(openSessionId(data)).toBe(s.meta.id);
    expect(statSync(s.dir).mode & 0o777).toBe(0o700);
    expect(readMeta(data, s.meta.id)).toEqual(s.meta);
  });

  it('keeps one flight open at a time; a restart reopens it and counts it; the end closes it', () => {
    const data = tempDir();
    const ctx = context(data, Date.parse('2026-05-01T10:00:00Z'));
    expect(resumeSession(data, ctx)).toBeNull();
    const s = startSession(data, ctx, 'first');
    const err = caught(() => startSession(data, ctx, 'second'));
    expect([err.code, err.message]).toEqual([
      'EGRESS_SESSION_STATE',
      `flight ${s.meta.id} is already open; end it first`,
    ]);
    s.log.close();
    const r = resumeSession(data, ctx);
    expect(r?.session.meta.resumed).toBe(1);
    expect(readMeta(data, s.meta.id).resumed).toBe(1);
    r?.session.log.close();
    const closing = resumeSession(data, ctx, false);
    expect(closing?.session.meta.resumed).toBe(1); // reopened to be closed: not a restart
    const meta = endSession(closing!.session, ctx, { flows: 3 });
    expect(meta).toMatchObject({ state: 'closed', clock_end: { synchronized: false, source: 'c2' } });
    expect(meta.end).toMatch(/^2026-05-01T10:00:00\.\d{6}Z$/);
    expect(openSessionId(data)).toBeNull();
    expect(existsSync(join(data, 'sessions', 'open'))).toBe(false);
    expect(readMeta(data, s.meta.id)).toEqual(meta);
    const last = readFileSync(join(s.dir, 'events.ndjson'), 'utf8').trim().split('\n');
    expect(last.some((l) => l.includes('"session_end"') && l.includes('"flows":3'))).toBe(true);
    // The next flight may start now; the list is oldest first.
    const next = startSession(data, ctx, 'second');
    next.log.close();
    expect(listSessions(data).map((m) => [m.name, m.state])).toEqual([
      ['first', 'closed'],
      ['second', 'open'],
    ]);
  });

  it.each([
    ['gw-1-20260501T102030123Z', true],
    ['a', true],
    ['A.b_c-9', true],
    ['x'.repeat(120), true],
    ['x'.repeat(121), false],
    ['', false],
    ['.hidden', false],
    ['..', false],
    ['../keys', false],
    ['a/b', false],
    ['a b', false],
    ['a\nb', false],
  ])('session id %j accepted: %s', (id, ok) => {
    const data = tempDir();
    if (ok) expect(sessionDir(data, id)).toBe(join(data, 'sessions', id));
    else {
      const e = caught(() => sessionDir(data, id));
      expect([e.code, e.message]).toEqual(['EGRESS_SESSION_UNKNOWN', `"${id}" is not a session id`]);
    }
  });

  it('lists nothing for a fresh data directory, skips what is not a session, and reads an unknown id as EGRESS_SESSION_UNKNOWN', () => {
    const data = tempDir();
    expect(listSessions(data)).toEqual([]);
    mkdirSync(join(data, 'sessions', 'not-a-session'), { recursive: true });
    writeFileSync(join(data, 'sessions', 'x.tmp'), '');
    writeFileSync(join(data, 'sessions', 'open'), '\n');
    expect(listSessions(data)).toEqual([]);
    expect(openSessionId(data)).toBeNull();
    const e = caught(() => readMeta(data, 'gw-x'));
    expect([e.code, e.message]).toEqual(['EGRESS_SESSION_UNKNOWN', `no session "gw-x" in ${join(data, 'sessions')}`]);
    expect(e.facts).toEqual({ file: join(data, 'sessions', 'gw-x', 'session.json') });
  });

  it('lists flights by start, not by name; a folder left as .tmp is not one', () => {
    const data = tempDir();
    const late = context(data, Date.parse('2026-05-01T12:00:00Z'));
    const early = context(data, Date.parse('2026-05-01T09:00:00Z'));
    const a = startSession(data, { ...late, gateway: 'aa' }, 'later, first by name');
    endSession(a, late, {});
    const z = startSession(data, { ...early, gateway: 'zz' }, 'earlier, last by name');
    endSession(z, early, {});
    const copy = join(data, 'sessions', 'copy.tmp');
    mkdirSync(copy);
    writeFileSync(join(copy, 'session.json'), readFileSync(join(a.dir, 'session.json')));
    expect(listSessions(data).map((m) => m.name)).toEqual(['earlier, last by name', 'later, first by name']);
  });

  it('writes session.json 0600, logs with the clock and checkpoint interval of the context, first record session_start', () => {
    const data = tempDir();
    const ctx = { ...context(data, Date.parse('2026-05-01T10:00:00Z')), checkpointEvery: 2 };
    const s = startSession(data, ctx, 'clocked');
    expect(statSync(join(s.dir, 'session.json')).mode & 0o777).toBe(0o600);
    s.log.append('note', '{}');
    s.log.append('note', '{}');
    s.log.close();
    const r = resumeSession(data, ctx);
    r?.session.log.append('note', '{}');
    r?.session.log.append('note', '{}');
    endSession(r!.session, ctx, {});
    const records = readFileSync(join(s.dir, 'events.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; ts: string });
    expect(records[0].type).toBe('session_start');
    // Every second record a checkpoint, before and after the restart.
    expect(records.map((x) => x.type)).toEqual([
      'session_start',
      'checkpoint',
      'note',
      'note',
      'checkpoint',
      'note',
      'note',
      'checkpoint',
      'session_end',
      'checkpoint',
    ]);
    // Times from the context's clock (1.5 ms steps from 10:00), not the system's.
    for (const x of records) expect(x.ts).toMatch(/^2026-05-01T10:00:00\.\d{6}Z$/);
  });

  it('without a clock in the context, uses the system time in microseconds', () => {
    const data = tempDir();
    const ctx = { ...context(data, 0), now: undefined };
    const before = Date.now();
    const s = startSession(data, ctx, 'system time');
    const meta = endSession(s, ctx, {});
    const after = Date.now();
    for (const t of [meta.start, meta.end as string]) {
      expect(Date.parse(t)).toBeGreaterThanOrEqual(before - 1);
      expect(Date.parse(t)).toBeLessThanOrEqual(after + 1);
    }
  });

  it('ends a flight whose open marker is already gone', () => {
    const data = tempDir();
    const ctx = context(data, Date.parse('2026-05-01T10:00:00Z'));
    const s = startSession(data, ctx, 'marker gone');
    rmSync(join(data, 'sessions', 'open'));
    expect(endSession(s, ctx, {}).state).toBe('closed');
  });
});
