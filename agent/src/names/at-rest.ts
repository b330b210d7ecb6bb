// What the names, enrich and policy stages know about a flow between its
// packets (DESIGN.md "A flow's names"): flags and counters in slot-indexed
// typed arrays beside the flow table (flow/table.ts), and its names, network
// and verdict as references into tables of shared values. A flow is held
// this way whenever it has no reassembly or DNS-over-TCP state, which is
// most flows most of the time; no object per flow keeps the heap, and the
// collector's work, small. A FlowApp is made from the record when a packet
// or the flow's end needs one, and recorded again afterwards.
//
// Bounded by the flow table: each recorded flow holds at most one reference
// into each shared table, so a table never holds more values than there are
// open flows, and a value goes when the last flow holding it lets go.

import { randomInt } from 'node:crypto';
import type { GeoAnswer } from '../enrich/geo.js';
import type { Judgement } from '../policy/verdict.js';
import type { EncryptedDns } from './encrypted-dns.js';
import type { AppProto, FlowApp } from './flow-app.js';

/** Bits of `FlowsAtRest.bits`; 0 means "nothing recorded". */
const RECORDED = 1;
const APP_SHIFT = 1; // 3 bits: index into APP_PROTOS
const ECH = 1 << 4;
const ENC_DNS_SHIFT = 5; // 2 bits: index into ENCRYPTED_DNS
const INTERNET = 1 << 7;
const DECIDED = 1 << 8;
const ALERTED_SHIFT = 9; // 2 bits: highest severity alerted
const NAMING = 1 << 11;
/** The verdict was made with the flow's current names. */
const JUDGED_CURRENT = 1 << 12;
/** `isn` holds the client's initial sequence number. */
const HAS_ISN = 1 << 13;
const APP_MASK = 7 << APP_SHIFT;

const APP_PROTOS: readonly (AppProto | null)[] = [null, 'dns', 'tls', 'quic', 'http'];
const DNS_BITS = 1 << APP_SHIFT;
const ENCRYPTED_DNS: readonly (EncryptedDns | null)[] = [null, 'dot', 'doq', 'doh'];

interface FlowNames {
  dns: readonly string[];
  sni: string | null;
  host: string | null;
  /** FlowApp.names() for these. */
  all: string[];
}

/** No ids under a key. */
const NO_IDS: readonly number[] = Object.freeze([]);

/**
 * Values shared by the flows that hold them, each counted so that it goes
 * when its last holder lets go. `size` is the number of distinct values held.
 *
 * A value is filed under a key that every equal value has (K: a string that
 * names it whole, or a number or a string of it that most values do not
 * share): find() gives the first id under a key that names a value whole;
 * under any other key the caller compares the candidates() itself. That
 * spares making a key of the whole value for every flow (for a flow's names
 * a JSON text of them all: ~5 % of a scan's time went into making and
 * hashing those).
 */
export class SharedValues<T extends object, K = string> {
  private readonly ids = new Map<K, number[]>();
  /** The same, by the held value itself: a caller holding a shared value finds it without making a key. */
  private readonly idsByValue = new Map<T, number>();
  private readonly values: (T | undefined)[] = [];
  // Stryker disable next-line ArrayDeclaration: add() writes an id's key before release() reads it
  private readonly keys: K[] = [];
  private refs = new Int32Array(64);
  private readonly free: number[] = [];
  private held = 0;

  get size(): number {
    return this.held;
  }

  /** The first id held under `key`, or -1: for a key that names a value whole. Follow with hold(), or add() when -1. */
  find(key: K): number {
    const ids = this.ids.get(key);
    return ids === undefined ? -1 : ids[0];
  }

  /** The ids held under `key`, for the caller to compare their values with the one it has (do not modify). */
  candidates(key: K): readonly number[] {
    return this.ids.get(key) ?? NO_IDS;
  }

  /** The id of `value` when it is itself the held one, or -1. */
  findValue(value: T): number {
    return this.idsByValue.get(value) ?? -1;
  }

