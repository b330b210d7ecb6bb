// Textual IP addresses from 32-bit words: dotted quad, and IPv6 in the
// canonical form of RFC 5952 §4 (lowercase, longest run of zero groups
// compressed, first one on a tie, a single zero group not compressed).

/**
 * Text of recently formatted IPv4 addresses, direct-mapped by a hash of the
 * address: a gateway's traffic names the same few thousand addresses over
 * and over (its clients, its resolver), and formatting one makes four number
 * strings and a concatenation each time. 4,096 entries, a new address
 * replaces whatever shared its slot.
 */
const V4_CACHE_BITS = 12;
const v4Words = new Int32Array(1 << V4_CACHE_BITS);
const v4Texts: string[] = new Array<string>(1 << V4_CACHE_BITS).fill('');

export function formatIpv4(word: number): string {
  const w = word | 0;
  const slot = Math.imul(w, 0x9e3779b1) >>> (32 - V4_CACHE_BITS);
  const cached = v4Texts[slot];
  if (cached !== '' && v4Words[slot] === w) return cached;
  const text = `${(w >>> 24) & 0xff}.${(w >>> 16) & 0xff}.${(w >>> 8) & 0xff}.${w & 0xff}`;
  v4Words[slot] = w;
  v4Texts[slot] = text;
  return text;
}

export function formatIpv6(w0: number, w1: number, w2: number, w3: number): string {
  // IPv4-mapped addresses keep the dotted tail (RFC 5952 §5).
  if (w0 === 0 && w1 === 0 && w2 === 0xffff) return `::ffff:${formatIpv4(w3)}`;
  const g = GROUPS;
  g[0] = w0 >>> 16;
  g[1] = w0 & 0xffff;
  g[2] = w1 >>> 16;
  g[3] = w1 & 0xffff;
  g[4] = w2 >>> 16;
  g[5] = w2 & 0xffff;
  g[6] = w3 >>> 16;
  g[7] = w3 & 0xffff;
  let bestStart = -1;
  let bestLen = 1; // RFC 5952 §4.2.2: a single 16-bit 0 field is not shortened
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += i === 0 ? '::' : ':';
      i += bestLen - 1;
      continue;
    }
    out += g[i].toString(16);
    if (i < 7) out += ':';
  }
  return out;
}

const GROUPS = new Uint16Array(8);
