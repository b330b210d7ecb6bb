// Seeded fuzzing support, shared by the fuzz tests and scripts/fuzz: a small
// PRNG (mulberry32), an independent stream per case, byte mutators in the
// manner of AFL's havoc stage (bit flips, boundary bytes, interesting lengths,
// truncation, insertion, deletion, block copies), and random chunkings for
// streaming parsers. Seed inputs are in fuzz-corpus.ts, the checks and the
// watchdog the capture and decoder targets share in fuzz-run.ts.
// Every random choice comes from one seed, so a failure replays exactly.

export const DEFAULT_FUZZ_SEED = 0x5eed_e55e;

/** FUZZ_SEED (decimal or 0x-hex) or the fixed default, as an unsigned 32-bit number. */
export function fuzzSeed(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.FUZZ_SEED?.trim();
  if (!raw) return DEFAULT_FUZZ_SEED;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
    throw new Error(`FUZZ_SEED must be a 32-bit unsigned integer, got ${raw}`);
  return n;
}

/** FUZZ_ITERATIONS (total inputs across every target) or `fallback`. */
export function fuzzIterations(fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.FUZZ_ITERATIONS?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`FUZZ_ITERATIONS must be a positive integer, got ${raw}`);
  return n;
}

/** mulberry32: 32 bits of state, fast, good enough to drive a fuzzer, reproducible everywhere. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 2^32). */
  u32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.u32() / 4_294_967_296) * n);
  }

  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.u32() / 4_294_967_296 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

/** An independent stream for case `index` of target `target`, so any case can be replayed on its own. */
export function caseRng(seed: number, target: number, index: number): Rng {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ Math.imul(target + 1, 0xc2b2ae35), 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 15) ^ Math.imul(index + 1, 0x165667b1), 0x9e3779b1);
  return new Rng((h ^ (h >>> 16)) >>> 0);
}

// Values that sit on the edges length and type fields are checked against (AFL's "interesting" values,
// plus the header sizes these decoders care about).
const INTERESTING_8 = [0, 1, 4, 5, 6, 0x0f, 0x10, 0x40, 0x45, 0x60, 0x7f, 0x80, 0xff];
const INTERESTING_16 = [
  0, 1, 7, 8, 12, 16, 19, 20, 24, 28, 40, 0x7f, 0x80, 0xff, 0x100, 0x0800, 0x86dd, 0x8100, 0x88a8, 0x9100, 0x7fff,
  0x8000, 0xffff,
];
const INTERESTING_32 = [
  0, 1, 12, 16, 20, 28, 32, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x40000, 0x40001, 0x1000000, 0x0a0d0d0a,
  0x1a2b3c4d, 0x4d3c2b1a, 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0xa1b2cd34, 0x7fffffff, 0x80000000, 0xfffffffc,
  0xffffffff,
];

export const MUTATIONS = [
  'flip_bit',
  'set_zero',
  'set_ff',
  'set_random',
  'set_interesting',
  'add_small',
  'truncate',
  'insert',
  'delete',
  'copy_block',
] as const;

/**
 * A mutated copy of `input`: 1 to `maxOps` havoc operations, few more often
 * than many, so most mutants stay close to valid and reach deep code.
 */
export function mutate(rng: Rng, input: Buffer, maxOps = 8): Buffer {
  let b: Buffer = Buffer.from(input);
  const ops = 1 + Math.min(rng.below(maxOps), rng.below(maxOps));
  for (let i = 0; i < ops; i++) b = mutateOnce(rng, b);
  return b;
}

function mutateOnce(rng: Rng, b: Buffer): Buffer {
  const op = rng.pick(MUTATIONS);
  if (b.length === 0) return op === 'insert' ? rng.bytes(rng.range(1, 16)) : b;
  const at = rng.below(b.length);
  switch (op) {
    case 'flip_bit':
      b[at] ^= 1 << rng.below(8);
      return b;
    case 'set_zero':
      b[at] = 0;
      return b;
    case 'set_ff':
      b[at] = 0xff;
      return b;
    case 'set_random':
      b[at] = rng.below(256);
      return b;
    case 'set_interesting': {
      const width = rng.pick([1, 2, 4]);
      if (width === 1 || at + width > b.length) b[at] = rng.pick(INTERESTING_8);
      else if (width === 2) {
        const v = rng.pick(INTERESTING_16);
        if (rng.chance(0.5)) b.writeUInt16BE(v, at);
        else b.writeUInt16LE(v, at);
      } else {
        const v = rng.pick(INTERESTING_32);
        if (rng.chance(0.5)) b.writeUInt32BE(v, at);
        else b.writeUInt32LE(v, at);
      }
      return b;
    }
    case 'add_small':
      b[at] = (b[at] + rng.range(-16, 16)) & 0xff;
      return b;
    case 'truncate':
      return b.subarray(0, rng.below(b.length + 1));
    case 'insert': {
      const n = rng.range(1, 16);
      const fill = rng.chance(0.5) ? rng.bytes(n) : Buffer.alloc(n, rng.pick([0, 0xff]));
      return Buffer.concat([b.subarray(0, at), fill, b.subarray(at)]);
    }
    case 'delete': {
      const n = rng.range(1, Math.min(16, b.length - at));
      return Buffer.concat([b.subarray(0, at), b.subarray(at + n)]);
    }
    case 'copy_block': {
      const n = rng.range(1, Math.min(32, b.length));
      const from = rng.below(b.length - n + 1);
      const to = rng.below(b.length - n + 1);
      b.copy(b, to, from, from + n);
      return b;
    }
  }
}

/**
 * Chunk sizes that cover `length` bytes: single bytes, small odd sizes, a few
 * large spans, and empty chunks. At most about a thousand chunks, so a 30 KB
 * capture is not pushed a byte at a time; small inputs are.
 */
export function randomChunks(rng: Rng, length: number): number[] {
  const unit = Math.max(1, Math.ceil(length / 1000));
  const sizes: number[] = [];
  const style = rng.below(4);
  for (let pos = 0; pos < length; ) {
    let n: number;
    if (style === 0) n = unit;
    else if (style === 1) n = rng.range(unit, unit + 16);
    else if (style === 2) n = rng.range(1, Math.max(1, length >> 2));
    else n = rng.chance(0.1) ? 0 : rng.range(unit, unit + 63);
    sizes.push(n);
    pos += n;
  }
  return sizes;
}