  /** Take a reference to a held value. */
  hold(id: number): number {
    this.refs[id]++;
    return id;
  }

  /** Hold a new value, filed under `key`; returns its id, with one reference taken. */
  add(key: K, value: T): number {
    const id = this.free.pop() ?? this.values.length;
    if (id >= this.refs.length) {
      const bigger = new Int32Array(this.refs.length * 2);
      bigger.set(this.refs);
      this.refs = bigger;
    }
    this.values[id] = value;
    this.keys[id] = key;
    const ids = this.ids.get(key);
    if (ids === undefined) this.ids.set(key, [id]);
    else ids.push(id);
    this.idsByValue.set(value, id);
    this.refs[id] = 1;
    this.held++;
    return id;
  }

  get(id: number): T {
    return this.values[id] as T;
  }

  release(id: number): void {
    if (--this.refs[id] > 0) return;
    const key = this.keys[id];
    const ids = this.ids.get(key) as number[];
    if (ids.length === 1) this.ids.delete(key);
    else {
      // Stryker disable next-line UnaryOperator: the id is always in its key's list
      const at = ids.indexOf(id);
      ids[at] = ids[ids.length - 1];
      ids.pop();
    }
    this.idsByValue.delete(this.values[id] as T);
    this.values[id] = undefined;
    this.free.push(id);
    this.held--;
  }
}

export class FlowsAtRest {
  /** Per slot: 0 while nothing is recorded, else the RECORDED bit and the flags. */
  readonly bits: Uint16Array;
  private readonly isn: Uint32Array;
  private readonly quicDatagrams: Uint8Array;
  /** References into the shared tables, plus one (0: none). */
  private readonly geoRef: Int32Array;
  private readonly judgementRef: Int32Array;
  private readonly namesRef: Int32Array;
  /** Filed by a hash of AS number and countries (geoKey); the organisation is compared. */
  readonly geos = new SharedValues<GeoAnswer, number>();
  /** Filed by a text of the whole judgement (most are found as themselves first: policy/verdict.ts keeps them). */
  readonly judgements = new SharedValues<Judgement>();
  /** Filed by a hash of all the names (namesKey); the names are compared. */
  readonly names = new SharedValues<FlowNames, number>();

  /**
   * `keyMask`: the bits of a value's hash its key keeps (tests give 0, which
   * files every value under one key, so that only comparing tells them apart).
   */
  constructor(
    maxFlows: number,
    private readonly keyMask = KEY_MASK,
  ) {
    this.bits = new Uint16Array(maxFlows);
    this.isn = new Uint32Array(maxFlows);
    this.quicDatagrams = new Uint8Array(maxFlows);
    this.geoRef = new Int32Array(maxFlows);
    this.judgementRef = new Int32Array(maxFlows);
    this.namesRef = new Int32Array(maxFlows);
  }

  /** Does the names stage read this recorded flow's packets (still naming, or DNS)? */
  readsPackets(slot: number): boolean {
    const b = this.bits[slot];
    return (b & NAMING) !== 0 || (b & APP_MASK) === DNS_BITS;
  }

  /** Is this recorded flow's destination on the internet? */
  isInternet(slot: number): boolean {
    return (this.bits[slot] & INTERNET) !== 0;
  }

  isNaming(slot: number): boolean {
    return (this.bits[slot] & NAMING) !== 0;
  }

