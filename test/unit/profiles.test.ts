// The built-in profiles (agent/profiles/*.yaml) judged as a reviewer would:
// real hostnames from the sources cited in each profile must be `high` with
// `deny_domain`; look-alikes at label boundaries must not be; the ASN list of
// Chinese cloud and telecom networks holds under every profile; every entry
// carries its source; Local Data Mode's map exception allows tiles only.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAddress } from '../../agent/src/policy/cidr.js';
import { loadPolicy } from '../../agent/src/policy/load.js';
import { type Destination, judge } from '../../agent/src/policy/verdict.js';

function named(name: string, extra: Partial<Destination> = {}): Destination {
  const words = parseAddress('192.0.2.10')!;
  return { words, v6: false, internet: true, names: [name], country: 'NL', asn: null, asCountry: null, ...extra };
}

const PROFILE_DIR = new URL('../../agent/profiles/', import.meta.url);

/** Hosts named in the profile's sources, each with the source it comes from. */
const DJI_HOSTS: [string, string][] = [
  ['flysafe-api.dji.com', 'KNOWLEDGE.md: FlySafe no-fly zone database'],
  ['flysafe.dji.com', 'KNOWLEDGE.md'],
  ['active.dji.com', 'KNOWLEDGE.md: activation'],
  ['service-adhoc.dji.com', 'Synacktiv 2020: DJI GO 4 self-update'],
  ['fh.dji.com', 'KNOWLEDGE.md: FlightHub'],
  ['dl.djicdn.com', 'DJI download host in a published user guide URL'],
  ['digital-elevation.djigate.com', 'KNOWLEDGE.md'],
  ['es-flight-api-eu.djigate.com', 'KNOWLEDGE.md'],
  ['sentry.djiops.com', 'KNOWLEDGE.md: crash reporting'],
  ['statistical-report.djiservice.org', 'KNOWLEDGE.md: telemetry'],
  ['djigo4-f53cb.firebaseio.com', 'KNOWLEDGE.md: DJI GO 4 Firebase project'],
  ['www.skypixel.com', 'v2fly data/dji'],
  ['devs.data.mob.com', 'KNOWLEDGE.md: MobTech'],
  ['api.weibo.com', 'KNOWLEDGE.md: Weibo SDK'],
  ['api.weibo.cn', 'KNOWLEDGE.md: Weibo SDK'],
  ['android.bugly.qq.com', 'KNOWLEDGE.md: Tencent Bugly'],
  ['rqd.uu.qq.com', 'KNOWLEDGE.md: Tencent Bugly'],
  ['tsis.jpush.cn', 'KNOWLEDGE.md: JPush'],
  ['restapi.amap.com', 'KNOWLEDGE.md: AMap'],
  ['logs.amap.com', 'v2fly data/amap (tracking)'],
];

const CAMERA_HOSTS: [string, string][] = [
  ['www.hik-connect.com', 'Hikvision TB: Hik-Connect portal'],
  ['ieu.hik-proconnect.com', 'Hik-ProConnect manual host'],
  ['apiieu.ezvizlife.com', 'homeassistant-ezviz-smart-plug const.py'],
  ['apirus.ezvizru.com', 'homeassistant-ezviz-smart-plug const.py'],
  ['open.ys7.com', 'EZVIZ China open platform'],
  ['www.easy4ipcloud.com', 'Dahua P2P mediator/relay'],
  ['www.easy4ip.com', 'Dahua P2P mediator/relay'],
  ['openapi.easy4ip.com', 'imou_life README: Imou API base'],
  ['open.imoulife.com', 'imou_life README: Imou open platform'],
  ['www.dahuaddns.com', 'Dahua NVR manual: DDNS server'],
  ['logsvr.xmcsrv.net', 'Besder/XMEye analysis: log upload'],
  ['pub-cfg.secu100.net', 'Besder/XMEye analysis: cloud config'],
  ['pub-dss-hls.secu100.net', 'Besder/XMEye analysis: relay lookup'],
  ['www.xmeye.net', 'numenworld-ipcam: label of an XMEye camera'],
  ['doc.cloud-links.net', 'GwellDemo README: Gwell P2P SDK docs'],
  ['sdk.yoosee.co', 'GwellDemo README: Yoosee SDK'],
];

/** Look-alikes: one more word, a label split differently, the vendor name as a subdomain elsewhere. */
const DJI_TRAPS = [
  'fakedji.com',
  'dji.com.example.org',
  'mydji.net',
  'djicdn.com.cdn-example.net',
  'notmob.com',
  'weibo.com.example.net',
  'qq.com-login.example',
  'firebaseio.com',
  'other-project.firebaseio.com',
  'amap.com.evil.example',
];
const CAMERA_TRAPS = [
  'hikvisioncloud.example',
  'hik-connect.com.example.net',
  'myhik-connect.com',
  'ezviz.com.example.org',
  'noteasy4ip.com',
  'imoulife.co',
  'xmeye.network',
  'hikvision.com-support.example',
  'cloud-links.network',
  'yoosee.com.example',
];

