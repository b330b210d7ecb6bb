// HMAC-SHA-256 (RFC 2104, FIPS 180-4) for messages of one block, as the
// HKDF steps (RFC 5869) of QUIC Initial keys need them (RFC 9001 §5.2).
//
// Written here, not taken from node:crypto or a library, because of cost per
// call, not of correctness: every QUIC connection has its own Destination
// Connection ID, so its Initial keys are five HMACs of under 64 bytes each.
// Node's createHmac spends ~10 µs per call setting up a native object (about
// 8 % of a scan of gateway-shaped traffic went there); @noble/hashes
// allocates per call and is slower still. Here a message that fits one
// block (≤ 55 bytes: Connection IDs are ≤ 20, HKDF labels ≤ 30) is one
// compression on top of a key's precomputed inner and outer states, with no
// allocation. Checked against RFC 4231's HMAC vectors and, through
// quic-keys.ts, RFC 9001/9369 Appendix A.

/** FIPS 180-4 §4.2.2 */
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);
/** FIPS 180-4 §5.3.3 */
const IV = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);
const BLOCK = 64;
/** The most message bytes that fit one final block with its padding and length. */
export const ONE_BLOCK_MAX = BLOCK - 9;
const w = new Int32Array(64);
const block = new Uint8Array(BLOCK);
const inner = new Int32Array(8);
const innerBytes = new Uint8Array(32);

/** One SHA-256 compression of `b` (64 bytes) into `h`. */
function compress(h: Int32Array, b: Uint8Array): void {
  // Stryker disable next-line EqualityOperator: i = 16 would set w[16] from bytes past the block (0), and the next loop sets w[16] anew
  for (let i = 0; i < 16; i++) w[i] = (b[4 * i] << 24) | (b[4 * i + 1] << 16) | (b[4 * i + 2] << 8) | b[4 * i + 3];
  // Stryker disable next-line EqualityOperator: w is an Int32Array(64): a write to w[64] is dropped
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15];
    const y = w[i - 2];
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
  }
  let a = h[0];
  let bb = h[1];
  let c = h[2];
  let d = h[3];
  let e = h[4];
  let f = h[5];
  let g = h[6];
  let hh = h[7];
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
    hh = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = bb;
    bb = a;
    a = (t1 + t2) | 0;
  }
  h[0] = (h[0] + a) | 0;
  h[1] = (h[1] + bb) | 0;
  h[2] = (h[2] + c) | 0;
  h[3] = (h[3] + d) | 0;
  h[4] = (h[4] + e) | 0;
  h[5] = (h[5] + f) | 0;
  h[6] = (h[6] + g) | 0;
  h[7] = (h[7] + hh) | 0;
}

/** `out` = the state `from` after a final block holding `msg` (≤ ONE_BLOCK_MAX bytes), `prefixed` bytes hashed before it. */
function finish(from: Int32Array, msg: Uint8Array, prefixed: number, out: Int32Array): void {
  block.fill(0);
  block.set(msg);
  block[msg.length] = 0x80;
  const bits = (prefixed + msg.length) * 8;
  // Stryker disable next-line ArithmeticOperator: bits ≤ (64 + 55) · 8 < 2^16, so this byte is 0, as fill(0) left it; block[64+] writes are dropped
  block[BLOCK - 4] = bits >>> 24;
  // Stryker disable next-line ArithmeticOperator: as above, bits < 2^16 makes this byte 0 too
  block[BLOCK - 3] = (bits >>> 16) & 0xff;
  block[BLOCK - 2] = (bits >>> 8) & 0xff;
  block[BLOCK - 1] = bits & 0xff;
  out.set(from);
  compress(out, block);
}

function wordsToBytes(h: Int32Array, out: Uint8Array, length: number): void {
  // Stryker disable next-line EqualityOperator: out holds exactly `length` bytes (a typed array): a write past its end is dropped
  for (let i = 0; i < length; i++) out[i] = (h[i >> 2] >>> (24 - 8 * (i & 3))) & 0xff;
}

/** An HMAC-SHA-256 key's states after its inner and outer pad blocks. */
export class HmacKey {
  private readonly inner = new Int32Array(8);
  private readonly outer = new Int32Array(8);

  /** `key`: at most 64 bytes (longer keys are hashed first by RFC 2104, never needed here). */
  constructor(key: Uint8Array) {
    if (key.length > BLOCK) throw new RangeError('HMAC keys over 64 bytes are not supported here');
    const pad = new Uint8Array(BLOCK);
    // Stryker disable next-line EqualityOperator,ConditionalExpression: pad[64] is dropped (typed array), and key[i] past the key is undefined, which XORs as 0
    for (let i = 0; i < BLOCK; i++) pad[i] = (i < key.length ? key[i] : 0) ^ 0x36;
    this.inner.set(IV);
    compress(this.inner, pad);
    // Stryker disable next-line EqualityOperator,ConditionalExpression: as for the inner pad
    for (let i = 0; i < BLOCK; i++) pad[i] = (i < key.length ? key[i] : 0) ^ 0x5c;
    this.outer.set(IV);
    compress(this.outer, pad);
  }

  /** The first `length` bytes (≤ 32) of HMAC(key, msg) into a new Buffer; `msg` ≤ ONE_BLOCK_MAX bytes. */
  mac(msg: Uint8Array, length = 32): Buffer {
    if (msg.length > ONE_BLOCK_MAX) throw new RangeError(`message over ${ONE_BLOCK_MAX} bytes`);
    finish(this.inner, msg, BLOCK, inner);
    wordsToBytes(inner, innerBytes, 32);
    const out = new Int32Array(8);
    finish(this.outer, innerBytes, BLOCK, out);
    const bytes = Buffer.allocUnsafe(length);
    wordsToBytes(out, bytes, length);
    return bytes;
  }
}
