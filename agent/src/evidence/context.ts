// The facts a recorder stamps on every session, gathered from the live
// agent's options: gateway, agent version, a hash of the policy's rules,
// database versions, the signing key, and the system clock's sync state
// (systemd-timesyncd / chrony through timedatectl; "unknown" when the
// system cannot tell, which the report says plainly).

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Policy } from '../policy/policy.js';
import { sha256Hex } from './chain.js';
import { loadOrCreateKey } from './keys.js';
import type { ClockState, RecorderContext } from './session-store.js';

/** systemd-timesyncd's flag file: there once the clock was synchronised. */
const SYNC_FLAG = '/run/systemd/timesync/synchronized';

export function systemClockState(syncFlag = SYNC_FLAG): ClockState {
  const r = spawnSync('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], { encoding: 'utf8', timeout: 2000 });
  // Stryker disable next-line StringLiteral: any text but yes/no falls through alike
  const v = r.status === 0 ? r.stdout.trim() : '';
  if (v === 'yes') return { synchronized: true, source: 'timedatectl NTPSynchronized=yes' };
  if (v === 'no') return { synchronized: false, source: 'timedatectl NTPSynchronized=no' };
  if (existsSync(syncFlag)) return { synchronized: true, source: syncFlag };
  return { synchronized: null, source: 'unknown (no timedatectl answer)' };
}

/** SHA-256 of the policy's rules as canonical JSON (sets sorted), so two sessions judged alike show the same hash. */
export function policyHash(policy: Policy): string {
  const canon = JSON.stringify(policy, (_k, v: unknown) => {
    if (v instanceof Set) return [...v].map(String).sort();
    if (v instanceof Map) return [...v.entries()].map(([k, x]) => [String(k), x]).sort();
    return v;
  });
  return sha256Hex(canon);
}

export function recorderContext(o: {
  dataDir: string;
  gateway: string;
  version: string;
  policy: Policy;
  databases: Record<string, string>;
  clock?: () => ClockState;
  checkpointEvery?: number;
}): RecorderContext {
  return {
    gateway: o.gateway,
    version: o.version,
    policy: { source: o.policy.source, sha256: policyHash(o.policy) },
    databases: o.databases,
    key: loadOrCreateKey(o.dataDir),
    clock: o.clock ?? systemClockState,
    checkpointEvery: o.checkpointEvery,
  };
}
