// report.html's content, in process and exactly (agent/src/evidence/report.ts,
// report-text.ts): from a session model made by hand, each part of the page in
// Dutch and in English — the facts table, the summary (severity badge,
// China-bound list, counts, the "no egress observed" statement of each
// strength, the gap warning), destinations ordered high first, sizes in
// B/KiB/MiB at their boundaries, times shortened, lookups, gaps, the breach
// notification with its 72-hour deadline — and everything escaped.
// (What it looks like is judged in real Chromium: test/evidence/report.test.ts.)

import { describe, expect, it } from 'vitest';
import type { Destination, SessionModel, Statement } from '../../agent/src/evidence/model.js';
import { esc, renderReport } from '../../agent/src/evidence/report.js';
import { TEXT } from '../../agent/src/evidence/report-text.js';
import type { SessionMeta } from '../../agent/src/evidence/session-store.js';

const FP = 'ab'.repeat(32);

function meta(o: Partial<SessionMeta> = {}): SessionMeta {
  return {
    id: 'gw-r-20260501T100000000Z',
    name: 'Vlucht <7>',
    gateway: 'gw-r',
    state: 'closed',
    start: '2026-05-01T10:00:00.000000Z',
    end: '2026-05-01T11:00:00.000000Z',
    operator: { unit: 'Unit & 7', drone_serial: 'D-1' },
    agent_version: '1.2.3',
    policy: { source: 'policy.yaml', sha256: 'c'.repeat(64) },
    databases: { geo: '2026-01', asn: '2026-02' },
    clock_start: { synchronized: true, source: 'ntp' },
    clock_end: { synchronized: false, source: 'rtc' },
    key_fingerprint: FP,
    resumed: 1,
    ...o,
  };
}

function dest(o: Partial<Destination>): Destination {
  return {
    ip: '203.0.113.9',
    names: [],
    country: null,
    asn: null,
    asOrg: null,
    asCountry: null,
    severity: 'medium',
    reasons: [],
    flows: 1,
    bytesToServer: 0,
    bytesToClient: 0,
    firstSeen: '2026-05-01T10:10:00.000000Z',
    lastSeen: '2026-05-01T10:20:00.000000Z',
    ...o,
  };
}

const noEgress = (strength: Statement['strength'], gaps = 0, gapSeconds = 0): Statement => ({
  kind: 'no_egress_observed',
  strength,
  window: { start: '2026-05-01T10:00:00.000000Z', end: '2026-05-01T11:00:00.000000Z' },
  clock: 'gateway',
  gapSeconds,
  gaps,
});

function model(o: Partial<SessionModel> = {}): SessionModel {
  return {
    meta: meta(),
    records: 42,
    flows: [],
    destinations: [],
    gaps: [],
    lookups: [],
    timeline: [],
    timelineOmitted: 0,
    timelineClock: { outside: 0, first: null, last: null },
    discovery: null,
    alerts: 0,
    packets: 10,
    flaggedPackets: 0,
    pcapTruncated: false,
    statement: noEgress('plain'),
    ...o,
  };
}

/** The Dutch and the English section of the page. */
function sections(html: string): { nl: string; en: string } {
  const nl = html.slice(html.indexOf('<section class="lang" id="nl"'), html.indexOf('<section class="lang" id="en"'));
  const en = html.slice(html.indexOf('<section class="lang" id="en"'), html.lastIndexOf('</section>') + 10);
  expect(nl).toMatch(/^<section class="lang" id="nl" lang="nl">/);
  expect(en).toMatch(/^<section class="lang" id="en" lang="en">[\s\S]*<\/section>$/);
  return { nl, en };
}

/** The rows of a table as [header cell, value cell]. */
function factRows(sec: string): Record<string, string> {
  const facts = sec.slice(sec.indexOf(`<h2>${sec.includes('lang="nl"') ? TEXT.nl.facts : TEXT.en.facts}</h2>`));
  const table = facts.slice(facts.indexOf('<table>'), facts.indexOf('</table>'));
  const out: Record<string, string> = {};
  for (const m of table.matchAll(/<tr><th scope="row">(.*?)<\/th><td>(.*?)<\/td><\/tr>/g)) out[m[1]] = m[2];
  return out;
}

