// The live agent's condition, as the retained status says it: "ready", or
// what is wrong right now (capture down, capture incomplete, spool full,
// traffic held by fail-closed block mode),
// in plain English joined by "; " (`text`) and as ids with their facts
// (`problems`, egress.proto StatusProblem) that a page says in its own
// language. A change is what republishes the status and moves the green
// light (signals.ts).

import type { RunningProblems } from './signals.js';

/** egress.proto StatusProblem.id. */
export type ProblemId = 'capture_error' | 'capture_stalled' | 'capture_incomplete' | 'spool_full' | 'traffic_held';

export interface StatusProblem {
  id: ProblemId;
  /** capture_stalled: seconds without a packet; capture_incomplete: packets dropped (0: unknown); spool_full: messages dropped. */
  count: number;
  /** capture_error: the capture's error; traffic_held: the block helper's answer (untranslated); else empty. */
  detail: string;
  /** The same in English, as in the status `text`. */
  text: string;
}

export function captureError(message: string): StatusProblem {
  return { id: 'capture_error', count: 0, detail: message, text: `capture: ${message}` };
}

export function captureStalled(ageMs: number): StatusProblem {
  const s = Math.round(ageMs / 1000);
  return { id: 'capture_stalled', count: s, detail: '', text: `capture: no packet for ${s} s` };
}

/** A capture gap less than a clean interval ago; `text` is CaptureGapLog.problem()'s. */
export function captureIncomplete(text: string, packetsDropped: number | null): StatusProblem {
  return { id: 'capture_incomplete', count: packetsDropped ?? 0, detail: '', text };
}

/** Fail-closed: the block helper did not renew the watch, so the gateway holds the controller's traffic. */
export function trafficHeld(iface: string, answer: string): StatusProblem {
  return {
    id: 'traffic_held',
    count: 0,
    detail: answer,
    text: `traffic held: the block helper did not renew the watch of ${iface} (${answer})`,
  };
}

export interface ConditionChange {
  /** "ready" or the problems, joined. */
  text: string;
  state: 'online' | 'degraded';
  problems: RunningProblems;
}

export class AgentCondition {
  /** The condition last published in the retained status. */
  text = 'ready';
  /** Its problems, in the order of `text`; empty when ready. */
  problems: StatusProblem[] = [];
  private droppedSeen = 0;

  get state(): 'online' | 'degraded' {
    return this.text === 'ready' ? 'online' : 'degraded';
  }

  /**
   * The condition now, from the capture's problem, the gap log's and the
   * spool's total of dropped messages (a rise since the last call is a
   * problem); null when it is what was last published.
   */
  update(
    captureDown: StatusProblem | null,
    captureGap: StatusProblem | null,
    droppedTotal: number,
    held: StatusProblem | null = null,
  ): ConditionChange | null {
    const n = droppedTotal - this.droppedSeen;
    const spool: StatusProblem | null =
      n > 0 ? { id: 'spool_full', count: n, detail: '', text: `spool full: ${n} messages dropped` } : null;
    this.droppedSeen = droppedTotal;
    const problems = [captureDown, captureGap, spool, held].filter((p): p is StatusProblem => p !== null);
    const text = problems.length === 0 ? 'ready' : problems.map((p) => p.text).join('; ');
    if (text === this.text) return null;
    this.text = text;
    this.problems = problems;
    return {
      text,
      state: this.state,
      // With their ids and facts: the preflight's list on the page says them in its language (signals.ts).
      problems: { captureDown, captureGap, spool, held },
    };
  }
}
