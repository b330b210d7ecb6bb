// The live agent's retained status (egress.proto Status, DESIGN.md
// "status"): its condition ("ready" or what is wrong now, agent-condition.ts)
// worked out from the capture, its gaps, the spool's drops and traffic held
// by block mode, and the message that says it with the agent's version,
// data, evidence key, policy, clock and lights.

import type { EvidenceRecorder } from '../evidence/recorder.js';
import { encodeStatus } from '../mqtt/codec-control.js';
import type { Spool } from '../mqtt/spool.js';
import type { AllowOverlay } from '../policy/overlay.js';
import { AgentCondition, type ConditionChange, captureIncomplete, type StatusProblem } from './agent-condition.js';
import type { LiveAgentOptions } from './agent-options.js';
import type { GatewayBlocking } from './blocking.js';
import type { CaptureGapLog } from './capture-gaps.js';
import { ClockCheck } from './clock.js';
import type { GatewaySignals } from './signals.js';

/** The parts of the agent (LiveAgent) the status speaks of. */
export interface StatusSources {
  session: { id: string } | null;
  evidence: EvidenceRecorder;
  overlay: AllowOverlay;
  signals: GatewaySignals | null;
  gaps: CaptureGapLog;
  spool: Spool;
  blocking: GatewayBlocking | null;
  captureProblem: () => StatusProblem | null;
}

export class AgentStatus {
  /** "ready" or what is wrong now, as the retained status last said it. */
  readonly condition = new AgentCondition();
  readonly clock = new ClockCheck();
  readonly startedUs = Date.now() * 1000;

  constructor(private readonly options: LiveAgentOptions) {}

  /** The condition now: capture trouble or spool drops make it DEGRADED. The change, or null when there is none. */
  update(a: StatusSources): ConditionChange | null {
    const c = a.spool.counters;
    const dropped = c.dropped_alert + c.dropped_flow + c.dropped_stats + c.dropped_session;
    const gap = a.gaps.problem();
    const incomplete = gap === null ? null : captureIncomplete(gap, a.gaps.last?.packetsDropped ?? null);
    const held = a.blocking?.problem() ?? null;
    return this.condition.update(a.captureProblem(), incomplete, dropped, held);
  }

  /** The retained status message, now. */
  payload(a: StatusSources): Buffer {
    return encodeStatus({
      gateway: this.options.gateway,
      state: this.condition.state,
      text: this.condition.text,
      problems: this.condition.problems,
      agentVersion: this.options.version,
      databases: this.options.enricher.versions(),
      geoData: this.options.enricher.dataHealth(Date.now()),
      startedAtUs: this.startedUs,
      tsUs: Date.now() * 1000,
      session: a.session?.id ?? '',
      keyFingerprint: a.evidence.fingerprint,
      evidenceRecords: a.evidence.records,
      policy: this.options.policy.source,
      allowOverlay: a.overlay.entries(),
      clockSynchronised: this.clock.synchronised,
      signals: a.signals?.statusFields(),
      captureIncomplete: a.gaps.incomplete,
      lastCaptureGap: a.gaps.last,
    });
  }
}