describe('report.html: the page', () => {
  it('is one page with a strict CSP, Dutch then English, titled by name (or id when there is none)', () => {
    const html = renderReport(model(), FP);
    expect(html.startsWith('<!doctype html>\n<html lang="nl">\n<head>\n<meta charset="utf-8">')).toBe(true);
    expect(html).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    );
    expect(html).toContain(`<title>${TEXT.nl.title} / ${TEXT.en.title}: Vlucht &#60;7&#62;</title>`);
    expect(html).toContain('<nav><a href="#nl">Nederlands</a><a href="#en">English</a></nav>');
    expect(html).toContain('@media print');
    expect(html.endsWith('</body>\n</html>\n')).toBe(true);
    expect(html).not.toMatch(/<script|src=|href="http/);
    const { nl, en } = sections(html);
    expect(nl).toContain(`<h1>${TEXT.nl.title}: Vlucht &#60;7&#62;</h1>`);
    expect(en).toContain(`<h1>${TEXT.en.title}: Vlucht &#60;7&#62;</h1>`);
    expect(en).toContain(`<p>${esc(TEXT.en.verifyIntro)}</p>\n<p class="mono">${FP}</p>\n</section>`);
    const unnamed = renderReport(model({ meta: meta({ name: '' }) }), FP);
    expect(unnamed).toContain(`<title>${TEXT.nl.title} / ${TEXT.en.title}: gw-r-20260501T100000000Z</title>`);
    expect(sections(unnamed).en).toContain(`<h1>${TEXT.en.title}: gw-r-20260501T100000000Z</h1>`);
  });

  it('escapes the five HTML characters', () => {
    expect(esc(`a&b<c>d"e'f`)).toBe('a&#38;b&#60;c&#62;d&#34;e&#39;f');
    expect(esc('plain')).toBe('plain');
  });
});

describe('report.html: the facts of the session', () => {
  it('lists every fact, "not given" for empty ones, and the clock state in words', () => {
    const { nl, en } = sections(renderReport(model(), FP));
    const ng = (l: 'nl' | 'en') => `<i>${TEXT[l].notGiven}</i>`;
    expect(factRows(en)).toEqual({
      [TEXT.en.session]: '<span class="mono">gw-r-20260501T100000000Z</span>',
      [TEXT.en.name]: 'Vlucht &#60;7&#62;',
      [TEXT.en.gateway]: 'gw-r',
      [TEXT.en.unit]: 'Unit &#38; 7',
      [TEXT.en.drone]: 'D-1',
      [TEXT.en.controller]: ng('en'),
      [TEXT.en.mission]: ng('en'),
      [TEXT.en.start]: '2026-05-01T10:00:00.000000Z',
      [TEXT.en.end]: '2026-05-01T11:00:00.000000Z',
      [TEXT.en.clockStart]: `${TEXT.en.synced} <span class="mono">(ntp)</span>`,
      [TEXT.en.clockEnd]: `${TEXT.en.notSynced} <span class="mono">(rtc)</span>`,
      [TEXT.en.agent]: '1.2.3',
      [TEXT.en.policy]: `policy.yaml<br><span class="mono">sha256 ${'c'.repeat(64)}</span>`,
      [TEXT.en.databases]: 'geo: <span class="mono">2026-01</span><br>asn: <span class="mono">2026-02</span>',
      [TEXT.en.key]: `<span class="mono">${FP}</span>`,
      [TEXT.en.records]: '42',
      [TEXT.en.resumed]: '1',
    });
    expect(factRows(nl)[TEXT.nl.clockStart]).toBe(`${TEXT.nl.synced} <span class="mono">(ntp)</span>`);
    expect(factRows(nl)[TEXT.nl.controller]).toBe(ng('nl'));

    const open = factRows(
      sections(
        renderReport(
          model({
            meta: meta({
              name: '',
              end: null,
              operator: { controller_serial: 'C-9', mission_ref: 'M&1' },
              databases: {},
              clock_start: { synchronized: null, source: 'none' },
              clock_end: null,
            }),
          }),
          FP,
        ),
      ).en,
    );
    expect(open[TEXT.en.name]).toBe(ng('en'));
    expect([open[TEXT.en.unit], open[TEXT.en.drone]]).toEqual([ng('en'), ng('en')]);
    expect([open[TEXT.en.controller], open[TEXT.en.mission]]).toEqual(['C-9', 'M&#38;1']);
    expect(open[TEXT.en.end]).toBe('');
    expect(open[TEXT.en.clockStart]).toBe(`${TEXT.en.unknownSync} <span class="mono">(none)</span>`);
    expect(open[TEXT.en.clockEnd]).toBe('');
    expect(open[TEXT.en.databases]).toBe(ng('en'));
  });
});

