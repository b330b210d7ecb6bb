// An index from a pair of IPv4 addresses (two 32-bit words) to a value, for
// the DNS answer cache's (client, address) entries: open addressing with
// linear probing in typed arrays, deletion by backward shift (Knuth, TAOCP
// vol. 3, §6.4, Algorithm R), so a lookup reads one or two cache lines and
// makes nothing. A Map keyed by "client address" text made and hashed a new
// string for every lookup, and its entries lay scattered over the heap:
// lookups there were most of the cache's time on a busy gateway.
//
// Bounded: at most `capacity` values (the caller's limit); the table is
// twice that, rounded up to a power of two, so probes stay short.

/** A value the index can hold: it keeps its own place in the table. */
export interface Indexed {
  /** Set by the index: where the value sits, -1 when it is not held. */
  indexAt: number;
}

export class PairIndex<T extends Indexed> {
  private readonly mask: number;
  private readonly shift: number;
  private readonly first: Int32Array;
  private readonly second: Int32Array;
  private readonly values: (T | undefined)[];
  size = 0;

  constructor(readonly capacity: number) {
    let bits = 1;
    // Stryker disable next-line EqualityOperator: a table twice as large where 2 × capacity is a power of two only shortens probes
    while (1 << bits < 2 * capacity) bits++;
    this.mask = (1 << bits) - 1;
    this.shift = 32 - bits;
    this.first = new Int32Array(1 << bits);
    this.second = new Int32Array(1 << bits);
    // Stryker disable next-line ArrayDeclaration: an empty array reads undefined at every index too (made full-size so V8 keeps it packed)
    this.values = new Array<T | undefined>(1 << bits).fill(undefined);
  }

  /** Where the pair would start probing: both words mixed (Fibonacci hashing of a murmur-style mix). */
  private home(a: number, b: number): number {
    const h = Math.imul(a ^ Math.imul(b, 0x85ebca6b) ^ (b >>> 13), 0x9e3779b1);
    return (h ^ (h >>> 16)) >>> this.shift;
  }

  get(a: number, b: number): T | undefined {
    const mask = this.mask;
    for (let i = this.home(a, b); ; i = (i + 1) & mask) {
      const v = this.values[i];
      if (v === undefined || (this.first[i] === a && this.second[i] === b)) return v;
    }
  }

  /** Holds `value` for the pair, which must not be held already; the caller keeps size within capacity. */
  add(a: number, b: number, value: T): void {
    if (this.size >= this.capacity) throw new RangeError(`pair index full (${this.capacity})`);
    const mask = this.mask;
    let i = this.home(a, b);
    while (this.values[i] !== undefined) i = (i + 1) & mask;
    this.first[i] = a;
    this.second[i] = b;
    this.values[i] = value;
    value.indexAt = i;
    this.size++;
  }

  /** Lets go of `value`; the values after it in its run move back, so no probe ever stops short. */
  delete(value: T): void {
    const mask = this.mask;
    let gap = value.indexAt;
    value.indexAt = -1;
    this.values[gap] = undefined;
    this.size--;
    for (let i = (gap + 1) & mask; ; i = (i + 1) & mask) {
      const v = this.values[i];
      if (v === undefined) return;
      const home = this.home(this.first[i], this.second[i]);
      // v may fill the gap unless its home lies cyclically in (gap, i].
      if (((i - home) & mask) < ((i - gap) & mask)) continue;
      this.first[gap] = this.first[i];
      this.second[gap] = this.second[i];
      this.values[gap] = v;
      v.indexAt = gap;
      this.values[i] = undefined;
      gap = i;
    }
  }
}

/**
 * The 32-bit word of an IPv4 address written as util/ip.ts writes it (dotted
 * quad, no leading zeros), or -1 for any other text (IPv6, or a form that
 * another text could also name: the caller keys those by their text).
 */
export function ipv4Word(text: string): number {
  const n = text.length;
  // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator: a fast exit; text of other lengths fails the checks below
  if (n < 7 || n > 15) return -1;
  let word = 0;
  let octet = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? text.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || octet > 255) return -1;
      word = word * 256 + octet;
      parts++;
      octet = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && octet === 0) return -1; // a leading zero: "01" names the same octet as "1"
      octet = octet * 10 + (c - 0x30);
      digits++;
    } else return -1;
  }
  return parts === 4 ? word : -1;
}
