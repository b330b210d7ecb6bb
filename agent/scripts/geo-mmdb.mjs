// Reads a MaxMind DB file (https://maxmind.github.io/MaxMind-DB/) into the
// sorted, non-overlapping { start, end, value } ranges build-geo.mjs merges,
// with MaxMind's own reader, mmdb-lib. mmdb-lib answers one address at a
// time with the prefix length of the tree node that answered it, so walking
// the address space block by block (each answer's block, then the address
// after it) lists every network of the file, gaps included, in order.
//
// Only the file's own family is read: an IPv4-only file (ip_version 4) must
// never answer an IPv6 address (mmdb-lib would walk the IPv4 tree with the
// IPv6 bits), and an IPv6 file is read only for IPv6 (its IPv4 subtree and
// aliases such as ::ffff:0:0/96 and 2002::/16 are the IPv4 file's business).

import { readFileSync } from 'node:fs';

/**
 * The ranges of one family of an mmdb file: Number addresses for IPv4,
 * BigInt for IPv6 (as readRanges in build-geo.mjs). `parseValue(record,
 * where)` turns a data record into the value kept (or undefined: no range).
 * Returns { ranges, metadata }.
 */
export function readMmdbRanges(Reader, path, isV6, parseValue) {
  let reader;
  try {
    reader = new Reader(readFileSync(path));
  } catch (err) {
    throw new Error(`${path}: not a readable MaxMind DB file (${err.message})`);
  }
  const version = reader.metadata.ipVersion;
  if (isV6 ? version !== 6 : version !== 4 && version !== 6) {
    throw new Error(`${path}: ip_version ${version}, expected ${isV6 ? 6 : '4 or 6'}`);
  }
  const bits = isV6 ? 128n : 32n;
  const past = 1n << bits;
  const format = isV6 ? v6Text : v4Text;
  const ranges = [];
  let a = 0n;
  while (a < past) {
    const [record, prefix] = reader.getWithPrefixLength(format(a));
    const size = 1n << (bits - BigInt(prefix));
    const end = a - (a % size) + size - 1n; // the answering block's last address
    if (record !== null) {
      const value = parseValue(record, `${path} ${format(a)}/${prefix}`);
      if (value !== undefined) {
        const last = ranges[ranges.length - 1];
        const start = isV6 ? a : Number(a);
        const stop = isV6 ? end : Number(end);
        // Neighbours with the same value are one range.
        if (last !== undefined && last.value === value && last.end + (isV6 ? 1n : 1) === start) last.end = stop;
        else ranges.push({ start, end: stop, value });
      }
    }
    a = end + 1n;
  }
  return { ranges, metadata: reader.metadata };
}

function v4Text(a) {
  const n = Number(a);
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function v6Text(a) {
  const groups = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((a >> s) & 0xffffn).toString(16));
  return groups.join(':');
}