describe('report.html: the summary', () => {
  const summary = (m: SessionModel, lang: 'nl' | 'en' = 'en') => {
    const s = sections(renderReport(m, FP))[lang];
    return s.slice(s.indexOf(`<h2>${TEXT[lang].summary}</h2>`), s.indexOf(`<h2>${TEXT[lang].flagged}</h2>`));
  };

  it.each([
    ['plain', noEgress('plain'), 'ok', TEXT.en.noEgressPlain],
    ['refused', noEgress('refused'), 'warn', TEXT.en.noEgressRefused],
  ] as const)('states "no egress observed" %s', (strength, st, cls, text) => {
    const s = summary(model({ statement: st }));
    expect(s).toContain(
      `<p class="box statement ${cls}" data-strength="${strength}">${esc(text('2026-05-01T10:00:00.000000Z', '2026-05-01T11:00:00.000000Z'))}</p>`,
    );
    expect(s).not.toContain('gap-warning');
    expect(s).toContain(`<p>${TEXT.en.flowCount(0)}</p>`);
    expect(s).not.toMatch(/badge|china|lookup-count/);
  });

  it('states it weakened with the gaps, and warns of the gaps (seconds to 0.1)', () => {
    const gap = {
      start: '2026-05-01T10:10:00Z',
      end: '2026-05-01T10:12:05Z',
      cause: 'capture_down',
      packets_dropped: null,
    };
    const st = noEgress('weakened', 2, 125.04);
    for (const lang of ['nl', 'en'] as const) {
      const s = summary(model({ statement: st, gaps: [gap, gap] }), lang);
      const t = TEXT[lang];
      expect(s).toContain(
        `<p class="box statement warn" data-strength="weakened">${esc(t.noEgressWeakened('2026-05-01T10:00:00.000000Z', '2026-05-01T11:00:00.000000Z', 2, '125.0'))}</p>`,
      );
      expect(s).toContain(`<p class="box warn gap-warning">${esc(t.gapWarning(2, '125.0'))}</p>`);
    }
  });

  it.each([
    ['plain', 'ok'],
    ['weakened', 'warn'],
    ['refused', 'warn'],
  ] as const)(
    'a replayed capture: states it %s over the traffic window from the packets, the recording beside it',
    (strength, cls) => {
      const [a, b] = ['2026-04-20T08:00:00.250000Z', '2026-04-20T08:30:00.000000Z'];
      const st: Statement = { ...noEgress(strength, 1, 3), window: { start: a, end: b }, clock: 'packets' };
      for (const lang of ['nl', 'en'] as const) {
        const t = TEXT[lang];
        const p = t.packetClock;
        const text =
          strength === 'plain'
            ? p.noEgressPlain(a, b)
            : strength === 'weakened'
              ? p.noEgressWeakened(a, b, 1, '3.0')
              : p.noEgressRefused(a, b);
        const html = esc(`${text} ${p.played('2026-05-01T10:00:00.000000Z', '2026-05-01T11:00:00.000000Z')}`).replace(
          /\d{4}-\d\d-\d\dT[\d:.]+Z/g,
          (ts) => `<span class="nowrap">${ts}</span>`,
        );
        expect(html.match(/nowrap/g)).toHaveLength(4);
        expect(summary(model({ statement: st }), lang)).toContain(
          `<p class="box statement ${cls}" data-strength="${strength}" data-clock="packets">${html}</p>`,
        );
      }
      // An open session: the recording has no end yet.
      expect(summary(model({ statement: st, meta: meta({ end: null }) }))).toContain(
        esc(TEXT.en.packetClock.played('2026-05-01T10:00:00.000000Z', '…')).replace(
          '2026-05-01T10:00:00.000000Z',
          '<span class="nowrap">2026-05-01T10:00:00.000000Z</span>',
        ),
      );
    },
  );

  it('with flagged destinations: the badge of the highest severity, the China-bound ones listed, no statement', () => {
    const ds = [
      dest({ ip: '203.0.113.1', country: 'CN', asn: 4134, asOrg: 'China Telecom', names: ['a.example', 'b.example'] }),
      dest({ ip: '203.0.113.2', country: 'DE', asCountry: 'CN', asn: 45102, asOrg: 'Alibaba' }),
      dest({ ip: '203.0.113.3', country: 'HK' }),
      dest({ ip: '203.0.113.4', asCountry: 'MO', asOrg: 'Org' }),
      dest({ ip: '203.0.113.5', country: 'NL', asCountry: 'NL', asn: 1 }),
    ];
    const egress: Statement = { ...noEgress('not_applicable'), kind: 'egress_observed' };
    const medium = summary(model({ destinations: ds, statement: egress }));
    expect(medium).toContain(
      `<p class="box"><span class="badge medium">MEDIUM</span> ${TEXT.en.flaggedCount(5, 0)}</p>`,
    );
    expect(medium).toContain(
      `<p class="china"><b>${TEXT.en.chinaBound(4)}</b></p><ul class="china">` +
        '<li><span class="mono">203.0.113.1</span> a.example, b.example — AS4134 China Telecom, China (CN)</li>' +
        '<li><span class="mono">203.0.113.2</span>  — AS45102 Alibaba, Germany (DE)</li>' +
        '<li><span class="mono">203.0.113.3</span>  — , Hong Kong SAR China (HK)</li>' +
        '<li><span class="mono">203.0.113.4</span>  — Org, unknown</li></ul>',
    );
    expect(medium).not.toContain('statement');
    const high = summary(
      model({ destinations: [...ds, dest({ ip: '203.0.113.6', severity: 'high' })], statement: egress }),
      'nl',
    );
    expect(high).toContain(`<p class="box"><span class="badge high">HOOG</span> ${TEXT.nl.flaggedCount(6, 1)}</p>`);
    expect(high).toContain(`<b>${TEXT.nl.chinaBound(4)}</b>`);
    expect(high).toContain('China (CN)</li>');
  });

  it('counts flows and denied-name lookups', () => {
    const lookup = {
      timestamp: '2026-05-01T10:05:00.123456Z',
      src_ip: '10.0.0.2',
      dest_ip: '10.0.0.1',
      dest_port: null,
      name: 'evil.example',
      rule: 'deny',
      severity: 'high' as const,
    };
    const s = summary(model({ lookups: [lookup, lookup], flows: [{} as never] }));
    expect(s).toContain(`<p>${TEXT.en.flowCount(1)}</p>`);
    expect(s).toContain(
      `<p class="box lookup-count"><span class="badge high">HIGH</span> ${esc(TEXT.en.lookupCount(2))}</p>`,
    );
  });
});