  /** Record `app` for `slot` (replacing what was recorded); the caller then drops the object. */
  record(slot: number, app: FlowApp): void {
    // Stryker disable next-line ConditionalExpression: ENCRYPTED_DNS.indexOf(null) is 0 too
    const enc = app.encryptedDns === null ? 0 : ENCRYPTED_DNS.indexOf(app.encryptedDns);
    this.bits[slot] =
      RECORDED |
      (APP_PROTOS.indexOf(app.appProto) << APP_SHIFT) |
      (app.ech ? ECH : 0) |
      (enc << ENC_DNS_SHIFT) |
      (app.internet ? INTERNET : 0) |
      (app.decided ? DECIDED : 0) |
      (app.alerted << ALERTED_SHIFT) |
      (app.naming ? NAMING : 0) |
      // Stryker disable next-line ConditionalExpression: names() is never null; the test only spares the call
      (app.judgedNames !== null && app.judgedNames === app.names() ? JUDGED_CURRENT : 0) |
      (app.clientIsn >= 0 ? HAS_ISN : 0);
    this.isn[slot] = Math.max(app.clientIsn, 0);
    this.quicDatagrams[slot] = Math.min(app.quicDatagrams, 255);
    this.recordGeo(slot, app);
    this.recordJudgement(slot, app.judgement);
    this.recordNames(slot, app);
  }

  /** Fill a FlowApp freshly made for `slot` (tuple and protocol set) with what was recorded. */
  restore(slot: number, app: FlowApp): void {
    const bits = this.bits[slot];
    app.naming = (bits & NAMING) !== 0;
    app.appProto = APP_PROTOS[(bits >>> APP_SHIFT) & 7];
    app.ech = (bits & ECH) !== 0;
    app.encryptedDns = ENCRYPTED_DNS[(bits >>> ENC_DNS_SHIFT) & 3];
    app.internet = (bits & INTERNET) !== 0;
    app.decided = (bits & DECIDED) !== 0;
    app.alerted = (bits >>> ALERTED_SHIFT) & 3;
    app.clientIsn = (bits & HAS_ISN) !== 0 ? this.isn[slot] : -1;
    app.quicDatagrams = this.quicDatagrams[slot];
    const g = this.geoRef[slot];
    if (g !== 0) {
      const geo = this.geos.get(g - 1);
      app.country = geo.country;
      app.asn = geo.asn;
      app.asOrg = geo.asOrg;
      app.asCountry = geo.asCountry;
    }
    const j = this.judgementRef[slot];
    app.judgement = j === 0 ? null : this.judgements.get(j - 1);
    const n = this.namesRef[slot];
    if (n !== 0) {
      const names = this.names.get(n - 1);
      app.restoreNames(names.dns, names.sni, names.host, names.all);
    }
    // Unless a name is added, the verdict stands (decide() compares this with names()).
    if ((bits & JUDGED_CURRENT) !== 0) app.judgedNames = app.names();
  }

  /** The flow ended: let go of its shared values. */
  clear(slot: number): void {
    // Stryker disable next-line ConditionalExpression: a slot with nothing recorded holds no reference, so the rest lets go of nothing
    if (this.bits[slot] === 0) return;
    this.bits[slot] = 0;
    this.recordGeo(slot, null);
    this.recordJudgement(slot, null);
    this.recordNames(slot, null);
  }

  // Each keeps the reference it holds when the value is the same, else takes the new one before letting go of the old.

  private recordGeo(slot: number, g: GeoAnswer | null): void {
    const old = this.geoRef[slot];
    if (g === null || (g.country === null && g.asn === null && g.asOrg === null && g.asCountry === null)) {
      if (old !== 0) this.geos.release(old - 1);
      this.geoRef[slot] = 0;
      return;
    }
    if (old !== 0) {
      const o = this.geos.get(old - 1);
      if (o.country === g.country && o.asn === g.asn && o.asOrg === g.asOrg && o.asCountry === g.asCountry) return;
    }
    const key = geoKey(g) & this.keyMask;
    let id = -1;
    for (const c of this.geos.candidates(key)) {
      const v = this.geos.get(c);
      if (v.asn === g.asn && v.country === g.country && v.asOrg === g.asOrg && v.asCountry === g.asCountry) {
        id = c;
        break;
      }
    }
    this.geoRef[slot] =
      1 +
      (id >= 0
        ? this.geos.hold(id)
        : this.geos.add(key, { country: g.country, asn: g.asn, asOrg: g.asOrg, asCountry: g.asCountry }));
    if (old !== 0) this.geos.release(old - 1);
  }