function expectHigh(profile: string, host: string): void {
  const j = judge(named(host), loadPolicy({ profile }));
  expect({ host, verdict: j.verdict, reasons: j.reasons }).toEqual({
    host,
    verdict: 'high',
    reasons: ['deny_domain'],
  });
}

function expectNotDenied(profile: string, host: string): void {
  const j = judge(named(host), loadPolicy({ profile }));
  expect({ host, reasons: j.reasons }).toEqual({ host, reasons: ['not_allowlisted'] });
}

describe('profile dji', () => {
  it.each(DJI_HOSTS)('%s is high with deny_domain (%s)', (host) => expectHigh('dji', host));
  it.each(DJI_TRAPS)('%s is not a DJI name', (host) => expectNotDenied('dji', host));
});

describe('profile camera', () => {
  it.each(CAMERA_HOSTS)('%s is high with deny_domain (%s)', (host) => expectHigh('camera', host));
  it.each(CAMERA_TRAPS)('%s is not a camera vendor name', (host) => expectNotDenied('camera', host));
  it('does not deny DJI names (they belong to the dji profile)', () => {
    expectNotDenied('camera', 'flysafe-api.dji.com');
  });
});

describe('Chinese cloud and telecom networks under every profile', () => {
  // A Hik-Connect server on a Chinese cloud abroad, reached by bare IP: the IP is in
  // Frankfurt, and the data source did not give the network's registry country.
  const onChineseCloud = (asn: number): Destination => ({
    words: parseAddress('198.51.100.7')!,
    v6: false,
    internet: true,
    names: [],
    country: 'DE',
    asn,
    asCountry: null,
  });
  const profiles = ['default', 'dji', 'camera', 'local-data-mode'];
  const asns = [37963, 45102, 134963, 45090, 132203, 136907, 55990, 38365, 135377, 4134, 4837, 9808, 58453];
  it.each(profiles)('under %s, a bare IP on each listed network is high with deny_asn', (profile) => {
    const p = loadPolicy({ profile });
    for (const asn of asns) {
      expect({ asn, ...judge(onChineseCloud(asn), p) }).toMatchObject({
        asn,
        verdict: 'high',
        reasons: ['deny_asn'],
      });
    }
  });
  it('under camera, a bare IP on a network not on the list stays medium', () => {
    expect(judge(onChineseCloud(16509), loadPolicy({ profile: 'camera' }))).toMatchObject({
      verdict: 'medium',
      reasons: ['not_allowlisted'],
    });
  });
});

describe('every profile entry carries its source', () => {
  it.each(['default', 'dji', 'camera'])('%s: each deny entry has a source comment', (profile) => {
    const text = readFileSync(new URL(`${profile}.yaml`, PROFILE_DIR), 'utf8');
    const entries = text.split('\n').filter((l) => /^\s+- \S/.test(l));
    expect(entries.length).toBeGreaterThan(5);
    for (const line of entries) expect(line).toMatch(/ # (\[\d+\]|\S)/);
    // Every [n] cited is defined in the header.
    for (const m of text.matchAll(/\[(\d+)\]/g)) expect(text).toContain(`#   [${m[1]}] `);
  });
});

describe('Local Data Mode and its map-update exception', () => {
  const maps = loadPolicy({ file: new URL('../../docs/policies/local-data-mode-maps.yaml', import.meta.url).pathname });
  it('any internet connection is high under local-data-mode', () => {
    expect(judge(named('api.mapbox.com'), loadPolicy({ profile: 'local-data-mode' }))).toMatchObject({
      verdict: 'high',
      reasons: ['not_allowlisted'],
    });
  });
  it.each(['api.mapbox.com', 'a.tiles.mapbox.com', 'api.tiles.mapbox.com'])('the example policy allows %s', (host) => {
    expect(judge(named(host), maps).verdict).toBe('allowed');
  });
  it('keeps Mapbox telemetry and everything else high', () => {
    expect(judge(named('events.mapbox.com'), maps)).toMatchObject({ verdict: 'high', reasons: ['not_allowlisted'] });
    expect(judge(named('www.example.org'), maps).verdict).toBe('high');
  });
  it('keeps DJI names and Chinese networks high (deny beats allow)', () => {
    expect(judge(named('flysafe-api.dji.com'), maps).reasons).toEqual(['deny_domain']);
    expect(judge(named('api.mapbox.com', { asn: 45102, country: 'DE' }), maps).reasons).toEqual(['deny_asn']);
  });
});
