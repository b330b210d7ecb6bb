// The facts a recorder stamps on a session and the Session message made from
// it, in process (agent/src/evidence/context.ts, session-message.ts): the
// policy hash is canonical (sets and maps sorted) and changes with the rules;
// the clock's sync state read from timedatectl for each answer it can give;
// the recorder context field by field; operator fields taken from command
// args; and the Session message for an open and a closed flight.
//
// timedatectl: this test cannot set the system clock's NTP state, so a
// stand-in `timedatectl` on PATH answers as systemd's would (its output and
// exit status are what systemClockState reads).

import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../agent/src/evidence/chain.js';
import { policyHash, recorderContext, systemClockState } from '../../agent/src/evidence/context.js';
import { loadOrCreateKey } from '../../agent/src/evidence/keys.js';
import { operatorArgs, sessionInfo } from '../../agent/src/evidence/session-message.js';
import type { SessionMeta } from '../../agent/src/evidence/session-store.js';
import type { Policy } from '../../agent/src/policy/policy.js';

const dirs: string[] = [];
const PATH = process.env.PATH;
afterEach(() => {
  process.env.PATH = PATH;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'egress-context-'));
  dirs.push(d);
  return d;
}

const policy = (o: Record<string, unknown>) => ({ source: 'p.yaml', ...o }) as unknown as Policy;

describe('policyHash', () => {
  it('is the SHA-256 of the rules as JSON with sets and maps sorted, their members as strings', () => {
    const p = policy({
      denyCountries: new Set(['RU', 'CN']),
      denyAsns: new Set([9, 10]),
      table: new Map<unknown, unknown>([
        [2, 'x'],
        [1, 'y'],
      ]),
      unlisted: 'medium',
    });
    const canon = JSON.stringify({
      source: 'p.yaml',
      denyCountries: ['CN', 'RU'],
      denyAsns: ['10', '9'],
      table: [
        ['1', 'y'],
        ['2', 'x'],
      ],
      unlisted: 'medium',
    });
    expect(policyHash(p)).toBe(sha256Hex(canon));
  });

  it('is the same for the same rules in another order, and differs when a rule differs', () => {
    const a = policyHash(
      policy({
        denyCountries: new Set(['CN', 'RU']),
        m: new Map([
          ['b', 1],
          ['a', 2],
        ]),
      }),
    );
    const b = policyHash(
      policy({
        denyCountries: new Set(['RU', 'CN']),
        m: new Map([
          ['a', 2],
          ['b', 1],
        ]),
      }),
    );
    const c = policyHash(
      policy({
        denyCountries: new Set(['RU', 'IR']),
        m: new Map([
          ['a', 2],
          ['b', 1],
        ]),
      }),
    );
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('systemClockState', () => {
  it.each([
    ['says yes', 'echo " yes "', { synchronized: true, source: 'timedatectl NTPSynchronized=yes' }],
    ['says no', 'echo no', { synchronized: false, source: 'timedatectl NTPSynchronized=no' }],
    ['says yes but fails', 'echo yes; exit 1', null],
    ['says something else', 'echo maybe', null],
    ['cannot reach systemd', 'echo "Failed to connect to bus" >&2; exit 1', null],
  ])('timedatectl %s', (_what, script, want) => {
    const bin = tempDir();
    writeFileSync(
      join(bin, 'timedatectl'),
      `#!/bin/sh\n[ "$*" = "show -p NTPSynchronized --value" ] || exit 9\n${script}\n`,
    );
    chmodSync(join(bin, 'timedatectl'), 0o755);
    process.env.PATH = `${bin}:${PATH}`;
    const flag = join(bin, 'synchronized');
    if (want !== null) {
      expect(systemClockState(flag)).toEqual(want);
      return;
    }
    // No answer from timedatectl: systemd-timesyncd's flag file decides, when there is one.
    expect(systemClockState(flag)).toEqual({ synchronized: null, source: 'unknown (no timedatectl answer)' });
    writeFileSync(flag, '');
    expect(systemClockState(flag)).toEqual({ synchronized: true, source: flag });
  });
});

describe('recorderContext', () => {
  it('stamps gateway, version, policy source and hash, databases, the key (made once), the clock and the checkpoint interval', () => {
    const data = tempDir();
    const p = policy({ denyCountries: new Set(['CN']) });
    const clock = () => ({ synchronized: false, source: 'test' });
    const ctx = recorderContext({
      dataDir: data,
      gateway: 'gw-c',
      version: '2.0.0',
      policy: p,
      databases: { geo: '2026-01' },
      clock,
      checkpointEvery: 7,
    });
    expect(ctx).toEqual({
      gateway: 'gw-c',
      version: '2.0.0',
      policy: { source: 'p.yaml', sha256: policyHash(p) },
      databases: { geo: '2026-01' },
      key: expect.objectContaining({ fingerprint: loadOrCreateKey(data).fingerprint }),
      clock,
      checkpointEvery: 7,
    });
    const dflt = recorderContext({ dataDir: data, gateway: 'g', version: 'v', policy: p, databases: {} });
    expect(dflt.clock).toBe(systemClockState);
    expect(dflt.checkpointEvery).toBeUndefined();
    expect(dflt.key.fingerprint).toBe(ctx.key.fingerprint);
  });
});

describe('session message', () => {
  it('takes the four operator fields from command args and nothing else', () => {
    expect(
      operatorArgs({ unit: 'U7', drone_serial: 'D1', controller_serial: 'C1', mission_ref: 'M1', password: 'x' }),
    ).toEqual({ unit: 'U7', drone_serial: 'D1', controller_serial: 'C1', mission_ref: 'M1' });
    expect(operatorArgs({ unit: '' })).toEqual({ unit: '' });
    expect(operatorArgs({ mission_ref: 5 as unknown as string })).toEqual({});
    expect(operatorArgs({})).toEqual({});
  });

  const meta = {
    operator: { unit: 'U7', drone_serial: 'D1', controller_serial: 'C1', mission_ref: 'M1' },
    key_fingerprint: 'ab'.repeat(32),
    resumed: 2,
  } as unknown as SessionMeta;

  it.each([
    ['open, not recorded', null, null, { state: 'open', endUs: null, evidence: undefined }],
    [
      'closed, recorded',
      2_000_000,
      meta,
      {
        state: 'closed',
        endUs: 2_000_000,
        evidence: {
          unit: 'U7',
          droneSerial: 'D1',
          controllerSerial: 'C1',
          missionRef: 'M1',
          keyFingerprint: 'ab'.repeat(32),
          records: 12,
          captureGaps: 3,
          resumed: 2,
        },
      },
    ],
    ['closed at 0 µs', 0, null, { state: 'closed', endUs: 0, evidence: undefined }],
  ])('%s', (_what, endUs, m, want) => {
    const s = sessionInfo('gw-s', { id: 'gw-s-1', name: 'Flight', startUs: 1_000_000 }, endUs, m, 12, 3);
    expect(s).toEqual({ id: 'gw-s-1', gateway: 'gw-s', name: 'Flight', startUs: 1_000_000, ...want });
  });
});