  private recordJudgement(slot: number, j: Judgement | null): void {
    const old = this.judgementRef[slot];
    // Stryker disable next-line ConditionalExpression,LogicalOperator: the guards only spare get(-1) (undefined) and a null compare; neither is ever the held judgement
    if (old !== 0 && j !== null && this.judgements.get(old - 1) === j) return;
    let ref = 0;
    if (j !== null) {
      // The shared judgements (allowed, not allow-listed) are found as themselves.
      let id = this.judgements.findValue(j);
      if (id < 0) {
        const key = `${j.verdict} ${j.reasons.join(',')} ${JSON.stringify(j.matched)}`;
        id = this.judgements.find(key);
        if (id < 0) id = this.judgements.add(key, j);
        else this.judgements.hold(id);
      } else this.judgements.hold(id);
      ref = 1 + id;
    }
    this.judgementRef[slot] = ref;
    if (old !== 0) this.judgements.release(old - 1);
  }

  private recordNames(slot: number, app: FlowApp | null): void {
    const old = this.namesRef[slot];
    const dns = app === null ? NO_NAMES : app.dnsNames;
    const sni = app === null ? null : app.sni;
    const host = app === null ? null : app.httpHost;
    if (old !== 0) {
      const o = this.names.get(old - 1);
      if (o.dns === dns && o.sni === sni && o.host === host) return;
    }
    let ref = 0;
    if (app !== null && (dns.length > 0 || sni !== null || host !== null)) {
      const key = namesKey(sni, host, dns) & this.keyMask;
      let id = -1;
      for (const c of this.names.candidates(key)) {
        const v = this.names.get(c);
        if (v.sni === sni && v.host === host && sameNames(v.dns, dns)) {
          id = c;
          break;
        }
      }
      ref = 1 + (id >= 0 ? this.names.hold(id) : this.names.add(key, { dns, sni, host, all: app.names() }));
    }
    this.namesRef[slot] = ref;
    if (old !== 0) this.names.release(old - 1);
  }
}

const NO_NAMES: readonly string[] = Object.freeze([]);

// Keys of the shared values: hashes (FNV-1a over UTF-16 units, 30 bits: a small integer), with a
// seed drawn per process, as the flow table's (flow/key.ts), so that traffic cannot be made to
// pile its flows under one key. Values under one key are told apart by comparing them.
const SEED = randomInt(0x7fffffff);
/** 30 bits: a key is a small integer. */
const KEY_MASK = 0x3fffffff;
const PRIME = 0x01000193;
/** Mixed in after each text (and for an absent one): no UTF-16 unit has this value. */
const END = 0x10000;

// A key only decides which values are compared with one another (recordGeo, recordNames): any hash,
// even a poorer one, gives the same records, so the hash functions' own mutants are equivalent.

function mixText(h: number, s: string | null): number {
  // Stryker disable next-line EqualityOperator: see above (a unit more or fewer hashed)
  if (s !== null) for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), PRIME);
  // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: see above
  return Math.imul(h ^ (s === null ? END + 1 : END), PRIME);
}

function geoKey(g: GeoAnswer): number {
  // Stryker disable next-line UnaryOperator: see above
  let h = Math.imul(SEED ^ (g.asn ?? -1), PRIME);
  h = mixText(h, g.country);
  return mixText(h, g.asCountry);
}

function namesKey(sni: string | null, host: string | null, dns: readonly string[]): number {
  let h = mixText(mixText(SEED, sni), host);
  // Stryker disable next-line ConditionalExpression: see above (the DNS names left out of the hash)
  for (let i = 0; i < dns.length; i++) h = mixText(h, dns[i]);
  return h;
}

/** The same names in the same order. */
function sameNames(a: readonly string[], b: readonly string[]): boolean {
  // Stryker disable next-line ConditionalExpression: a shortcut; the same list compares equal name by name too
  if (a === b) return true;
  if (a.length !== b.length) return false;
  // Stryker disable next-line EqualityOperator: one step past the end compares undefined with undefined
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
