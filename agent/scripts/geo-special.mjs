// The special-purpose address blocks build-geo.mjs blanks (no country, no
// network), from the IANA special-purpose address registries (RFC 6890), and
// the helpers that turn them into ranges. Plain Node, no dependencies.

/**
 * Blocks whose country and network the sources must not answer for: they say
 * nothing about who is at the other end (172.16.0.0/12 and 2001:db8::/32
 * come out of the sources as AU and JP). From the IANA special-purpose
 * address registries (RFC 6890, updated by RFC 8190 and later entries):
 *   https://www.iana.org/assignments/iana-ipv4-special-registry/
 *   https://www.iana.org/assignments/iana-ipv6-special-registry/
 * every entry not marked "Globally Reachable: True" (False or N/A), plus
 * multicast (224.0.0.0/4, RFC 5771; ff00::/8, RFC 4291). Entries marked True
 * keep the sources' answer (AS112 and AMT anycast: 192.31.196.0/24,
 * 192.52.193.0/24, 192.175.48.0/24, 64:ff9b::/96, 2620:4f:8000::/48 are not
 * listed at all); those nested in a blanked block are listed with keep: true.
 * The build blanks the union of the blocks minus the kept ones, splitting the
 * ranges that straddle an edge. Check the registries when updating the data.
 */
export const SPECIAL_PURPOSE = {
  v4: [
    ['0.0.0.0/8', '"this network" (RFC 791)'],
    ['10.0.0.0/8', 'private use (RFC 1918)'],
    ['100.64.0.0/10', 'shared address space (RFC 6598)'],
    ['127.0.0.0/8', 'loopback (RFC 1122)'],
    ['169.254.0.0/16', 'link local (RFC 3927)'],
    ['172.16.0.0/12', 'private use (RFC 1918)'],
    ['192.0.0.0/24', 'IETF protocol assignments (RFC 6890)'],
    ['192.0.0.9/32', 'port control protocol anycast (RFC 7723)', { keep: true }],
    ['192.0.0.10/32', 'TURN anycast (RFC 8155)', { keep: true }],
    ['192.0.2.0/24', 'documentation, TEST-NET-1 (RFC 5737)'],
    ['192.88.99.0/24', 'deprecated 6to4 relay anycast (RFC 7526)'],
    ['192.168.0.0/16', 'private use (RFC 1918)'],
    ['198.18.0.0/15', 'benchmarking (RFC 2544)'],
    ['198.51.100.0/24', 'documentation, TEST-NET-2 (RFC 5737)'],
    ['203.0.113.0/24', 'documentation, TEST-NET-3 (RFC 5737)'],
    ['224.0.0.0/4', 'multicast (RFC 5771)'],
    ['240.0.0.0/4', 'reserved (RFC 1112)'],
    ['255.255.255.255/32', 'limited broadcast (RFC 919)'], // inside 240/4, listed as the registry does
  ],
  v6: [
    ['::/128', 'unspecified (RFC 4291)'],
    ['::1/128', 'loopback (RFC 4291)'],
    // Never read from this table: geo.ts answers ::ffff:a.b.c.d from the IPv4 table.
    ['::ffff:0:0/96', 'IPv4-mapped (RFC 4291)'],
    ['64:ff9b:1::/48', 'IPv4/IPv6 translation, local use (RFC 8215)'],
    ['100::/64', 'discard only (RFC 6666)'],
    ['100:0:0:1::/64', 'dummy prefix (RFC 9780)'],
    ['2001::/23', 'IETF protocol assignments (RFC 2928); includes Teredo 2001::/32, benchmarking, ORCHID'],
    ['2001:1::1/128', 'port control protocol anycast (RFC 7723)', { keep: true }],
    ['2001:1::2/128', 'TURN anycast (RFC 8155)', { keep: true }],
    ['2001:1::3/128', 'DNS-SD service registration protocol anycast (RFC 9665)', { keep: true }],
    ['2001:3::/32', 'AMT (RFC 7450)', { keep: true }],
    ['2001:4:112::/48', 'AS112-v6 (RFC 7535)', { keep: true }],
    ['2001:20::/28', 'ORCHIDv2 (RFC 7343)', { keep: true }],
    ['2001:30::/28', 'drone remote ID protocol entity tags (RFC 9374)', { keep: true }],
    ['2001:db8::/32', 'documentation (RFC 3849)'],
    ['2002::/16', '6to4 (RFC 3056): the IPv4 address inside says who it is, not the relay'],
    ['3fff::/20', 'documentation (RFC 9637)'],
    ['5f00::/16', 'segment routing SIDs (RFC 9602)'],
    ['fc00::/7', 'unique local (RFC 4193)'],
    ['fe80::/10', 'link-local unicast (RFC 4291)'],
    ['ff00::/8', 'multicast (RFC 4291)'],
  ],
};

/** An address block "a.b.c.d/n" or "x:…/n" as [first, last] (BigInt, whatever the family). */
export function parseCidr(text, isV6) {
  const [address, lengthText] = text.split('/');
  const bits = isV6 ? 128 : 32;
  const length = Number(lengthText);
  let value = 0n;
  if (isV6) {
    const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
    const left = head === '' ? [] : head.split(':');
    const right = tail === undefined || tail === '' ? [] : tail.split(':');
    const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
    if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) throw new Error(`bad block ${text}`);
    for (const g of groups) value = (value << 16n) | BigInt(Number.parseInt(g, 16));
  } else {
    const parts = address.split('.');
    if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255))
      throw new Error(`bad block ${text}`);
    for (const p of parts) value = (value << 8n) | BigInt(p);
  }
  if (!Number.isInteger(length) || length < 0 || length > bits) throw new Error(`bad block ${text}`);
  const size = 1n << BigInt(bits - length);
  if (value % size !== 0n) throw new Error(`block ${text}: host bits set`);
  return [value, value + size - 1n];
}

/**
 * The addresses to blank, as sorted disjoint { start, end, value: true } ranges
 * (Number for IPv4, BigInt for IPv6, like readRanges): the union of the
 * blocks minus the union of those marked keep.
 */
export function blankRanges(blocks, isV6) {
  const union = (list) => {
    const out = [];
    for (const [start, end] of list.toSorted((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
      const last = out[out.length - 1];
      if (last !== undefined && start <= last[1] + 1n) {
        if (end > last[1]) last[1] = end;
      } else {
        out.push([start, end]);
      }
    }
    return out;
  };
  const blank = union(blocks.filter((b) => !b[2]?.keep).map((b) => parseCidr(b[0], isV6)));
  const keep = union(blocks.filter((b) => b[2]?.keep).map((b) => parseCidr(b[0], isV6)));
  const toNum = isV6 ? (x) => x : Number;
  const out = [];
  for (let [start, end] of blank) {
    for (const [ks, ke] of keep) {
      if (ke < start || ks > end) continue;
      if (ks > start) out.push({ start: toNum(start), end: toNum(ks - 1n), value: true });
      start = ke + 1n;
    }
    if (start <= end) out.push({ start: toNum(start), end: toNum(end), value: true });
  }
  return out;
}
