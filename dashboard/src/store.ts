// What the page knows, fed by MQTT messages; views read it at most every
// RENDER_EVERY_MS after a change, on an animation frame (a burst of a
// thousand messages is one render, and typing stays responsive).
//
// Bounded like the agent (DESIGN.md "State is bounded"): at most MAX_ALERTS
// alert entries (one per destination: repeats are counted, not listed) and
// MAX_FLOWS connection rows; the oldest go first and are counted.
// An alert raised at the first packet (an address rule) has no names yet;
// the flow's message later carries them and fills the same entry in.

import { type AckCount, acknowledgedSince } from './acknowledgements.js';
import type { AlertMsg, Dest, FlowMsg, SessionMsg, Severity, StatsMsg, StatusMsg } from './proto.js';

export const MAX_ALERTS = 2000;
export const MAX_FLOWS = 100_000;
const RENDER_EVERY_MS = 200;
const MAX_SEEN_IDS = 20_000;

export interface AlertEntry {
  /** The destination address: one entry per destination. */
  key: string;
  destIp: string;
  destPort: number | null;
  proto: string;
  appProto: string | null;
  dest: Dest;
  severity: Severity;
  reasons: string[];
  namesHiddenBy: string[];
  kind: 'connection' | 'lookup';
  /** For a lookup: the client that asked, and the name. */
  srcIp: string;
  lookupName: string;
  firstUs: number;
  lastUs: number;
  /** Alerts for this destination (distinct ids). */
  count: number;
  acknowledged: boolean;
}

export type Connection = FlowMsg;

export type BrokerState = 'connecting' | 'connected' | 'reconnecting' | 'offline' | 'unauthorised';

const RANK: Record<Severity, number> = { high: 3, medium: 2, allowed: 1, unknown: 0 };

export class Store {
  alerts = new Map<string, AlertEntry>();
  flows: Connection[] = [];
  /** Head of the flows ring once it is full. */
  private flowHead = 0;
  flowsDropped = 0;
  /** Alert messages taken (before the repeat/duplicate folding), for the benchmark. */
  alertsReceived = 0;
  alertsDropped = 0;
  /** First contact per destination address, for the timeline and the map. */
  firstContact = new Map<string, { us: number; severity: Severity; country: string | null; label: string }>();
  status: StatusMsg | null = null;
  stats: StatsMsg | null = null;
  statsAtMs = 0;
  sessions = new Map<string, SessionMsg>();
  broker: BrokerState = 'connecting';
  gateway = '';
  /** Bumped on every change; views compare it. */
  version = 0;
  flowsVersion = 0;
  /** The gateway's acknowledgements counter in the last status from a running agent. */
  private acks: AckCount | null = null;
  private seenIds = new Set<string>();
  private listeners = new Set<() => void>();
  private frame: number | null = null;
  private lastRender = 0;

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  changed(): void {
    this.version++;
    if (this.frame !== null) return;
    const run = () => {
      this.frame = null;
      this.lastRender = performance.now();
      for (const fn of this.listeners) fn();
    };
    const wait = Math.max(0, this.lastRender + RENDER_EVERY_MS - performance.now());
    this.frame = setTimeout(() => requestAnimationFrame(run), wait) as unknown as number;
  }

  addAlert(a: AlertMsg): void {
    this.alertsReceived++;
    if (this.seenIds.has(a.id)) return; // QoS 1 may deliver twice: same id, same alert
    this.seenIds.add(a.id);
    if (this.seenIds.size > MAX_SEEN_IDS) this.seenIds.delete(this.seenIds.values().next().value as string);
    // A lookup is an alert on a name, not on the resolver it was asked of: one entry per name.
    const key = a.kind === 'lookup' ? `lookup ${a.lookupName}` : a.destIp;
    const e = this.alerts.get(key);
    if (e === undefined) {
      if (this.alerts.size >= MAX_ALERTS) this.dropOldestAlert();
      this.alerts.set(key, {
        key,
        destIp: a.destIp,
        destPort: a.destPort,
        proto: a.proto,
        appProto: a.appProto,
        dest: { ...a.dest, names: [...a.dest.names] },
        severity: a.severity,
        reasons: [...a.reasons],
        namesHiddenBy: [...a.namesHiddenBy],
        kind: a.kind,
        srcIp: a.srcIp,
        lookupName: a.lookupName,
        firstUs: a.tsUs,
        lastUs: a.tsUs,
        count: 1,
        acknowledged: false,
      });
    } else {
      e.count++;
      e.lastUs = Math.max(e.lastUs, a.tsUs);
      e.firstUs = Math.min(e.firstUs, a.tsUs);
      if (RANK[a.severity] > RANK[e.severity]) {
        e.severity = a.severity;
        e.acknowledged = false; // a rise needs a new look
      }
      mergeInto(e.reasons, a.reasons);
      mergeInto(e.namesHiddenBy, a.namesHiddenBy);
      fillDest(e.dest, a.dest);
    }
    if (a.kind !== 'lookup') this.contact(a.destIp, a.tsUs, a.severity, a.dest);
    this.changed();
  }

