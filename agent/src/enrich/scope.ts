// Is an address on the internet, or local? LAN (RFC 1918, RFC 6598 shared
// space), loopback, link-local, multicast, broadcast, unspecified, reserved
// (RFC 6890 special-purpose registry) and IPv6 ULA (RFC 4193) are never
// flagged. The documentation ranges (RFC 5737, RFC 3849) count as internet on
// purpose: tests stand them in for internet hosts.

interface Range4 {
  base: number;
  bits: number;
}

const LOCAL_V4: Range4[] = [
  { base: 0x00000000, bits: 8 }, // 0.0.0.0/8 this network
  { base: 0x0a000000, bits: 8 }, // 10/8
  { base: 0x64400000, bits: 10 }, // 100.64/10 shared address space
  { base: 0x7f000000, bits: 8 }, // 127/8 loopback
  { base: 0xa9fe0000, bits: 16 }, // 169.254/16 link-local
  { base: 0xac100000, bits: 12 }, // 172.16/12
  { base: 0xc0000000, bits: 24 }, // 192.0.0/24 IETF protocol assignments
  { base: 0xc0a80000, bits: 16 }, // 192.168/16
  { base: 0xe0000000, bits: 4 }, // 224/4 multicast
  { base: 0xf0000000, bits: 4 }, // 240/4 reserved, includes broadcast
];

export function isInternetV4(word: number): boolean {
  const a = word >>> 0;
  for (const r of LOCAL_V4) {
    const mask = r.bits === 0 ? 0 : (0xffffffff << (32 - r.bits)) >>> 0;
    if ((a & mask) >>> 0 === r.base) return false;
  }
  return true;
}

export function isInternetV6(w0: number, w1: number, w2: number, w3: number): boolean {
  const top = w0 >>> 0;
  if (top === 0 && w1 === 0) {
    if (w2 === 0) return false; // ::, ::1 and the deprecated IPv4-compatible block
    if (w2 === 0xffff) return isInternetV4(w3); // IPv4-mapped
  }
  const first16 = top >>> 16;
  if ((first16 & 0xfe00) === 0xfc00) return false; // fc00::/7 ULA
  if ((first16 & 0xffc0) === 0xfe80) return false; // fe80::/10 link-local
  if ((first16 & 0xffc0) === 0xfec0) return false; // fec0::/10 deprecated site-local
  if ((first16 & 0xff00) === 0xff00) return false; // ff00::/8 multicast
  return true;
}
