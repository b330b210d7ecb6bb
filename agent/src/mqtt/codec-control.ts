// MQTT payloads about the agent itself rather than the traffic, as egress.v1
// protobuf messages (agent/proto/egress/v1/egress.proto): its retained
// status (state, data, evidence, the gateway's lights and preflight checks),
// flight sessions, and commands with their replies. Pure functions over the
// generated static code, like codec.ts.

// Same relative path from src/mqtt and dist/mqtt: both sit two levels below agent/.
import { egress } from '../../proto/gen/egress.js';
import type { CaptureGap } from '../capture/types.js';
import { gapMessage, toBuffer } from './codec.js';

const pb = egress.v1;

export type AgentState = 'online' | 'offline' | 'degraded';
const STATE: Record<AgentState, egress.v1.Status.State> = {
  online: pb.Status.State.ONLINE,
  offline: pb.Status.State.OFFLINE,
  degraded: pb.Status.State.DEGRADED,
};

export interface StatusInfo {
  gateway: string;
  tsUs: number;
  state: AgentState;
  agentVersion: string;
  databases: Record<string, string>;
  startedAtUs: number;
  text: string;
  /** The open flight session; '' when none is open. */
  session: string;
  /** Date, age and staleness of the geo data in use (enrich/geo-age.ts); absent: unknown. */
  geoData?: { dataDate: string | null; ageDays: number | null; stale: boolean } | null;
  /** Evidence signing key fingerprint; '' when there is none. */
  keyFingerprint?: string;
  evidenceRecords?: number;
  /** The active policy's source. */
  policy?: string;
  /** Entries of the allow overlay. */
  allowOverlay?: string[];
  /** Clock synchronised (NTP); null or absent when unknown. */
  clockSynchronised?: boolean | null;
  /** A capture gap less than a clean interval ago (live/capture-gaps.ts). */
  captureIncomplete?: boolean;
  /** The latest capture gap of this run. */
  lastCaptureGap?: CaptureGap | null;
  /** What `text` says, as ids and facts (live/agent-condition.ts). */
  problems?: readonly { id: string; count: number; detail: string }[];
  /** The gateway's lights (live/signals.ts); absent without --gpio. */
  signals?: StatusSignals;
}

/** A preflight check that warned or failed, with its fix as id and facts (egress.proto PreflightCheck). */
export interface PreflightCheckInfo {
  id: string;
  status: string;
  summary: string;
  fix: string;
  fixId: string;
  fixFacts: Record<string, string>;
  /** What was seen as id and facts (selftest/seen.ts); absent when the summary is a program's own message. */
  summaryId?: string;
  summaryFacts?: Record<string, string>;
}

/** Status fields 25-28, 33 and 35: what the gateway's lights show. */
export interface StatusSignals {
  preflight: 'pass' | 'warn' | 'fail' | '';
  preflightProblems: string[];
  /** The same checks as ids and facts (egress.proto PreflightCheck); absent from older callers. */
  preflightChecks?: readonly PreflightCheckInfo[];
  alertLatched: boolean;
  alertsUnacknowledged: number;
  /** Acknowledgements of the latched red light since the agent started. */
  acknowledgements: number;
}

export function encodeStatus(s: StatusInfo): Buffer {
  return toBuffer(
    pb.Status.encode({
      gateway: s.gateway,
      ts_us: s.tsUs,
      state: STATE[s.state],
      agent_version: s.agentVersion,
      databases: s.databases,
      started_at_us: s.startedAtUs,
      text: s.text,
      session: s.session,
      geo_data_date: s.geoData?.dataDate ?? '',
      geo_data_age_days: s.geoData?.ageDays ?? null,
      geo_data_stale: s.geoData?.stale ?? false,
      key_fingerprint: s.keyFingerprint ?? '',
      evidence_records: s.evidenceRecords ?? 0,
      policy: s.policy ?? '',
      allow_overlay: s.allowOverlay ?? [],
      clock_synchronised: s.clockSynchronised ?? null,
      preflight: s.signals?.preflight ?? '',
      preflight_problems: s.signals?.preflightProblems ?? [],
      preflight_checks: (s.signals?.preflightChecks ?? []).map((c) => ({
        id: c.id,
        status: c.status,
        summary: c.summary,
        fix: c.fix,
        fix_id: c.fixId,
        fix_facts: c.fixFacts,
        summary_id: c.summaryId ?? '',
        summary_facts: c.summaryFacts ?? {},
      })),
      alert_latched: s.signals?.alertLatched ?? false,
      alerts_unacknowledged: s.signals?.alertsUnacknowledged ?? 0,
      acknowledgements: s.signals?.acknowledgements ?? 0,
      capture_incomplete: s.captureIncomplete ?? false,
      last_capture_gap: s.lastCaptureGap ? gapMessage(s.lastCaptureGap) : undefined,
      problems: (s.problems ?? []).map((p) => ({ id: p.id, count: p.count, detail: p.detail })),
    }).finish(),
  );
}

export interface SessionInfo {
  id: string;
  gateway: string;
  name: string;
  state: 'open' | 'closed';
  startUs: number;
  /** null while open. */
  endUs: number | null;
  /** Evidence facts, when the session is recorded. */
  evidence?: {
    unit?: string;
    droneSerial?: string;
    controllerSerial?: string;
    missionRef?: string;
    keyFingerprint: string;
    records: number;
    captureGaps: number;
    resumed: number;
  };
}

export function encodeSession(s: SessionInfo): Buffer {
  return toBuffer(
    pb.Session.encode({
      id: s.id,
      gateway: s.gateway,
      name: s.name,
      state: s.state === 'open' ? pb.Session.State.OPEN : pb.Session.State.CLOSED,
      start_us: s.startUs,
      end_us: s.endUs,
      unit: s.evidence?.unit ?? '',
      drone_serial: s.evidence?.droneSerial ?? '',
      controller_serial: s.evidence?.controllerSerial ?? '',
      mission_ref: s.evidence?.missionRef ?? '',
      key_fingerprint: s.evidence?.keyFingerprint ?? '',
      records: s.evidence?.records ?? 0,
      capture_gaps: s.evidence?.captureGaps ?? 0,
      resumed: s.evidence?.resumed ?? 0,
    }).finish(),
  );
}

export interface CommandInfo {
  id: string;
  verb: string;
  token: string;
  args: Record<string, string>;
}

export function encodeCommand(c: CommandInfo): Buffer {
  return toBuffer(pb.Command.encode(c).finish());
}

export interface CommandReplyInfo {
  id: string;
  ok: boolean;
  /** A stable error code when not ok; '' when ok. */
  code: string;
  message: string;
}

export function encodeCommandReply(r: CommandReplyInfo): Buffer {
  return toBuffer(pb.CommandReply.encode(r).finish());
}
