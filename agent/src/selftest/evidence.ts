// Evidence key check: the seam for the evidence signing key (agent/src/evidence/,
// a separate change). Until that lands, this build has no signing key to look
// for, and the check says so rather than pretending; the evidence change
// passes its own probe as SelftestOptions.evidenceKey (run.ts).

import { type CheckResult, result } from './types.js';

/** Looks for the signing key under the data directory; the whole check. */
export type EvidenceKeyProbe = (dataDir: string) => CheckResult;

export const evidenceKeyNotInBuild: EvidenceKeyProbe = () =>
  result('evidence_key', 'skip', 'evidence signing is not available in this build', null, { available: false });
