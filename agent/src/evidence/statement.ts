// The signed "no egress observed" statement (DESIGN.md "Evidence"), made at
// export time from the session's log (model.ts) and signed in manifest.json:
// nothing of it is stored in the log. Its strength is judged on the
// gateway's clock — the recording's window against the capture gaps, both
// the gateway's. The window it states is the traffic's: on the gateway's
// clock for a live (or paced) flight, where the packets carry the gateway's
// time; for a capture replayed at --speed max (or a clock changed mid-
// flight) the packets carry other times, so the window is the first to the
// last packet time the log holds and `clock` says so. The recording's own
// window stays in the manifest's `window` and the report's facts.

import type { Gap } from './model.js';

export interface Statement {
  kind: 'no_egress_observed' | 'egress_observed';
  /** plain: no gap; weakened: gaps listed; refused: the capture was down for too much of the window, or saw nothing. */
  strength: 'plain' | 'weakened' | 'refused' | 'not_applicable';
  /** The traffic's window, on the clock `clock` names. */
  window: { start: string; end: string };
  /**
   * gateway: the recording's window, the gateway's clock (live; paced replay).
   * packets: the earliest and latest time in the packets the log holds (flows,
   * alerts, lookups), which lie outside the recording: a replayed capture.
   */
  clock: 'gateway' | 'packets';
  gapSeconds: number;
  gaps: number;
}

/** A gap this large a share of the window leaves nothing to state. */
const REFUSE_SHARE = 0.5;

export function statement(
  recording: { start: string; end: string },
  traffic: { start: string; end: string } | null,
  internetFlows: number,
  gaps: Gap[],
  packets: number,
): Statement {
  const { start, end } = recording;
  const windowS = Math.max(0, (Date.parse(end) - Date.parse(start)) / 1000);
  let gapSeconds = 0;
  for (const g of gaps) gapSeconds += Math.max(0, (Date.parse(g.end) - Date.parse(g.start)) / 1000);
  const base = {
    window: traffic ?? { start, end },
    clock: traffic === null ? ('gateway' as const) : ('packets' as const),
    gapSeconds,
    gaps: gaps.length,
  };
  if (internetFlows > 0) return { kind: 'egress_observed', strength: 'not_applicable', ...base };
  const down = packets === 0 || (windowS > 0 && gapSeconds >= REFUSE_SHARE * windowS);
  return { kind: 'no_egress_observed', strength: down ? 'refused' : gaps.length > 0 ? 'weakened' : 'plain', ...base };
}
