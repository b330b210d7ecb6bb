// Where the live agent sends what the scan pipeline finds (the diagram in
// agent.ts): a finished flow to the evidence log, the traffic history and,
// for an internet flow, MQTT (QoS 0, rate-limited); an alert to block mode
// first, then MQTT (spooled, QoS 1), the evidence log, the gateway's lights,
// the history and the console; a denied name looked up (policy/lookups.ts)
// to MQTT as an alert, the evidence log and the lights. Payloads are
// egress.v1 messages (mqtt/codec.ts, mqtt/lookup-alert.ts).

import type { EvidenceRecorder } from '../evidence/recorder.js';
import type { HistorySink } from '../history/sink.js';
import { encodeAlert, encodeFlow, type MessageContext } from '../mqtt/codec.js';
import { encodeLookupAlert } from '../mqtt/lookup-alert.js';
import type { Publisher } from '../mqtt/publisher.js';
import type { AlertRecord } from '../output/flow-record.js';
import type { EventOutput } from '../pipeline.js';
import type { GatewayBlocking } from './blocking.js';
import type { GatewaySignals } from './signals.js';

/** The parts of the agent (LiveAgent) its events go to; read when each event comes, not before. */
export interface OutputTargets {
  readonly evidence: EvidenceRecorder;
  readonly history: HistorySink | null;
  readonly publisher: Publisher;
  readonly blocking: GatewayBlocking | null;
  readonly signals: GatewaySignals | null;
  readonly onAlert: ((a: AlertRecord) => void) | null;
  readonly topic: { readonly alert: string; readonly flow: string };
  ctx(): MessageContext;
}

export function agentOutput(a: OutputTargets): EventOutput {
  return {
    flow: (r) => {
      a.evidence.flow(r);
      a.history?.flow(r, a.ctx());
      if (r.internet) a.publisher.send('flow', a.topic.flow, () => encodeFlow(r, a.ctx()));
    },
    alert: (al) => {
      a.blocking?.alert(al); // first: the sooner the block lands, the less passes
      a.publisher.send('alert', a.topic.alert, encodeAlert(al, a.ctx()));
      a.evidence.alert(al);
      a.signals?.alert(al.severity);
      a.history?.alert(al, a.ctx());
      a.onAlert?.(al);
    },
    lookup: (l) => {
      a.publisher.send('alert', a.topic.alert, encodeLookupAlert(l, a.ctx()));
      a.evidence.lookup(l);
      a.signals?.alert(l.severity); // a denied name asked for is a high alert on the lights too
    },
  };
}
