// CIDR prefixes for IPv4 and IPv6 (RFC 4632, RFC 4291 §2.3), parsed once
// into 32-bit words and matched against addresses in the same word form the
// flow table stores. Small lists (policies) are matched linearly.

export interface Cidr {
  text: string;
  v6: boolean;
  words: Int32Array; // 1 word for IPv4, 4 for IPv6
  bits: number;
}

/** Parse "a.b.c.d/n" or "x:y::/n" (a bare address is a /32 or /128); null when invalid. */
export function parseCidr(text: string): Cidr | null {
  const [addr, b, extra] = text.split('/');
  if (extra !== undefined) return null;
  const words = parseAddress(addr);
  if (words === null) return null;
  const v6 = words.length === 4;
  const max = v6 ? 128 : 32;
  let bits = max;
  if (b !== undefined) {
    if (!/^\d{1,3}$/.test(b)) return null;
    bits = Number(b);
    if (bits > max) return null;
  }
  return { text, v6, words, bits };
}

export function parseAddress(addr: string): Int32Array | null {
  if (addr.includes(':')) return parseIpv6(addr);
  const parts = addr.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return Int32Array.of(
    (Number(parts[0]) << 24) | (Number(parts[1]) << 16) | (Number(parts[2]) << 8) | Number(parts[3]),
  );
}

function parseIpv6(addr: string): Int32Array | null {
  let text = addr;
  const lastColon = addr.lastIndexOf(':');
  const dotted = addr.slice(lastColon + 1);
  if (dotted.includes('.')) {
    // An embedded IPv4 tail (::ffff:192.0.2.1) is two 16-bit groups.
    const v4 = parseAddress(dotted);
    if (v4 === null) return null;
    text = `${addr.slice(0, lastColon + 1)}${((v4[0] >>> 16) & 0xffff).toString(16)}:${(v4[0] & 0xffff).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (s: string) => (s === '' ? [] : s.split(':'));
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  const fill = 8 - head.length - rest.length;
  if ((halves.length === 2 && fill < 1) || (halves.length === 1 && fill !== 0)) return null;
  const groups: number[] = [];
  // fill is 0 without "::" (checked above).
  for (const g of [...head, ...new Array<string>(fill).fill('0'), ...rest]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    groups.push(Number.parseInt(g, 16));
  }
  return Int32Array.from([0, 1, 2, 3], (i) => (groups[2 * i] << 16) | groups[2 * i + 1]);
}

/** Does the address (1 or 4 words) fall inside the prefix? */
export function cidrContains(c: Cidr, words: ArrayLike<number>, v6: boolean): boolean {
  if (c.v6 !== v6) return false;
  let left = c.bits;
  // bits <= 32 × words, so the prefix ends within the words.
  for (let i = 0; left > 0; i++) {
    const take = Math.min(32, left);
    const mask = take === 32 ? -1 : ~(-1 >>> take);
    if ((c.words[i] & mask) !== (words[i] & mask)) return false;
    left -= take;
  }
  return true;
}
