// When a replayed breach was discovered, end to end. Real captures from the
// fixtures (real dig, curl/openssl, dnsmasq; test/fixtures/README.md) are
// played with `egress replay --speed max --session`, exported, and report.html
// read in the Debian Chromium, in Dutch and English:
// - names/dns-then-https (flysafe-api.dji.com, 2026-11-23): the breach
//   notification's "time of discovery" is the gateway's clock when it recorded
//   the first alert (the record's ts), the deadline 72 h after it, and the
//   alert's packet time (the capture's own, days earlier) is shown beside it.
//   The signed statement (manifest.json) states the traffic's window on the
//   packets' clock, not the seconds the replay took.
// - udp/dns-dig with its resolver moved to the LAN (tcprewrite --pnat, a
//   header rewrite of the real packets) and a policy denying the names it
//   asks: no internet connection, only denied lookups, so the report carries
//   the "no egress observed" statement, which must name the traffic's dates
//   (from its packets) and the recording's (the gateway's clock).
// A paced replay (arrival times: the gateway's clock) keeps the plain form:
// discovery equals the alert record's time and no packet time is added.
// Screenshots at tablet size are kept (path printed) for a person.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainRecord } from '../../agent/src/evidence/chain.js';
import { readModel, type Statement } from '../../agent/src/evidence/model.js';
import { TEXT } from '../../agent/src/evidence/report-text.js';
import { readMeta, type SessionMeta } from '../../agent/src/evidence/session-store.js';
import { artifactsDir, launchChromium } from '../support/browser.js';
import { egress, ROOT } from '../support/cli.js';
import { recordFlight } from './flight.js';

const FIX = join(ROOT, 'test/fixtures');
const HTTPS = join(FIX, 'names/dns-then-https/input.pcap');
const NAMES_POLICY = join(FIX, 'names/policy.yaml');

interface Recorded {
  meta: SessionMeta;
  records: ChainRecord[];
  statement: Statement;
  report: string;
}

