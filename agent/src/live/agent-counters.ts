// The live agent's counters in one flat map, "<component>.<counter>", as the
// stats message carries them (DESIGN.md "stats"): publisher, spool, geo data,
// capture gaps, evidence, allow overlay, lights, block mode, commands, broker
// and history. Each component keeps its own; this only names and gathers them.

import type { GeoSource } from '../enrich/geo-source.js';
import type { EvidenceRecorder } from '../evidence/recorder.js';
import type { HistorySink } from '../history/sink.js';
import type { EmbeddedBroker } from '../mqtt/broker.js';
import type { CommandGate } from '../mqtt/commands.js';
import type { Publisher } from '../mqtt/publisher.js';
import type { Spool } from '../mqtt/spool.js';
import type { AllowOverlay } from '../policy/overlay.js';
import type { GatewayBlocking } from './blocking.js';
import type { CaptureGapLog } from './capture-gaps.js';
import type { GatewaySignals } from './signals.js';

export interface CounterSources {
  publisher: Publisher;
  spool: Spool;
  geo?: GeoSource;
  gaps: CaptureGapLog;
  evidence: EvidenceRecorder;
  overlay: AllowOverlay;
  signals: GatewaySignals | null;
  blocking: GatewayBlocking | null;
  commands: CommandGate;
  broker: EmbeddedBroker | null;
  history: HistorySink | null;
}

export function agentCounters(a: CounterSources): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(a.publisher.counters)) out[`mqtt.${k}`] = v;
  for (const [k, v] of Object.entries(a.spool.counters)) out[`spool.${k}`] = v;
  out['spool.pending'] = a.spool.pending;
  out['spool.bytes'] = a.spool.bytes;
  if (a.geo) {
    for (const [k, v] of Object.entries(a.geo.counters)) out[`geo.${k}`] = v;
    const age = a.geo.health().ageDays;
    if (age !== null) out['geo.data_age_days'] = age;
  }
  for (const [k, v] of Object.entries(a.gaps.counters)) out[`capture.${k}`] = v;
  Object.assign(out, a.evidence.counters());
  out['policy.allow_overlay'] = a.overlay.entries().length;
  Object.assign(out, a.signals?.counters());
  Object.assign(out, a.blocking?.counters());
  for (const [k, v] of Object.entries(a.commands.counters)) out[`commands.${k}`] = v;
  for (const [k, v] of Object.entries(a.broker?.counters ?? {})) out[`broker.${k}`] = v;
  if (a.history) Object.assign(out, a.history.counters());
  return out;
}
