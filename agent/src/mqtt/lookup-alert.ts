// A `lookup` (policy/lookups.ts) as an MQTT alert (egress.proto Alert, kind
// LOOKUP): published on the alert topic like a connection alert, so the
// spool, `egress tail`, the dashboard feed and the buzzer treat it alike.
// The tuple is the DNS flow to the resolver; dest.names and lookup_name carry
// the name that was asked for.

import { egress } from '../../proto/gen/egress.js';
import type { LookupRecord } from '../policy/lookups.js';
import { type MessageContext, SEVERITY, TRANSPORT } from './codec.js';

const pb = egress.v1;

/** The same every time the same lookup is published: raised once per client and name in a run. */
export function lookupAlertId(ctx: MessageContext, l: LookupRecord): string {
  return `${ctx.gateway}/${ctx.run}/lookup/${l.app.srcIp}/${l.name}`;
}

export function lookupAlertMessage(l: LookupRecord, ctx: MessageContext): egress.v1.Alert.$Properties {
  const app = l.app;
  return {
    id: lookupAlertId(ctx, l),
    gateway: ctx.gateway,
    session: ctx.session,
    ts_us: l.tsUs,
    flow_id: app.flowId,
    src_ip: app.srcIp,
    src_port: app.srcPort,
    dest_ip: app.destIp,
    dest_port: app.destPort,
    proto: TRANSPORT[app.proto],
    app_proto: 'dns',
    dest: { names: [l.name], country: app.country, asn: app.asn, as_org: app.asOrg, as_country: app.asCountry },
    severity: SEVERITY[l.severity],
    reasons: [...l.reasons],
    text: l.text,
    names_hidden_by: [],
    kind: pb.AlertKind.LOOKUP,
    lookup_name: l.name,
  };
}

export function encodeLookupAlert(l: LookupRecord, ctx: MessageContext): Buffer {
  const u8 = pb.Alert.encode(lookupAlertMessage(l, ctx)).finish();
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}
