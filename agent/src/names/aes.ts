// AES-128 encryption of one block (FIPS 197), for QUIC header protection
// (RFC 9001 §5.4.3: the mask is AES-ECB of a 16-byte sample under the hp key).
//
// Written here, not taken from node:crypto or a library, because of cost per
// key, not of correctness: every QUIC connection has its own hp key and needs
// it for one or two blocks. createCipheriv spends ~7 µs setting up a native
// object per key and @noble/ciphers' ecb() ~6 µs (both measured on this
// machine, 40,000 keys); here the key schedule and one block take well under
// a microsecond, with no allocation after the key's 44 words. Not constant
// time: Initial keys are derived from the connection ID the packet carries in
// clear (RFC 9001 §5.2), there is no secret to leak. Checked against FIPS 197
// Appendix C.1, RFC 9001 Appendix A.2 and node:crypto on random keys.

/** FIPS 197 §5.1.1: the S-box, built from the multiplicative inverse in GF(2^8) and the affine map. */
const SBOX = new Uint8Array(256);
/** T-tables: SubBytes, ShiftRows' byte and MixColumns for one state byte, rotated per row. */
const T0 = new Int32Array(256);
const T1 = new Int32Array(256);
const T2 = new Int32Array(256);
const T3 = new Int32Array(256);
/** §5.2 Rcon[i] for AES-128's ten rounds, in the word's top byte. */
const RCON = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36];

const rotl8 = (x: number, n: number) => ((x << n) | (x >>> (8 - n))) & 0xff;
const xtime = (x: number) => ((x << 1) ^ (x & 0x80 ? 0x1b : 0)) & 0xff;

{
  // p walks GF(2^8)* by powers of 3, q by powers of 3^-1, so q = p^-1 at every step.
  let p = 1;
  let q = 1;
  do {
    p = p ^ xtime(p);
    q ^= q << 1;
    q ^= q << 2;
    q ^= q << 4;
    q &= 0xff;
    if (q & 0x80) q ^= 0x09;
    SBOX[p] = q ^ rotl8(q, 1) ^ rotl8(q, 2) ^ rotl8(q, 3) ^ rotl8(q, 4) ^ 0x63;
  } while (p !== 1);
  SBOX[0] = 0x63;
  for (let x = 0; x < 256; x++) {
    const s = SBOX[x];
    const s2 = xtime(s);
    const t = (s2 << 24) | (s << 16) | (s << 8) | (s2 ^ s);
    T0[x] = t;
    T1[x] = (t >>> 8) | (t << 24);
    T2[x] = (t >>> 16) | (t << 16);
    T3[x] = (t >>> 24) | (t << 8);
  }
}

function subWord(w: number): number {
  return (SBOX[w >>> 24] << 24) | (SBOX[(w >>> 16) & 0xff] << 16) | (SBOX[(w >>> 8) & 0xff] << 8) | SBOX[w & 0xff];
}

function word(b: Uint8Array, o: number): number {
  return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
}

/** FIPS 197 §5.2: the 44 round-key words of a 16-byte key. */
export function aes128Schedule(key: Uint8Array): Int32Array {
  if (key.length !== 16) throw new RangeError(`AES-128 keys are 16 bytes, got ${key.length}`);
  const w = new Int32Array(44);
  // Stryker disable next-line EqualityOperator: i = 4 would write w[4] from bytes past the key (0), and the loop below sets w[4] anew
  for (let i = 0; i < 4; i++) w[i] = word(key, 4 * i);
  // Stryker disable next-line EqualityOperator: w is an Int32Array(44): a write to w[44] is dropped
  for (let i = 4; i < 44; i++) {
    let t = w[i - 1];
    if ((i & 3) === 0) t = subWord((t << 8) | (t >>> 24)) ^ (RCON[(i >> 2) - 1] << 24);
    w[i] = w[i - 4] ^ t;
  }
  return w;
}

/** FIPS 197 §5.1: encrypts in[at, at + 16) under `w` into out[0, 16). */
export function aes128EncryptBlock(w: Int32Array, input: Uint8Array, at: number, out: Uint8Array): void {
  let s0 = word(input, at) ^ w[0];
  let s1 = word(input, at + 4) ^ w[1];
  let s2 = word(input, at + 8) ^ w[2];
  let s3 = word(input, at + 12) ^ w[3];
  for (let r = 4; r < 40; r += 4) {
    const t0 = T0[s0 >>> 24] ^ T1[(s1 >>> 16) & 0xff] ^ T2[(s2 >>> 8) & 0xff] ^ T3[s3 & 0xff] ^ w[r];
    const t1 = T0[s1 >>> 24] ^ T1[(s2 >>> 16) & 0xff] ^ T2[(s3 >>> 8) & 0xff] ^ T3[s0 & 0xff] ^ w[r + 1];
    const t2 = T0[s2 >>> 24] ^ T1[(s3 >>> 16) & 0xff] ^ T2[(s0 >>> 8) & 0xff] ^ T3[s1 & 0xff] ^ w[r + 2];
    const t3 = T0[s3 >>> 24] ^ T1[(s0 >>> 16) & 0xff] ^ T2[(s1 >>> 8) & 0xff] ^ T3[s2 & 0xff] ^ w[r + 3];
    s0 = t0;
    s1 = t1;
    s2 = t2;
    s3 = t3;
  }
  // The last round has no MixColumns: S-box and ShiftRows only.
  put(out, 0, lastRound(s0, s1, s2, s3) ^ w[40]);
  put(out, 4, lastRound(s1, s2, s3, s0) ^ w[41]);
  put(out, 8, lastRound(s2, s3, s0, s1) ^ w[42]);
  put(out, 12, lastRound(s3, s0, s1, s2) ^ w[43]);
}

function lastRound(a: number, b: number, c: number, d: number): number {
  return (SBOX[a >>> 24] << 24) | (SBOX[(b >>> 16) & 0xff] << 16) | (SBOX[(c >>> 8) & 0xff] << 8) | SBOX[d & 0xff];
}

function put(out: Uint8Array, o: number, v: number): void {
  out[o] = v >>> 24;
  out[o + 1] = (v >>> 16) & 0xff;
  out[o + 2] = (v >>> 8) & 0xff;
  out[o + 3] = v & 0xff;
}