describe('report.html: the tables', () => {
  const part = (html: string, lang: 'nl' | 'en', from: string, to: string) => {
    const s = sections(html)[lang];
    return s.slice(s.indexOf(`<h2>${from}</h2>`), s.indexOf(`<h2>${to}</h2>`));
  };

  it('destinations: high first, then by first seen; sizes, times, country, network and reasons written out', () => {
    const ds = [
      dest({ ip: '203.0.113.1', firstSeen: '2026-05-01T10:03:00Z', bytesToServer: 1023, bytesToClient: 1024 }),
      dest({
        ip: '203.0.113.2',
        severity: 'high',
        firstSeen: '2026-05-01T10:05:00.5Z',
        lastSeen: '2026-05-01T10:06:00.123456Z',
        country: 'CN',
        asn: 4134,
        asOrg: 'China <Telecom>',
        asCountry: 'CN',
        names: ['a.example'],
        reasons: ['deny_country', 'deny_asn', 'custom'],
        flows: 3,
        bytesToServer: 1024 * 1024 - 1,
        bytesToClient: 1024 * 1024,
      }),
      dest({ ip: '203.0.113.3', firstSeen: '2026-05-01T10:01:00Z', asOrg: 'Org' }),
      dest({ ip: '203.0.113.4', severity: 'high', firstSeen: '2026-05-01T10:02:00Z', country: 'XX' }),
    ];
    const html = renderReport(model({ destinations: ds }), FP);
    const en = part(html, 'en', TEXT.en.flagged, TEXT.en.lookups);
    const rows = [...en.matchAll(/<tr class="dest">([\s\S]*?)<\/tr>/g)].map((m) => m[1]);
    expect(rows.map((r) => r.match(/<span class="mono nowrap">(.*?)<\/span>/)?.[1])).toEqual([
      '203.0.113.4',
      '203.0.113.2',
      '203.0.113.3',
      '203.0.113.1',
    ]);
    expect(rows[1]).toBe(
      `<td><span class="badge high">HIGH</span></td>
<td><span class="mono nowrap">203.0.113.2</span><br><span class="names">a.example</span></td>
<td>China (CN)<br>AS4134 China &#60;Telecom&#62;<br><small>registered in China (CN)</small></td>
<td class="num nowrap">↑ 1024.0 KiB<br>↓ 1.0 MiB</td>
<td class="mono nowrap">2026-05-01 10:05:00<br>2026-05-01 10:06:00</td><td class="num">3</td>
<td>denied country; denied network (AS); custom</td>`,
    );
    expect(rows[3]).toBe(
      `<td><span class="badge medium">MEDIUM</span></td>
<td><span class="mono nowrap">203.0.113.1</span><br><span class="names">—</span></td>
<td>unknown<br>unknown</td>
<td class="num nowrap">↑ 1023 B<br>↓ 1.0 KiB</td>
<td class="mono nowrap">2026-05-01 10:03:00<br>2026-05-01 10:20:00</td><td class="num">1</td>
<td></td>`,
    );
    expect(rows[2]).toContain('<td>unknown<br>Org</td>');
    expect(rows[0]).toContain('<td>XX (XX)<br>unknown</td>');
    const nl = part(html, 'nl', TEXT.nl.flagged, TEXT.nl.lookups);
    expect(nl).toContain(
      '<td>China (CN)<br>AS4134 China &#60;Telecom&#62;<br><small>geregistreerd in China (CN)</small></td>',
    );
    expect(nl).toContain('<td>land geweigerd; netwerk (AS) geweigerd; custom</td>');
    expect(nl).toContain('<span class="badge medium">MIDDEL</span>');
    expect(nl).toContain(`<th>${TEXT.nl.severity}</th>`);
    expect(part(renderReport(model(), FP), 'nl', TEXT.nl.flagged, TEXT.nl.lookups)).toBe(
      `<h2>${TEXT.nl.flagged}</h2>\n<p>${TEXT.nl.noFlagged}</p>\n`,
    );
  });

  it('an invalid country code is written as it is', () => {
    const html = renderReport(model({ destinations: [dest({ country: 'C1' })] }), FP);
    expect(part(html, 'en', TEXT.en.flagged, TEXT.en.lookups)).toContain('<td>C1<br>unknown</td>');
  });

  it('sizes past a MiB', () => {
    const html = renderReport(model({ destinations: [dest({ bytesToServer: 5 * 1024 * 1024 + 1024 * 512 })] }), FP);
    expect(html).toContain('↑ 5.5 MiB<br>↓ 0 B');
  });

  it('lookups: one row each, the resolver port when known; none says so', () => {
    const l = {
      timestamp: '2026-05-01T10:05:00.123456Z',
      src_ip: '10.0.0.2',
      dest_ip: '10.0.0.1',
      dest_port: null,
      name: 'evil<.example',
      rule: 'deny:evil',
      severity: 'high' as const,
    };
    const html = renderReport(model({ lookups: [l, { ...l, dest_port: 53, timestamp: '2026-05-01T10:06:00Z' }] }), FP);
    const en = part(html, 'en', TEXT.en.lookups, TEXT.en.gaps);
    expect(en).toContain(`<p>${TEXT.en.lookupsIntro}</p><table class="lookups"><tr><th>${TEXT.en.severity}</th>`);
    expect([...en.matchAll(/<tr class="lookup">(.*?)<\/tr>/g)].map((m) => m[1])).toEqual([
      '<td><span class="badge high">HIGH</span></td><td class="mono nowrap">2026-05-01 10:05:00</td><td class="mono">10.0.0.2</td><td class="mono">10.0.0.1</td><td class="names">evil&#60;.example</td><td class="mono">deny:evil</td>',
      '<td><span class="badge high">HIGH</span></td><td class="mono nowrap">2026-05-01 10:06:00</td><td class="mono">10.0.0.2</td><td class="mono">10.0.0.1:53</td><td class="names">evil&#60;.example</td><td class="mono">deny:evil</td>',
    ]);
    expect(part(html, 'nl', TEXT.nl.lookups, TEXT.nl.gaps)).toContain('<span class="badge high">HOOG</span>');
    expect(part(renderReport(model(), FP), 'en', TEXT.en.lookups, TEXT.en.gaps)).toBe(
      `<h2>${TEXT.en.lookups}</h2>\n<p>${TEXT.en.noLookups}</p>\n`,
    );
  });

  it('gaps: one row each with its cause in words and packets lost; none says whether packets were seen', () => {
    const html = renderReport(
      model({
        gaps: [
          { start: '2026-05-01T10:10:00Z', end: '2026-05-01T10:11:00Z', cause: 'kernel_drop', packets_dropped: 12 },
          { start: '2026-05-01T10:20:00Z', end: '2026-05-01T10:21:00Z', cause: 'odd<cause', packets_dropped: null },
        ],
      }),
      FP,
    );
    const nl = part(html, 'nl', TEXT.nl.gaps, TEXT.nl.breach);
    expect([...nl.matchAll(/<tr class="gap">(.*?)<\/tr>/g)].map((m) => m[1])).toEqual([
      '<td class="mono nowrap">2026-05-01T10:10:00Z</td><td class="mono nowrap">2026-05-01T10:11:00Z</td><td>pakketten verloren in de kernel</td><td class="num">12</td>',
      '<td class="mono nowrap">2026-05-01T10:20:00Z</td><td class="mono nowrap">2026-05-01T10:21:00Z</td><td>odd&#60;cause</td><td class="num">onbekend</td>',
    ]);
    expect(nl).toContain(`<th>${TEXT.nl.start}</th><th>${TEXT.nl.end}</th><th>${TEXT.nl.gapCause}</th>`);
    const none = (packets: number) => part(renderReport(model({ packets }), FP), 'en', TEXT.en.gaps, TEXT.en.breach);
    expect(none(5)).toBe(`<h2>${TEXT.en.gaps}</h2>\n<p>${TEXT.en.noGaps}</p>\n`);
    expect(none(0)).toBe(`<h2>${TEXT.en.gaps}</h2>\n<p>${TEXT.en.noPackets}</p>\n`);
  });

  it('timeline: each entry with its kind in words', () => {
    const html = renderReport(
      model({
        timeline: [
          { ts: '2026-05-01T10:00:00Z', kind: 'start', text: 'Vlucht' },
          { ts: '2026-05-01T10:05:00Z', kind: 'alert', text: 'HIGH: <x>' },
          { ts: '2026-05-01T10:06:00Z', kind: 'other' as never, text: '' },
        ],
      }),
      FP,
    );
    const nl = part(html, 'nl', TEXT.nl.timeline, TEXT.nl.verification);
    expect(nl).toBe(
      `<h2>${TEXT.nl.timeline}</h2>\n<p class="timeline-clock">${esc(TEXT.nl.timelineOrder)}</p>\n` +
        '<table class="timeline"><tr><th>UTC</th><th></th><th></th></tr>' +
        '<tr data-kind="start"><td class="mono nowrap">2026-05-01T10:00:00Z</td><td>begin</td><td>Vlucht</td></tr>' +
        '<tr data-kind="alert"><td class="mono nowrap">2026-05-01T10:05:00Z</td><td>melding</td><td>HIGH: &#60;x&#62;</td></tr>' +
        '<tr data-kind="other"><td class="mono nowrap">2026-05-01T10:06:00Z</td><td>other</td><td></td></tr></table>\n',
    );
    expect(html).not.toContain('clock-note');
  });

  it('timeline of a replayed capture: the clocks named, start and end as the recording, the summary told', () => {
    const timeline = [
      { ts: '2026-04-20T08:00:00.250000Z', kind: 'alert' as const, text: 'HIGH: a' },
      { ts: '2026-05-01T10:00:00.000000Z', kind: 'start' as const, text: 'Replay' },
      { ts: '2026-05-01T11:00:00.000000Z', kind: 'end' as const, text: '' },
    ];
    const clock = { outside: 1, first: '2026-04-20T08:00:00.250000Z', last: '2026-04-20T08:00:00.250000Z' };
    const html = renderReport(model({ timeline, timelineClock: clock, timelineOmitted: 4 }), FP);
    for (const lang of ['nl', 'en'] as const) {
      const t = TEXT[lang];
      const note = t.timelineOtherClock(
        1,
        '2026-04-20 08:00:00',
        '2026-04-20 08:00:00',
        '2026-05-01 10:00:00',
        '2026-05-01 11:00:00',
      );
      expect(part(html, lang, t.timeline, t.verification)).toBe(
        `<h2>${t.timeline}</h2>\n<p class="box warn timeline-clock">${esc(`${note} ${t.timelineCut(3, 7)}`)}</p>\n` +
          '<table class="timeline"><tr><th>UTC</th><th></th><th></th></tr>' +
          `<tr data-kind="alert"><td class="mono nowrap">2026-04-20T08:00:00.250000Z</td><td>${t.kinds.alert}</td><td>HIGH: a</td></tr>` +
          `<tr data-kind="start"><td class="mono nowrap">2026-05-01T10:00:00.000000Z</td><td>${esc(t.kinds.startRecording)}</td><td>Replay</td></tr>` +
          `<tr data-kind="end"><td class="mono nowrap">2026-05-01T11:00:00.000000Z</td><td>${esc(t.kinds.endRecording)}</td><td></td></tr></table>\n`,
      );
      expect(part(html, lang, t.summary, t.flagged)).toContain(
        `<p class="box warn clock-note">${esc(t.clockSummary('2026-04-20 08:00:00', '2026-04-20 08:00:00'))}</p>`,
      );
    }
    // An open session: the recording has no end yet.
    const open = renderReport(model({ meta: meta({ end: null }), timeline, timelineClock: clock }), FP);
    expect(open).toContain(
      esc(TEXT.en.timelineOtherClock(1, '2026-04-20 08:00:00', '2026-04-20 08:00:00', '2026-05-01 10:00:00', '…')),
    );
  });

  it('breach notification: prefilled from the flagged flows, the first alert and its 72-hour deadline; officer fields marked', () => {
    const flow = (verdict: string, bytes: number) => ({ verdict, bytes_toserver: bytes }) as never;
    const ds = [
      dest({ ip: '203.0.113.1', country: 'CN', firstSeen: '2026-05-01T10:02:00Z' }),
      dest({ ip: '203.0.113.2', country: 'CN' }),
      dest({ ip: '203.0.113.3', country: null }),
    ];
    const html = renderReport(
      model({
        destinations: ds,
        flows: [flow('high', 1000), flow('allowed', 5000), flow('medium', 24), flow('high', 0), flow('high', 0)],
        // Recorded by the gateway 60 s after its packet: the slack, so no packet time beside it.
        discovery: { recorded: '2026-05-01T10:04:30.000Z', packet: '2026-05-01T10:03:30.000Z' },
        timeline: [
          { ts: '2026-05-01T10:00:00Z', kind: 'start', text: '' },
          { ts: '2026-05-01T10:03:30.000Z', kind: 'alert', text: '' },
          { ts: '2026-05-01T10:09:00Z', kind: 'alert', text: '' },
        ],
      }),
      FP,
    );
    for (const lang of ['nl', 'en'] as const) {
      const t = TEXT[lang];
      const b = part(html, lang, t.breach, t.facts);
      const officer = `<div class="officer">${t.officer}</div>`;
      const rows = [...b.matchAll(/<tr><th scope="row">(.*?)<\/th><td>(.*?)<\/td><\/tr>/g)].map((m) => [m[1], m[2]]);
      const china = lang === 'nl' ? 'China (CN)' : 'China (CN)';
      expect(rows).toEqual([
        [t.fNature, esc(t.nature(4, 3, china))],
        [t.fSubjects, officer],
        [t.fRecords, `${esc(t.recordsPrefill('1.0 KiB'))}${officer}`],
        [t.fDpo, officer],
        [t.fConsequences, officer],
        [t.fMeasures, `${esc(t.measuresPrefill('2026-05-01T11:00:00.000000Z'))}${officer}`],
        [t.fDiscovery, '<span class="mono">2026-05-01T10:04:30.000Z</span>'],
        [t.fDeadline, '<span class="mono">2026-05-04T10:04:30.000Z</span>'],
        [t.fNotified, officer],
      ]);
      expect(b).toContain(`<table class="breach"><tr><th>${t.field}</th><th>${t.value}</th></tr>`);
    }
    // A replayed capture: the alert recorded on the gateway's clock, its packet dated earlier (past the 60 s
    // slack, by 1 µs): discovery and deadline from the record, the packet's time beside it, kept on one line.
    const replayed = renderReport(
      model({
        destinations: ds,
        discovery: { recorded: '2026-05-01T10:04:30.000001Z', packet: '2026-05-01T10:03:30.000000Z' },
      }),
      FP,
    );
    for (const lang of ['nl', 'en'] as const) {
      const t = TEXT[lang];
      const seen = esc(t.trafficSeenAt('2026-05-01T10:03:30.000000Z')).replace(
        '2026-05-01T10:03:30.000000Z',
        '<span class="nowrap">2026-05-01T10:03:30.000000Z</span>',
      );
      const b = part(replayed, lang, t.breach, t.facts);
      expect(b).toContain(
        `<tr><th scope="row">${t.fDiscovery}</th><td><span class="mono">2026-05-01T10:04:30.000001Z</span><span class="packet-time">${seen}</span></td></tr>`,
      );
      expect(b).toContain(
        `<tr><th scope="row">${esc(t.fDeadline)}</th><td><span class="mono">2026-05-04T10:04:30.000Z</span></td></tr>`,
      );
    }
    // The packet dated after the record (a clock stepped back) counts the same way.
    const later = renderReport(
      model({
        destinations: ds,
        discovery: { recorded: '2026-05-01T10:04:30.000000Z', packet: '2026-05-01T10:05:30.000001Z' },
      }),
      FP,
    );
    expect(part(later, 'en', TEXT.en.breach, TEXT.en.facts)).toContain('<span class="packet-time">');
    // No alert in the timeline: discovered when the first destination was first seen; more destinations
    // than flagged flows counts the destinations; no country known: unknown; an open session: no end.
    const noAlert = renderReport(
      model({
        meta: meta({ end: null }),
        destinations: [
          dest({ firstSeen: '2026-05-01T10:02:00.000Z', country: 'NL' }),
          dest({ ip: '203.0.113.7', country: 'DE' }),
        ],
        flows: [flow('high', 10)],
      }),
      FP,
    );
    const en = part(noAlert, 'en', TEXT.en.breach, TEXT.en.facts);
    expect(en).toContain(`<td>${esc(TEXT.en.nature(2, 2, 'Netherlands (NL), Germany (DE)'))}</td>`);
    expect(en).toContain('<span class="mono">2026-05-01T10:02:00.000Z</span>');
    expect(en).toContain('<span class="mono">2026-05-04T10:02:00.000Z</span>');
    expect(en).toContain(`${esc(TEXT.en.measuresPrefill(''))}<div`);
    const unknown = part(
      renderReport(model({ destinations: [dest({ country: null })] }), FP),
      'en',
      TEXT.en.breach,
      TEXT.en.facts,
    );
    expect(unknown).toContain(`<td>${esc(TEXT.en.nature(1, 1, 'unknown'))}</td>`);
    expect(part(renderReport(model(), FP), 'nl', TEXT.nl.breach, TEXT.nl.facts)).toBe(
      `<h2>${TEXT.nl.breach}</h2>\n<p>${TEXT.nl.noBreach}</p>\n`,
    );
  });
});

