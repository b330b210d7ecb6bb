// A radix index over the sorted range starts of geo.bin, built at load: a
// multibit trie with 8-bit strides, as routing tables use for longest-prefix
// match (Srinivasan and Varghese, "Fast address lookups using controlled
// prefix expansion", 1999). A plain binary search over 350,000-630,000 starts
// costs about 20 unpredictable branches and as many cache misses; here the
// address's bytes pick table slots until a slot holds at most LEAF_MAX
// candidate ranges, then a short binary search ends it.
//
// Node n, covering the addresses with some prefix P of 8·d bits, holds for
// each next byte c: bound[n·257 + c] = the last range starting at or before
// the first address of P·c (so every address of P·c is answered by a range
// in bound[n·257 + c] … bound[n·257 + c + 1]), and child[n·256 + c] = the
// node for P·c, or -1 when that span is short.

/** Spans of at most this many ranges are binary-searched rather than split. */
const LEAF_MAX = 32;
const FANOUT = 256;

export interface RangeIndex {
  bound: Uint32Array;
  child: Int32Array;
}

/**
 * Builds the index over `starts`, `width` words per start (1 for IPv4, 4 for
 * IPv6, most significant word first), ascending, the first start 0.
 */
export function buildRangeIndex(starts: Uint32Array, width: 1 | 4): RangeIndex {
  const bits = 32 * width;
  const count = starts.length / width;
  const bound: number[] = [];
  const child: number[] = [];
  const key = new Uint32Array(4);

  /** start[i] <= key (4 words, only `width` used)? */
  const atOrBefore = (i: number): boolean => {
    for (let w = 0; w < width; w++) {
      const x = starts[i * width + w];
      if (x !== key[w]) return x < key[w];
    }
    return true;
  };

  // Breadth-first: the node list is the work queue.
  const queue: { prefix: Uint32Array; depth: number; lo: number; hi: number }[] = [
    { prefix: new Uint32Array(4), depth: 0, lo: 0, hi: count - 1 },
  ];
  for (let n = 0; n < queue.length; n++) {
    const { prefix, depth, lo, hi } = queue[n];
    const word = depth >>> 5;
    const shift = 24 - (depth & 31);
    let j = lo;
    for (let c = 0; c < FANOUT; c++) {
      key.set(prefix);
      key[word] = (key[word] | (c << shift)) >>> 0;
      while (j < hi && atOrBefore(j + 1)) j++;
      bound.push(j);
    }
    bound.push(hi);
    for (let c = 0; c < FANOUT; c++) {
      const from = bound[n * (FANOUT + 1) + c];
      const to = bound[n * (FANOUT + 1) + c + 1];
      if (to - from > LEAF_MAX && depth + 8 < bits) {
        const sub = prefix.slice();
        sub[word] = (sub[word] | (c << shift)) >>> 0;
        child.push(queue.length);
        queue.push({ prefix: sub, depth: depth + 8, lo: from, hi: to });
      } else {
        child.push(-1);
      }
    }
  }
  return { bound: Uint32Array.from(bound), child: Int32Array.from(child) };
}

/** Index of the last IPv4 range starting at or before a (unsigned). */
export function findV4(index: RangeIndex, starts: Uint32Array, a: number): number {
  const { bound, child } = index;
  let node = 0;
  let shift = 24;
  let slot = (a >>> shift) & 0xff;
  for (let next = child[slot]; next >= 0; next = child[node * FANOUT + slot]) {
    node = next;
    shift -= 8;
    slot = (a >>> shift) & 0xff;
  }
  let lo = bound[node * (FANOUT + 1) + slot];
  let hi = bound[node * (FANOUT + 1) + slot + 1];
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (starts[mid] <= a) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Index of the last IPv6 range starting at or before k0:k1:k2:k3 (unsigned words). */
export function findV6(index: RangeIndex, s: Uint32Array, k0: number, k1: number, k2: number, k3: number): number {
  const { bound, child } = index;
  let node = 0;
  let depth = 0;
  let slot = k0 >>> 24;
  for (let next = child[slot]; next >= 0; next = child[node * FANOUT + slot]) {
    node = next;
    depth += 8;
    const word = depth < 32 ? k0 : depth < 64 ? k1 : depth < 96 ? k2 : k3;
    slot = (word >>> (24 - (depth & 31))) & 0xff;
  }
  let lo = bound[node * (FANOUT + 1) + slot];
  let hi = bound[node * (FANOUT + 1) + slot + 1];
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