  addFlow(f: FlowMsg): void {
    if (this.flows.length < MAX_FLOWS) this.flows.push(f);
    else {
      this.flows[this.flowHead] = f;
      this.flowHead = (this.flowHead + 1) % MAX_FLOWS;
      this.flowsDropped++;
    }
    // The flow's final names fill in the alert raised before they were known.
    const e = this.alerts.get(f.destIp);
    if (e !== undefined) fillDest(e.dest, f.dest);
    this.contact(f.destIp, f.startUs, f.verdict, f.dest);
    this.flowsVersion++;
    this.changed();
  }

  acknowledge(key: string): void {
    const e = this.alerts.get(key);
    if (e) e.acknowledged = true;
    this.changed();
  }

  acknowledgeAll(): void {
    for (const e of this.alerts.values()) e.acknowledged = true;
    this.changed();
  }

  setStatus(s: StatusMsg): void {
    // Acknowledged at the gateway (long press, or another page): the high-severity alerts received
    // so far are acknowledged here too, even when a newer alert has latched the red light again.
    if (acknowledgedSince(this.acks, s))
      for (const e of this.alerts.values()) if (e.severity === 'high') e.acknowledged = true;
    if (s.state !== 'offline') this.acks = { startedAtUs: s.startedAtUs, acknowledgements: s.acknowledgements };
    this.status = s;
    if (s.gateway) this.gateway = s.gateway;
    this.changed();
  }

  setStats(s: StatsMsg): void {
    this.stats = s;
    this.statsAtMs = Date.now();
    this.changed();
  }

  setSession(s: SessionMsg): void {
    this.sessions.set(s.id, s);
    if (this.sessions.size > 50) this.sessions.delete(this.sessions.keys().next().value as string);
    this.changed();
  }

  setBroker(b: BrokerState): void {
    this.broker = b;
    this.changed();
  }

  /** Newest first. */
  alertList(): AlertEntry[] {
    return [...this.alerts.values()].sort((a, b) => b.lastUs - a.lastUs);
  }

  private dropOldestAlert(): void {
    let oldest: AlertEntry | null = null;
    for (const e of this.alerts.values()) if (oldest === null || e.lastUs < oldest.lastUs) oldest = e;
    if (oldest) this.alerts.delete(oldest.key);
    this.alertsDropped++;
  }

  private contact(ip: string, us: number, sev: Severity, d: Dest): void {
    const c = this.firstContact.get(ip);
    const label = d.names[0] ?? ip;
    if (c === undefined) {
      if (this.firstContact.size >= MAX_ALERTS * 5)
        this.firstContact.delete(this.firstContact.keys().next().value as string);
      this.firstContact.set(ip, { us, severity: sev, country: d.country, label });
      return;
    }
    if (us < c.us) c.us = us;
    if (RANK[sev] > RANK[c.severity]) c.severity = sev;
    if (c.country === null) c.country = d.country;
    if (c.label === ip && d.names.length > 0) c.label = label;
  }
}

function mergeInto(into: string[], from: readonly string[]): void {
  for (const x of from) if (!into.includes(x)) into.push(x);
}

function fillDest(into: Dest, from: Dest): void {
  mergeInto(into.names, from.names);
  into.names.sort();
  into.country ??= from.country;
  into.asn ??= from.asn;
  into.asOrg ??= from.asOrg;
  into.asCountry ??= from.asCountry;
}

export const store = new Store();
// Read by scripts/bench-dashboard.mjs (counters only; nothing on the page depends on it).
(globalThis as { __egressStore?: Store }).__egressStore = store;