describe('report texts: one and many', () => {
  it.each([
    ['en', 'flaggedCount', [1, 0], '1 flagged destination, 0 of them with severity HIGH.'],
    ['en', 'flaggedCount', [2, 1], '2 flagged destinations, 1 of them with severity HIGH.'],
    ['nl', 'flaggedCount', [1, 1], '1 gemarkeerde bestemming, waarvan 1 met ernst HOOG.'],
    ['nl', 'flaggedCount', [3, 0], '3 gemarkeerde bestemmingen, waarvan 0 met ernst HOOG.'],
    ['en', 'chinaBound', [1], '1 destination in China or in a network registered in China:'],
    ['en', 'chinaBound', [2], '2 destinations in China or in a network registered in China:'],
    ['nl', 'chinaBound', [1], '1 bestemming in China of in een in China geregistreerd netwerk:'],
    ['nl', 'chinaBound', [2], '2 bestemmingen in China of in een in China geregistreerd netwerk:'],
    ['en', 'flowCount', [1], '1 connection to the internet recorded.'],
    ['en', 'flowCount', [0], '0 connections to the internet recorded.'],
    ['nl', 'flowCount', [1], '1 verbinding naar internet vastgelegd.'],
    ['nl', 'flowCount', [2], '2 verbindingen naar internet vastgelegd.'],
  ] as const)('%s %s(%j)', (lang, fn, args, want) => {
    expect((TEXT[lang][fn] as (...a: number[]) => string)(...args)).toBe(want);
  });

  it.each([
    ['nl', 'lookupCount', '1 opvraging van', '2 opvragingen van'],
    ['en', 'lookupCount', '1 lookup of', '2 lookups of'],
    ['nl', 'gapWarning', '1 onderbreking in', '2 onderbrekingen in'],
    ['en', 'gapWarning', '1 capture gap (', '2 capture gaps ('],
    ['nl', 'noEgressWeakened', '1 onderbreking van', '2 onderbrekingen van'],
    ['en', 'noEgressWeakened', '1 capture gap (', '2 capture gaps ('],
  ] as const)('%s %s: one and two', (lang, fn, one, two) => {
    const f = TEXT[lang][fn] as (...a: unknown[]) => string;
    const call = (n: number) =>
      fn === 'noEgressWeakened' ? f('a', 'b', n, '1.0') : fn === 'gapWarning' ? f(n, '1.0') : f(n);
    expect(call(1)).toContain(one);
    expect(call(2)).toContain(two);
  });

  it.each([
    ['nl', 1, 1, 'Tijdens de vlucht maakte het aangesloten apparaat 1 verbinding naar 1 bestemming die'],
    ['nl', 2, 3, 'Tijdens de vlucht maakte het aangesloten apparaat 2 verbindingen naar 3 bestemmingen die'],
    ['en', 1, 1, 'During the flight the connected device made 1 connection to 1 destination the'],
    ['en', 2, 3, 'During the flight the connected device made 2 connections to 3 destinations the'],
  ] as const)('nature (%s, %i flows, %i destinations)', (lang, flows, dests, start) => {
    expect(TEXT[lang].nature(flows, dests, 'X').startsWith(start)).toBe(true);
  });
});

