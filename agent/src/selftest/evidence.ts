// Evidence key check: the Ed25519 key that signs every flight's log and
// bundle (agent/src/evidence/keys.ts). Present, readable by the agent only
// (0600) and a valid key: pass, with its fingerprint (the one a verified
// bundle's "signed by" must match). Not made yet: a warning, since the agent
// makes it on its first start. Unreadable, corrupt or readable by others:
// a failure, because the evidence of the next flight could not be trusted.

import { statSync } from 'node:fs';
import { join } from 'node:path';
import { EgressError } from '../errors.js';
import { keyDir, loadKey, PRIVATE_KEY_FILE } from '../evidence/keys.js';
import { fix } from './fixes.js';
import { seen } from './seen.js';
import { type CheckResult, result } from './types.js';

/** Looks for the signing key under the data directory; the whole check. */
export type EvidenceKeyProbe = (dataDir: string) => CheckResult;

export const evidenceKeyCheck: EvidenceKeyProbe = (dataDir) => {
  const file = join(keyDir(dataDir), PRIVATE_KEY_FILE);
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch {
    return result('evidence_key', 'warn', seen('key_missing', { dir: keyDir(dataDir) }), fix('key_missing', {}), {
      file,
      present: false,
    });
  }
  if ((mode & 0o077) !== 0)
    return result(
      'evidence_key',
      'fail',
      seen('key_readable', { mode: mode.toString(8) }),
      fix('key_readable', { file }),
      { file, present: true, mode: mode.toString(8) },
    );
  try {
    const key = loadKey(dataDir);
    return result('evidence_key', 'pass', `evidence signing key ${key.fingerprint.slice(0, 16)}…`, null, {
      file,
      present: true,
      fingerprint: key.fingerprint,
    });
  } catch (err) {
    return result(
      'evidence_key',
      'fail',
      err instanceof EgressError ? err.message : String(err),
      fix('key_invalid', {}),
      { file, present: true },
    );
  }
};
