// A radix index over the sorted range starts of geo.bin, built at load: a
// multibit trie, as routing tables use for longest-prefix match (Srinivasan
// and Varghese, "Fast address lookups using controlled prefix expansion",
// 1999). A plain binary search over 350,000-630,000 starts costs about 20
// unpredictable branches and as many cache misses; here the address's first
// 16 bits, then its next bytes, pick table slots until a slot holds at most
// LEAF_MAX candidate ranges, and a short binary search ends it.
//
// A node covers the addresses with some prefix P. For each value c of the
// next 16 (root) or 8 bits it holds a slot of two words:
//   bound: the last range starting at or before the first address of P·c, so
//          every address of P·c is answered by a range between this slot's
//          bound and the next slot's (each node has one extra slot at the end);
//   child: the position of the node for P·c, or -1 when that span is short.
// Bound and child sit side by side so a level costs one cache line, not two.

/** Spans of at most this many ranges are binary-searched rather than split. */
const LEAF_MAX = 128;
/** The root splits on the first 16 bits, every level below on the next 8. */
const ROOT_BITS = 16;
const STRIDE = 8;

/** Slots of 2 words: [bound, child] for each prefix value, and one more bound. */
export type RangeIndex = Int32Array;

/**
 * Builds the index over `starts`, `width` words per start (1 for IPv4, 4 for
 * IPv6, most significant word first), ascending, the first start 0.
 */
export function buildRangeIndex(starts: Uint32Array, width: 1 | 4): RangeIndex {
  const bits = 32 * width;
  const count = starts.length / width;
  let index = new Int32Array(1 << 19);
  const key = new Uint32Array(4);
  // Breadth-first; the queue is the list of nodes.
  const queue = [{ at: 0, prefix: new Uint32Array(4), depth: 0, stride: ROOT_BITS, lo: 0, hi: count - 1 }];
  let end = 2 * ((1 << ROOT_BITS) + 1);
  for (const { at, prefix, depth, stride, lo, hi } of queue) {
    const slots = 1 << stride;
    while (end > index.length) {
      // Doubles when full: no large temporary JS arrays at load.
      const bigger = new Int32Array(index.length * 2);
      bigger.set(index);
      index = bigger;
    }
    const word = depth >>> 5;
    const shift = 32 - stride - (depth & 31);
    let j = lo;
    key.set(prefix);
    for (let c = 0; c < slots; c++) {
      key[word] = (prefix[word] | (c << shift)) >>> 0;
      while (j < hi && atOrBefore(starts, width, j + 1, key)) j++;
      index[at + 2 * c] = j;
    }
    index[at + 2 * slots] = hi;
    index[at + 2 * slots + 1] = -1;
    for (let c = 0; c < slots; c++) {
      const from = index[at + 2 * c];
      const to = index[at + 2 * c + 2];
      index[at + 2 * c + 1] = -1;
      if (to - from > LEAF_MAX && depth + stride + STRIDE <= bits) {
        const sub = prefix.slice();
        sub[word] = (sub[word] | (c << shift)) >>> 0;
        index[at + 2 * c + 1] = end;
        queue.push({ at: end, prefix: sub, depth: depth + stride, stride: STRIDE, lo: from, hi: to });
        end += 2 * ((1 << STRIDE) + 1);
      }
    }
  }
  return index.slice(0, end);
}

/** starts[i] <= key, comparing the first `width` words? */
function atOrBefore(starts: Uint32Array, width: number, i: number, key: Uint32Array): boolean {
  const b = i * width;
  for (let w = 0; w < width; w++) {
    const x = starts[b + w];
    if (x !== key[w]) return x < key[w];
  }
  return true;
}

/** Index of the last IPv4 range starting at or before a (unsigned). */
export function findV4(index: RangeIndex, starts: Uint32Array, a: number): number {
  let at = 0;
  let shift = 32 - ROOT_BITS;
  let slot = 2 * (a >>> shift);
  for (let next = index[slot + 1]; next >= 0; next = index[at + slot + 1]) {
    at = next;
    shift -= STRIDE;
    slot = 2 * ((a >>> shift) & 0xff);
  }
  let lo = index[at + slot];
  let hi = index[at + slot + 2];
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (starts[mid] <= a) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Index of the last IPv6 range starting at or before k0:k1:k2:k3 (unsigned words). */
export function findV6(index: RangeIndex, s: Uint32Array, k0: number, k1: number, k2: number, k3: number): number {
  let at = 0;
  let depth = ROOT_BITS;
  let slot = 2 * (k0 >>> (32 - ROOT_BITS));
  for (let next = index[slot + 1]; next >= 0; next = index[at + slot + 1]) {
    at = next;
    const word = depth < 32 ? k0 : depth < 64 ? k1 : depth < 96 ? k2 : k3;
    slot = 2 * ((word >>> (32 - STRIDE - (depth & 31))) & 0xff);
    depth += STRIDE;
  }
  let lo = index[at + slot];
  let hi = index[at + slot + 2];
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    const b = mid << 2;
    // Lexicographic start <= key, deciding on the first word that differs.
    const x0 = s[b];
    let le = x0 < k0;
    if (x0 === k0) {
      const x1 = s[b + 1];
      le = x1 < k1;
      if (x1 === k1) {
        const x2 = s[b + 2];
        le = x2 < k2 || (x2 === k2 && s[b + 3] <= k3);
      }
    }
    if (le) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