describe('report texts: the facts they carry', () => {
  it.each(['nl', 'en'] as const)('%s: each text with facts names them', (lang) => {
    const t = TEXT[lang];
    for (const s of [t.noEgressPlain('T-A', 'T-B'), t.noEgressRefused('T-A', 'T-B')]) {
      expect(s).toContain('T-A');
      expect(s).toContain('T-B');
    }
    const p = t.packetClock;
    for (const s of [p.noEgressPlain('T-A', 'T-B'), p.noEgressRefused('T-A', 'T-B'), p.played('T-A', 'T-B')]) {
      expect(s).toContain('T-A');
      expect(s).toContain('T-B');
    }
    expect(p.noEgressWeakened('T-A', 'T-B', 1, '2.5')).toMatch(/T-A.*T-B.* 1 (onderbreking|capture gap) .*2\.5 s/);
    expect(p.noEgressWeakened('T-A', 'T-B', 2, '2.5')).toMatch(/ 2 (onderbrekingen|capture gaps) /);
    expect(t.trafficSeenAt('T-P')).toContain(' T-P ');
    expect(t.recordsPrefill('12.0 KiB')).toMatch(/^12\.0 KiB \S/);
    expect(t.measuresPrefill('T-END')).toContain(' T-END (UTC)');
  });
});