function replay(capture: string, policy: string, speed: string, name: string): Recorded {
  const { dataDir, id } = recordFlight(name, capture, policy, speed);
  const bundle = join(dataDir, 'bundle.zip');
  const x = egress(['export', id, '--out', bundle, '--data-dir', dataDir]);
  expect(x.code, x.stderr).toBe(0);
  const files = unzipSync(readFileSync(bundle));
  const records = Buffer.from(files['events.ndjson'])
    .toString('utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as ChainRecord);
  const manifest = JSON.parse(Buffer.from(files['manifest.json']).toString('utf8')) as { statement: Statement };
  const report = join(dataDir, 'report.html');
  writeFileSync(report, files['report.html']);
  return { meta: readMeta(dataDir, id), records, statement: manifest.statement, report };
}

const data = (r: ChainRecord) => r.data as { timestamp: string; start: string; end: string };
/** Every packet time the log holds (flows' start and end, alerts, lookups), in time order. */
function packetTimes(records: ChainRecord[]): string[] {
  const out: string[] = [];
  for (const r of records) {
    if (r.type === 'flow') out.push(data(r).start, data(r).end);
    if (r.type === 'alert' || r.type === 'lookup') out.push(data(r).timestamp);
  }
  return out.sort();
}
const plus72h = (iso: string) => new Date(Date.parse(iso) + 72 * 3600 * 1000).toISOString();

let max: Recorded;
let clean: Recorded;
let paced: Recorded;
let browser: Browser;

beforeAll(async () => {
  max = replay(HTTPS, NAMES_POLICY, 'max', 'Vlucht 11 / Flight 11');
  const dir = mkdtempSync(join(tmpdir(), 'egress-disc-'));
  const local = join(dir, 'dns-dig-lan.pcap');
  execFileSync('tcprewrite', [
    '--pnat=198.51.100.53/32:10.0.0.53/32',
    '--fixcsum',
    '-i',
    join(FIX, 'udp/dns-dig/input.pcap'),
    '-o',
    local,
  ]);
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, 'extends: dji\ndeny:\n  domains: [example.org, example.net]\n');
  clean = replay(local, policy, 'max', 'Vlucht 12 / Flight 12');
  paced = replay(HTTPS, NAMES_POLICY, '1', 'Paced');
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

describe('a capture replayed at --speed max: discovery on the gateway clock', () => {
  it('the premise: the first alert record was written on the gateway clock, its packet dated days earlier', () => {
    const first = max.records.find((r) => r.type === 'alert');
    if (first === undefined) throw new Error('no alert recorded');
    expect(Date.parse(first.ts)).toBeGreaterThanOrEqual(Date.parse(max.meta.start));
    expect(Date.parse(first.ts)).toBeLessThanOrEqual(Date.parse(max.meta.end ?? ''));
    expect(Date.parse(data(first).timestamp)).toBeLessThan(Date.parse(max.meta.start) - 86_400_000);
  });

  it('the model: discovery is the first alert record (ts recorded, packet time beside it)', () => {
    const m = readModel(max.meta, max.records);
    const first = max.records.find((r) => r.type === 'alert') as ChainRecord;
    expect(m.discovery).toEqual({ recorded: first.ts, packet: data(first).timestamp });
  });

  it('report.html in Chromium: discovery, the 72-hour deadline and the traffic time, in Dutch and English', async () => {
    const first = max.records.find((r) => r.type === 'alert') as ChainRecord;
    const page = await browser.newPage({ viewport: { width: 1024, height: 1366 } });
    await page.goto(`file://${max.report}`);
    const shots: string[] = [];
    for (const lang of ['nl', 'en'] as const) {
      const t = TEXT[lang];
      const rows = await page.$$eval(`#${lang} table.breach tr`, (trs) =>
        trs.map((tr) => [tr.querySelector('th')?.textContent ?? '', tr.querySelector('td')?.textContent ?? '']),
      );
      const row = (k: string) => rows.find((r) => r[0] === k)?.[1];
      expect(row(t.fDiscovery)).toBe(`${first.ts}${t.trafficSeenAt(data(first).timestamp)}`);
      expect(row(t.fDeadline)).toBe(plus72h(first.ts));
      // The deadline lies after the recording: not already past when the report is made.
      expect(Date.parse(row(t.fDeadline) ?? '')).toBeGreaterThan(Date.parse(max.meta.end ?? ''));
      await page.locator(`#${lang} table.breach`).evaluate((el) => el.scrollIntoView());
      const png = join(artifactsDir(), `report-replay-discovery-${lang}.png`);
      await page.screenshot({ path: png });
      shots.push(png);
    }
    await page.close();
    console.log(`replay discovery screenshots: ${shots.join(' ')}`);
  });

  it('the signed statement states the traffic window from the packets, not the replay seconds', () => {
    const times = packetTimes(max.records);
    expect(max.statement).toMatchObject({
      kind: 'egress_observed',
      clock: 'packets',
      window: { start: times[0], end: times[times.length - 1] },
    });
    expect(Date.parse(max.statement.window.end)).toBeLessThan(Date.parse(max.meta.start));
  });
});

describe('a clean flight replayed at --speed max: the "no egress observed" window', () => {
  it('is stated on the packets clock, the recording named beside it, in Dutch and English', async () => {
    expect(clean.records.filter((r) => r.type === 'flow')).toEqual([]);
    const times = packetTimes(clean.records);
    expect(times.length).toBeGreaterThan(3);
    const [a, b] = [times[0], times[times.length - 1]];
    expect(a < b).toBe(true);
    expect(clean.statement).toEqual({
      kind: 'no_egress_observed',
      strength: 'plain',
      window: { start: a, end: b },
      clock: 'packets',
      gapSeconds: 0,
      gaps: 0,
    });
    const page = await browser.newPage({ viewport: { width: 1024, height: 1366 } });
    await page.goto(`file://${clean.report}`);
    const shots: string[] = [];
    for (const lang of ['nl', 'en'] as const) {
      const t = TEXT[lang];
      const box = page.locator(`#${lang} p.statement`);
      expect(await box.getAttribute('data-clock')).toBe('packets');
      expect(await box.textContent()).toBe(
        `${t.packetClock.noEgressPlain(a, b)} ${t.packetClock.played(clean.meta.start, clean.meta.end ?? '')}`,
      );
      await page
        .locator(`#${lang} h2`)
        .first()
        .evaluate((el) => el.scrollIntoView());
      const png = join(artifactsDir(), `report-replay-statement-${lang}.png`);
      await page.screenshot({ path: png });
      shots.push(png);
    }
    await page.close();
    console.log(`replay statement screenshots: ${shots.join(' ')}`);
  });
});

describe('a paced replay (arrival times: the gateway clock)', () => {
  it('discovery is the alert record time, with no packet time added; the statement on the gateway clock', () => {
    const first = paced.records.find((r) => r.type === 'alert') as ChainRecord;
    const m = readModel(paced.meta, paced.records);
    expect(m.discovery?.recorded).toBe(first.ts);
    const html = readFileSync(paced.report, 'utf8');
    for (const lang of ['nl', 'en'] as const) {
      const t = TEXT[lang];
      expect(html).toContain(
        `<tr><th scope="row">${t.fDiscovery}</th><td><span class="mono">${first.ts}</span></td></tr>`,
      );
      expect(html).toContain(`<span class="mono">${plus72h(first.ts)}</span>`);
    }
    expect(html).not.toContain('class="packet-time"');
    expect(paced.statement).toMatchObject({
      kind: 'egress_observed',
      clock: 'gateway',
      window: { start: paced.meta.start, end: paced.meta.end },
    });
  });
});
