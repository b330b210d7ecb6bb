// report.html as an officer sees it: opened from the bundle in headless
// Chromium (the Debian package), offline (file://, no network, a strict CSP
// in the page), at tablet size. Every flagged destination of the flight shows
// in the Dutch and in the English part with its country in that language and
// its severity written out; the breach-notification fields are pre-filled or
// marked for the officer; printing to PDF puts English on its own pages.
// The screenshots are kept (path printed) for a person to look at.

import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { chromiumOnFile } from '../support/chromium.js';
import { egress } from '../support/cli.js';
import { recordFlight } from './flight.js';

let dir: string;
let report: string;
let manifest: { statement: { kind: string } };
let csv: string;
let lookupsLogged: number;
/** When the gateway recorded the first alert (the record's ts): the time of discovery. */
let firstAlertTs: string;

function chromium(args: string[]): string {
  return chromiumOnFile(dir, args);
}

beforeAll(() => {
  const { dataDir, id } = recordFlight('Vlucht 7 / Flight 7');
  dir = dataDir;
  const bundle = join(dir, 'bundle.zip');
  expect(egress(['export', id, '--out', bundle, '--data-dir', dir]).code).toBe(0);
  const files = unzipSync(readFileSync(bundle));
  report = join(dir, 'report.html');
  writeFileSync(report, files['report.html']);
  manifest = JSON.parse(Buffer.from(files['manifest.json']).toString());
  csv = Buffer.from(files['flows.csv']).toString();
  const log = Buffer.from(files['events.ndjson']).toString();
  lookupsLogged = log.split('"event_type":"lookup"').length - 1;
  const alerts = log.split('\n').filter((l) => l.includes('"type":"alert"'));
  firstAlertTs = (JSON.parse(alerts[0]) as { ts: string }).ts;
});

describe('report.html in Chromium', () => {
  it('shows every flagged destination in Dutch and in English', () => {
    const dom = chromium(['--dump-dom', `file://${report}`]);
    const at = dom.indexOf('<section class="lang" id="en"');
    expect(at).toBeGreaterThan(0);
    const [nl, en] = [dom.slice(0, at), dom.slice(at)];
    const flagged = new Set(
      csv
        .trim()
        .split('\r\n')
        .slice(1)
        .map((l) => l.split(','))
        .filter((c) => c[14] !== 'allowed')
        .map((c) => c[5]),
    );
    expect(flagged.size).toBeGreaterThan(10);
    for (const ip of flagged) {
      expect(nl, ip).toContain(`<td><span class="mono nowrap">${ip}</span>`);
      expect(en, ip).toContain(`<td><span class="mono nowrap">${ip}</span>`);
    }
    // The Chinese cloud in Germany: country and registration in each language; severity in words.
    expect(nl).toMatch(
      /198\.51\.100\.40<\/span><br><span class="names">eu-api\.example\.com<\/span><\/td>\s*<td>Duitsland \(DE\)<br>AS45102 Alibaba \(test\)<br><small>geregistreerd in China \(CN\)/,
    );
    expect(en).toMatch(
      /198\.51\.100\.40<\/span><br><span class="names">eu-api\.example\.com<\/span><\/td>\s*<td>Germany \(DE\)<br>AS45102 Alibaba \(test\)<br><small>registered in China \(CN\)/,
    );
    expect(nl).toContain('2 bestemmingen in China of in een in China geregistreerd netwerk');
    expect(en).toContain('2 destinations in China or in a network registered in China');
    expect(nl).toContain('>HOOG<');
    expect(en).toContain('>HIGH<');
    // Breach fields: the officer's part marked, the times filled in.
    expect(nl).toContain('Melding datalek (AVG art. 33 lid 3 / Wpg art. 33a)');
    expect(en).toContain('Data-breach notification (GDPR art. 33(3) / Wpg art. 33a)');
    expect(nl.match(/IN TE VULLEN door de functionaris/g)).toHaveLength(6);
    expect(en.match(/TO BE FILLED IN by the officer/g)).toHaveLength(6);
    // Discovery on the gateway's clock when it recorded the first alert (not the capture's 2026-11-23).
    const due = new Date(Date.parse(firstAlertTs) + 72 * 3600 * 1000).toISOString();
    expect(en).toContain(`Notification due by (72 hours after discovery)</th><td><span class="mono">${due}</span>`);
    // Denied names looked up: a row each in both languages, or the sentence that there were none.
    const rows = (part: string) => part.match(/<tr class="lookup">/g)?.length ?? 0;
    expect([rows(nl), rows(en)]).toEqual([lookupsLogged, lookupsLogged]);
    if (lookupsLogged === 0) {
      expect(nl).toContain('Geen apparaat heeft een geweigerde naam opgevraagd.');
      expect(en).toContain('No device looked up a denied name.');
    }
    expect(manifest.statement.kind).toBe('egress_observed');
    expect(dom).not.toContain('Geen uitgaand verkeer waargenomen');
  });

  it('is screenshotted at tablet and laptop size, and prints to PDF with English on its own pages', () => {
    const shots: string[] = [];
    for (const [w, h] of [
      [1024, 2600],
      [1440, 2200],
    ]) {
      const png = join(dir, `report-${w}.png`);
      chromium([`--window-size=${w},${h}`, `--screenshot=${png}`, `file://${report}`]);
      expect(statSync(png).size).toBeGreaterThan(50_000);
      shots.push(png);
    }
    const pdf = join(dir, 'report.pdf');
    chromium(['--no-pdf-header-footer', `--print-to-pdf=${pdf}`, `file://${report}`]);
    const pages =
      readFileSync(pdf)
        .toString('latin1')
        .match(/\/Type\s*\/Page[^s]/g) ?? [];
    expect(pages.length).toBeGreaterThanOrEqual(4);
    console.log(`report screenshots: ${shots.join(' ')}; PDF: ${pdf} (${pages.length} pages)`);
  });
});
