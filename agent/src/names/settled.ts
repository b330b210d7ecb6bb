// What the names, enrich and policy stages keep about a flow once it is
// decided and no longer being named (DESIGN.md "A flow's names"): flags in a
// slot-indexed typed array beside the flow table (flow/table.ts), and its
// names, network and verdict as references into tables of shared values.
// Most flows of a busy gateway are in this state for most of their life;
// holding no object per flow keeps the heap, and the collector's work, small.
// A FlowApp is rebuilt from this record when the flow has an event to write.
//
// Bounded by the flow table: each settled flow holds at most one reference
// into each shared table, so a table never holds more values than there are
// open flows, and a value goes when the last flow holding it ends.

import type { GeoAnswer } from '../enrich/geo.js';
import type { Judgement } from '../policy/verdict.js';
import type { EncryptedDns } from './encrypted-dns.js';
import type { AppProto, FlowApp } from './flow-app.js';

/** Bits of `SettledFlows.bits`; 0 means "not settled". */
const SETTLED = 1;
const APP_SHIFT = 1; // 3 bits: index into APP_PROTOS
const ECH = 1 << 4;
const ENC_DNS_SHIFT = 5; // 2 bits: index into ENCRYPTED_DNS
const INTERNET = 1 << 7;
const DECIDED = 1 << 8;
const ALERTED_SHIFT = 9; // 2 bits: highest severity alerted

const APP_PROTOS: readonly (AppProto | null)[] = [null, 'dns', 'tls', 'quic', 'http'];
const ENCRYPTED_DNS: readonly (EncryptedDns | null)[] = [null, 'dot', 'doq', 'doh'];
const NO_REF = -1;

interface FlowNames {
  dns: readonly string[];
  sni: string | null;
  host: string | null;
}

/**
 * Values shared by the flows that hold them, each counted so that it goes
 * when its last holder lets go. `size` is the number of distinct values held.
 */
export class SharedValues<T> {
  private readonly ids = new Map<string, number>();
  private readonly values: (T | undefined)[] = [];
  private readonly keys: string[] = [];
  private refs = new Int32Array(64);
  private readonly free: number[] = [];

  get size(): number {
    return this.ids.size;
  }

  /** A reference to the value known by `key` (`make()` gives it the first time). */
  acquire(key: string, make: () => T): number {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.free.pop() ?? this.values.length;
      if (id >= this.refs.length) {
        const bigger = new Int32Array(this.refs.length * 2);
        bigger.set(this.refs);
        this.refs = bigger;
      }
      this.values[id] = make();
      this.keys[id] = key;
      this.ids.set(key, id);
      this.refs[id] = 0;
    }
    this.refs[id]++;
    return id;
  }

  get(id: number): T {
    return this.values[id] as T;
  }

  release(id: number): void {
    if (--this.refs[id] > 0) return;
    this.ids.delete(this.keys[id]);
    this.values[id] = undefined;
    this.keys[id] = '';
    this.free.push(id);
  }
}

export class SettledFlows {
  /** Per slot: 0 while the flow has no settled record, else the SETTLED bit and the flags. */
  readonly bits: Uint16Array;
  private readonly geoRef: Int32Array;
  private readonly judgementRef: Int32Array;
  private readonly namesRef: Int32Array;
  readonly geos = new SharedValues<GeoAnswer>();
  readonly judgements = new SharedValues<Judgement>();
  readonly names = new SharedValues<FlowNames>();

  constructor(maxFlows: number) {
    this.bits = new Uint16Array(maxFlows);
    this.geoRef = new Int32Array(maxFlows);
    this.judgementRef = new Int32Array(maxFlows);
    this.namesRef = new Int32Array(maxFlows);
  }

  /** A decided flow that holds no naming state, still a UDP DNS flow (its later packets are read). */
  isDns(slot: number): boolean {
    return APP_PROTOS[(this.bits[slot] >>> APP_SHIFT) & 7] === 'dns';
  }

  /** Record `app` for `slot` (replacing what was recorded); the caller may then drop the object. */
  settle(slot: number, app: FlowApp): void {
    this.clear(slot);
    const enc = app.encryptedDns === null ? 0 : ENCRYPTED_DNS.indexOf(app.encryptedDns);
    this.bits[slot] =
      SETTLED |
      (APP_PROTOS.indexOf(app.appProto) << APP_SHIFT) |
      (app.ech ? ECH : 0) |
      (enc << ENC_DNS_SHIFT) |
      (app.internet ? INTERNET : 0) |
      (app.decided ? DECIDED : 0) |
      (app.alerted << ALERTED_SHIFT);
    this.geoRef[slot] =
      app.country === null && app.asn === null && app.asOrg === null && app.asCountry === null
        ? NO_REF
        : this.geos.acquire(`${app.country} ${app.asn} ${app.asCountry} ${app.asOrg}`, () => ({
            country: app.country,
            asn: app.asn,
            asOrg: app.asOrg,
            asCountry: app.asCountry,
          }));
    const j = app.judgement;
    this.judgementRef[slot] =
      j === null
        ? NO_REF
        : this.judgements.acquire(`${j.verdict} ${j.reasons.join(',')} ${JSON.stringify(j.matched)}`, () => j);
    const dns = app.dnsNames;
    const sni = app.sni;
    const host = app.httpHost;
    this.namesRef[slot] =
      dns.length === 0 && sni === null && host === null
        ? NO_REF
        : this.names.acquire(JSON.stringify([sni, host, dns]), () => ({ dns, sni, host }));
  }

  /** Fill a FlowApp freshly made for `slot` (tuple and protocol set) with what was recorded. */
  restore(slot: number, app: FlowApp): void {
    const bits = this.bits[slot];
    app.naming = false;
    app.appProto = APP_PROTOS[(bits >>> APP_SHIFT) & 7];
    app.ech = (bits & ECH) !== 0;
    app.encryptedDns = ENCRYPTED_DNS[(bits >>> ENC_DNS_SHIFT) & 3];
    app.internet = (bits & INTERNET) !== 0;
    app.decided = (bits & DECIDED) !== 0;
    app.alerted = (bits >>> ALERTED_SHIFT) & 3;
    const g = this.geoRef[slot];
    if (g !== NO_REF) {
      const geo = this.geos.get(g);
      app.country = geo.country;
      app.asn = geo.asn;
      app.asOrg = geo.asOrg;
      app.asCountry = geo.asCountry;
    }
    const j = this.judgementRef[slot];
    app.judgement = j === NO_REF ? null : this.judgements.get(j);
    const n = this.namesRef[slot];
    if (n !== NO_REF) {
      const names = this.names.get(n);
      app.restoreNames(names.dns, names.sni, names.host);
    }
    // The verdict was made with these names: nothing to judge again unless a name is added.
    if (app.decided) app.judgedNames = app.names();
  }

  /** The flow ended (or is being recorded again): let go of its shared values. */
  clear(slot: number): void {
    if (this.bits[slot] === 0) return;
    this.bits[slot] = 0;
    if (this.geoRef[slot] !== NO_REF) this.geos.release(this.geoRef[slot]);
    if (this.judgementRef[slot] !== NO_REF) this.judgements.release(this.judgementRef[slot]);
    if (this.namesRef[slot] !== NO_REF) this.names.release(this.namesRef[slot]);
  }
}
