// The timeline of a replayed flight, end to end: the demo capture (real
// clients, scripts/demo-data/README.md) replayed with `egress replay --speed
// max --session`, exported, and report.html opened in the Debian Chromium.
// The log opens with the session's start on the gateway's clock and then
// holds alerts and lookups dated by the capture, weeks earlier; the timeline
// must read in time order (the capture's events first, the recording's start
// and end after them, named as the gateway's clock) in Dutch and English,
// with the summary saying the traffic's dates lie outside the recording. A
// paced replay (arrival times, one clock) keeps the plain "gateway's clock"
// note. Screenshots at tablet size are kept (path printed) for a person.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainRecord } from '../../agent/src/evidence/chain.js';
import { readModel } from '../../agent/src/evidence/model.js';
import { TEXT } from '../../agent/src/evidence/report-text.js';
import { readMeta } from '../../agent/src/evidence/session-store.js';
import { artifactsDir, launchChromium } from '../support/browser.js';
import { egress } from '../support/cli.js';
import { FLIGHT, FLIGHT_POLICY, onlySession, REPLAY_COMMON, recordFlight } from './flight.js';

interface Recorded {
  dataDir: string;
  id: string;
  records: ChainRecord[];
  report: string;
}

function exportFlight(dataDir: string, id: string): Recorded {
  const bundle = join(dataDir, 'bundle.zip');
  const r = egress(['export', id, '--out', bundle, '--data-dir', dataDir]);
  expect(r.code, r.stderr).toBe(0);
  const files = unzipSync(readFileSync(bundle));
  const records = Buffer.from(files['events.ndjson'])
    .toString('utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as ChainRecord);
  const report = join(dataDir, 'report.html');
  writeFileSync(report, files['report.html']);
  return { dataDir, id, records, report };
}

/** The time an alert or lookup record carries (its packet's). */
const eventTime = (r: ChainRecord) => String((r.data as { timestamp: string }).timestamp);

let max: Recorded;
let paced: Recorded;
let browser: Browser;

beforeAll(async () => {
  const m = recordFlight('Vlucht 9 / Flight 9');
  max = exportFlight(m.dataDir, m.id);
  const dataDir = mkdtempSync(join(tmpdir(), 'egress-evidence-'));
  const r = egress([
    'replay',
    FLIGHT,
    '--policy',
    FLIGHT_POLICY,
    '--speed',
    '40',
    '--session',
    'Paced',
    '--data-dir',
    dataDir,
    ...REPLAY_COMMON,
  ]);
  expect(r.code, r.stderr).toBe(0);
  paced = exportFlight(dataDir, onlySession(dataDir));
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

describe('the timeline of a capture replayed at --speed max', () => {
  it('the log holds the start on the gateway clock first, then events dated earlier by the capture', () => {
    // The premise of the fix, read from the real log: log order is not time order here.
    const start = max.records[0];
    expect(start.type).toBe('session_start');
    const events = max.records.filter((r) => r.type === 'alert' || r.type === 'lookup');
    expect(events.length).toBeGreaterThan(20);
    for (const e of events) expect(Date.parse(eventTime(e))).toBeLessThan(Date.parse(start.ts) - 86_400_000);
  });

  it('the model orders it by time: the capture events first, the recording start and end last, the clock counted', () => {
    const m = readModel(readMeta(max.dataDir, max.id), max.records);
    const times = m.timeline.map((e) => Date.parse(e.ts));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(m.timeline.slice(-2).map((e) => e.kind)).toEqual(['start', 'end']);
    const events = max.records.filter((r) => r.type === 'alert' || r.type === 'lookup');
    expect(m.timeline.slice(0, -2).map((e) => e.ts)).toEqual(events.map(eventTime).sort());
    const sorted = events.map(eventTime).sort();
    expect(m.timelineClock).toEqual({ outside: events.length, first: sorted[0], last: sorted[sorted.length - 1] });
    expect(m.timelineOmitted).toBe(0);
  });

  it('report.html in Chromium reads in time order in Dutch and English, with the clocks named', async () => {
    const page = await browser.newPage({ viewport: { width: 1024, height: 1366 } });
    await page.goto(`file://${max.report}`);
    const shots: string[] = [];
    for (const lang of ['nl', 'en'] as const) {
      const t = TEXT[lang];
      const rows = await page.$$eval(`#${lang} table.timeline tr:not(:first-child)`, (trs) =>
        trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent ?? '')),
      );
      expect(rows.length).toBe(
        max.records.filter((r) => /^(alert|lookup|session_start|session_end)$/.test(r.type)).length,
      );
      const times = rows.map((r) => r[0]);
      expect(times).toEqual([...times].sort());
      expect(rows.slice(-2).map((r) => r[1])).toEqual([t.kinds.startRecording, t.kinds.endRecording]);
      expect(rows[rows.length - 2][2]).toBe('Vlucht 9 / Flight 9');
      const note = await page.locator(`#${lang} p.timeline-clock`).textContent();
      expect(note).toContain('2026-11-23 09:28:09');
      expect(note).toContain(lang === 'nl' ? 'klok van de gateway' : "the gateway's clock");
      const summary = await page.locator(`#${lang} p.clock-note`).textContent();
      expect(summary).toBe(t.clockSummary('2026-11-23 09:28:09', '2026-11-23 09:29:59'));
      // What a tablet shows when scrolled to the timeline.
      await page
        .locator(`#${lang} table.timeline`)
        .evaluate((el) => el.previousElementSibling?.previousElementSibling?.scrollIntoView());
      const png = join(artifactsDir(), `report-replay-timeline-${lang}.png`);
      await page.screenshot({ path: png });
      shots.push(png);
    }
    await page.close();
    console.log(`replay timeline screenshots: ${shots.join(' ')}`);
  });
});

describe('the timeline of a paced replay (arrival times: one clock)', () => {
  it('starts with the start, says the gateway clock, and warns of nothing', async () => {
    const m = readModel(readMeta(paced.dataDir, paced.id), paced.records);
    expect(m.timeline[0].kind).toBe('start');
    expect(m.timeline[m.timeline.length - 1].kind).toBe('end');
    expect(m.timelineClock.outside).toBe(0);
    const html = readFileSync(paced.report, 'utf8');
    expect(html).toContain(`<p class="timeline-clock">${TEXT.en.timelineOrder.replace("'", '&#39;')}</p>`);
    expect(html).not.toContain('clock-note');
  });
});
