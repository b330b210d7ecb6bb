// The Session message (egress.v1, topic egress/v1/<gw>/session) from a
// recorded session, and the operator fields a start_flight command may carry
// (args unit, drone_serial, controller_serial, mission_ref).

import type { SessionInfo } from '../mqtt/codec-control.js';
import { OPERATOR_KEYS, type OperatorFields, type SessionMeta } from './session-store.js';

export function operatorArgs(args: Record<string, string>): OperatorFields {
  const out: OperatorFields = {};
  for (const k of OPERATOR_KEYS) if (typeof args[k] === 'string') out[k] = args[k];
  return out;
}

export function sessionInfo(
  gateway: string,
  s: { id: string; name: string; startUs: number },
  endUs: number | null,
  meta: SessionMeta | null,
  records: number,
  captureGaps: number,
): SessionInfo {
  return {
    id: s.id,
    gateway,
    name: s.name,
    state: endUs === null ? 'open' : 'closed',
    startUs: s.startUs,
    endUs,
    evidence:
      meta === null
        ? undefined
        : {
            unit: meta.operator.unit,
            droneSerial: meta.operator.drone_serial,
            controllerSerial: meta.operator.controller_serial,
            missionRef: meta.operator.mission_ref,
            keyFingerprint: meta.key_fingerprint,
            records,
            captureGaps,
            resumed: meta.resumed,
          },
  };
}
