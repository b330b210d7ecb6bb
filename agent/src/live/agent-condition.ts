// The live agent's condition, as the retained status says it: "ready", or
// what is wrong right now in plain language (capture down, capture
// incomplete, spool full), joined by "; ". A change is what republishes the
// status and moves the green light (signals.ts).

import type { RunningProblems } from './signals.js';

export interface ConditionChange {
  /** "ready" or the problems, joined. */
  text: string;
  state: 'online' | 'degraded';
  problems: RunningProblems;
}

export class AgentCondition {
  /** The condition last published in the retained status. */
  text = 'ready';
  private droppedSeen = 0;

  get state(): 'online' | 'degraded' {
    return this.text === 'ready' ? 'online' : 'degraded';
  }

  /**
   * The condition now, from the capture's problem, the gap log's and the
   * spool's total of dropped messages (a rise since the last call is a
   * problem); null when it is what was last published.
   */
  update(captureDown: string | null, captureGap: string | null, droppedTotal: number): ConditionChange | null {
    const spool =
      droppedTotal > this.droppedSeen ? `spool full: ${droppedTotal - this.droppedSeen} messages dropped` : null;
    this.droppedSeen = droppedTotal;
    const problems = [captureDown, captureGap, spool].filter((p): p is string => p !== null);
    const text = problems.length === 0 ? 'ready' : problems.join('; ');
    if (text === this.text) return null;
    this.text = text;
    return { text, state: this.state, problems: { captureDown, captureGap, spool } };
  }
}
