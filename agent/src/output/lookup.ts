// The `lookup` NDJSON event (DESIGN.md "scan NDJSON"; checked by
// ../shared/contract/check-ndjson.py): src_ip (the client), dest_ip (the
// resolver), name, alert {severity, reasons, text}; the DNS flow's id, ports
// and protocol beside them so the event can be found in the capture.

import type { LookupRecord } from '../policy/lookups.js';
import { isoMicros } from './time.js';

export function lookupEventLine(l: LookupRecord): string {
  const a = l.app;
  return JSON.stringify({
    timestamp: isoMicros(l.tsUs),
    event_type: 'lookup',
    flow_id: a.flowId,
    src_ip: a.srcIp,
    src_port: a.srcPort,
    dest_ip: a.destIp,
    dest_port: a.destPort,
    proto: a.proto,
    name: l.name,
    alert: { severity: l.severity, reasons: l.reasons, rule: l.rule, text: l.text },
  });
}
