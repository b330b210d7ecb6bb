// How the page learns that the gateway's red light was acknowledged (a long
// press at the gateway, or another page's `acknowledge`): Status field 33,
// the agent's counter of acknowledgements (agent/proto/egress/v1/egress.proto).
// Kept apart from the store so it has no DOM and tests can load it.

import type { StatusMsg } from './proto.js';

/** The counter and the agent run it belongs to. */
export type AckCount = Pick<StatusMsg, 'startedAtUs' | 'acknowledgements'>;

/**
 * Whether the gateway's red light was acknowledged since the last status from
 * a running agent: its counter of acknowledgements went up within the same
 * agent run (the broker's "offline" will carries no counter). Not "latched,
 * then not": a new high alert can latch red again at once, and that status may
 * be the only one that arrives (or the page was reconnecting). The agent sends
 * alerts and the status over one connection in order, so what the page holds
 * when the status arrives is what the gateway acknowledged; an alert held back
 * in the agent's spool arrives later and stays unacknowledged here (the safe side).
 */
export function acknowledgedSince(prev: AckCount | null, s: AckCount): boolean {
  return prev !== null && prev.startedAtUs === s.startedAtUs && s.acknowledgements > prev.acknowledgements;
}
