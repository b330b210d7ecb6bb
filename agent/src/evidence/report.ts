// report.html: one self-contained page (no script, no external resource, so
// it opens offline and prints to PDF), the same content in Dutch and then in
// English. Severity is always written out (HOOG/HIGH), never colour alone.

import { CLOCK_SLACK_US, type Destination, type SessionModel } from './model.js';
import { type Lang, TEXT } from './report-text.js';
import type { ClockState } from './session-store.js';
import { isoToMicros } from './timeline.js';

const STYLE = `
:root { --ink:#111; --muted:#444; --line:#888; --high:#9b0000; --medium:#7a4a00; --ok:#0b5d1e; }
* { box-sizing: border-box; }
body { font: 16px/1.45 system-ui, "DejaVu Sans", Arial, sans-serif; color: var(--ink); background: #fff; margin: 0 auto; max-width: 1100px; padding: 16px; }
h1 { font-size: 1.6em; margin: 0 0 4px; } h2 { font-size: 1.25em; border-bottom: 2px solid var(--ink); margin-top: 1.6em; }
nav a { margin-right: 1em; font-weight: 600; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; }
th, td { border: 1px solid var(--line); padding: 5px 7px; text-align: left; vertical-align: top; }
th { background: #eee; } table.dests { font-size: .9em; } .nowrap { white-space: nowrap; } .names { overflow-wrap: anywhere; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; font-weight: 700; padding: 1px 6px; border: 2px solid currentColor; border-radius: 3px; }
.high { color: var(--high); } .medium { color: var(--medium); } .ok { color: var(--ok); }
.box { border: 3px solid var(--ink); padding: 10px 14px; margin: 12px 0; font-weight: 600; }
.box.warn { border-style: dashed; }
.packet-time { display: block; margin-top: 4px; font-size: .92em; color: var(--muted); }
.officer { border: 2px dashed var(--ink); padding: 6px; color: var(--muted); font-style: italic; min-height: 2.4em; }
code, .mono { font-family: "DejaVu Sans Mono", monospace; font-size: .9em; overflow-wrap: anywhere; }
section.lang + section.lang { margin-top: 3em; border-top: 6px double var(--ink); }
@media print {
  @page { size: A4; margin: 15mm 12mm; }
  body { font-size: 10.5pt; max-width: none; padding: 0; }
  nav { display: none; }
  section.lang + section.lang { break-before: page; border-top: none; margin-top: 0; }
  tr, .box { break-inside: avoid; } h2 { break-after: avoid; }
  th { background: none; }
}`;

export function renderReport(m: SessionModel, bundleFingerprint: string): string {
  const title = `${TEXT.nl.title} / ${TEXT.en.title}: ${m.meta.name || m.meta.id}`;
  return `<!doctype html>
<html lang="nl">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<nav><a href="#nl">Nederlands</a><a href="#en">English</a></nav>
${section(m, 'nl', bundleFingerprint)}
${section(m, 'en', bundleFingerprint)}
</body>
</html>
`;
}

function section(m: SessionModel, lang: Lang, fp: string): string {
  const t = TEXT[lang];
  const meta = m.meta;
  const high = m.destinations.filter((d) => d.severity === 'high').length;
  const op = meta.operator;
  const facts: [string, string][] = [
    [t.session, `<span class="mono">${esc(meta.id)}</span>`],
    [t.name, esc(meta.name) || `<i>${t.notGiven}</i>`],
    [t.gateway, esc(meta.gateway)],
    [t.unit, esc(op.unit ?? '') || `<i>${t.notGiven}</i>`],
    [t.drone, esc(op.drone_serial ?? '') || `<i>${t.notGiven}</i>`],
    [t.controller, esc(op.controller_serial ?? '') || `<i>${t.notGiven}</i>`],
    [t.mission, esc(op.mission_ref ?? '') || `<i>${t.notGiven}</i>`],
    [t.start, esc(meta.start)],
    [t.end, esc(meta.end ?? '')],
    [t.clockStart, clock(meta.clock_start, lang)],
    [t.clockEnd, meta.clock_end ? clock(meta.clock_end, lang) : ''],
    [t.agent, esc(meta.agent_version)],
    [t.policy, `${esc(meta.policy.source)}<br><span class="mono">sha256 ${esc(meta.policy.sha256)}</span>`],
    [
      t.databases,
      Object.entries(meta.databases)
        .map(([k, v]) => `${esc(k)}: <span class="mono">${esc(v)}</span>`)
        .join('<br>') || `<i>${t.notGiven}</i>`,
    ],
    [t.key, `<span class="mono">${esc(fp)}</span>`],
    [t.records, String(m.records)],
    [t.resumed, String(meta.resumed)],
  ];
  const gapS = m.statement.gapSeconds.toFixed(1);
  const summary: string[] = [];
  if (m.destinations.length > 0)
    summary.push(
      `<p class="box"><span class="badge ${high > 0 ? 'high' : 'medium'}">${high > 0 ? t.high : t.medium}</span> ${esc(t.flaggedCount(m.destinations.length, high))}</p>`,
    );
  const china = m.destinations.filter((d) => CHINA.has(d.country ?? '') || CHINA.has(d.asCountry ?? ''));
  if (china.length > 0)
    summary.push(
      `<p class="china"><b>${esc(t.chinaBound(china.length))}</b></p><ul class="china">${china
        .map(
          (d) =>
            `<li><span class="mono">${esc(d.ip)}</span> ${esc(d.names.join(', '))} — ${esc(network(d))}, ${esc(d.country ? countryName(d.country, lang) : t.unknown)}</li>`,
        )
        .join('')}</ul>`,
    );
  summary.push(`<p>${esc(t.flowCount(m.flows.length))}</p>`);
  if (m.lookups.length > 0)
    summary.push(
      `<p class="box lookup-count"><span class="badge high">${t.high}</span> ${esc(t.lookupCount(m.lookups.length))}</p>`,
    );
  const st = m.statement;
  if (st.kind === 'no_egress_observed') {
    const [a, b] = [st.window.start, st.window.end];
    // On the packets' clock (a replayed capture) the window is the traffic's, the recording's named beside it.
    const s = st.clock === 'packets' ? t.packetClock : t;
    const text =
      st.strength === 'plain'
        ? s.noEgressPlain(a, b)
        : st.strength === 'weakened'
          ? s.noEgressWeakened(a, b, st.gaps, gapS)
          : s.noEgressRefused(a, b);
    const played = st.clock === 'packets' ? ` ${t.packetClock.played(meta.start, meta.end ?? '…')}` : '';
    const [attr, html] =
      st.clock === 'packets' ? [' data-clock="packets"', unbroken(esc(text + played))] : ['', esc(text)];
    summary.push(
      `<p class="box statement ${st.strength === 'plain' ? 'ok' : 'warn'}" data-strength="${st.strength}"${attr}>${html}</p>`,
    );
  }
  const tc = m.timelineClock;
  if (tc.outside > 0 && tc.first !== null && tc.last !== null)
    summary.push(`<p class="box warn clock-note">${esc(t.clockSummary(shortTime(tc.first), shortTime(tc.last)))}</p>`);
  if (m.gaps.length > 0) summary.push(`<p class="box warn gap-warning">${esc(t.gapWarning(m.gaps.length, gapS))}</p>`);
  return `<section class="lang" id="${lang}" lang="${lang}">
<h1>${esc(t.title)}: ${esc(meta.name || meta.id)}</h1>
<h2>${t.summary}</h2>
${summary.join('\n')}
<h2>${t.flagged}</h2>
${destinations(m.destinations, lang)}
<h2>${t.lookups}</h2>
${lookups(m, lang)}
<h2>${t.gaps}</h2>
${gaps(m, lang)}
<h2>${t.breach}</h2>
${breach(m, lang)}
<h2>${t.facts}</h2>
<table>${facts.map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${v}</td></tr>`).join('')}</table>
<h2>${t.timeline}</h2>
${timeline(m, lang)}
<h2>${t.verification}</h2>
<p>${esc(t.verifyIntro)}</p>
<p class="mono">${esc(fp)}</p>
</section>`;
}

/**
 * In time order (model.ts), with the clock said: a replayed capture's events
 * are dated by the capture and the recording's start and end by the gateway,
 * so both are named rather than shown as one sequence of gateway times.
 */
function timeline(m: SessionModel, lang: Lang): string {
  const t = TEXT[lang];
  const c = m.timelineClock;
  const other = c.outside > 0 && c.first !== null && c.last !== null;
  const note = other
    ? t.timelineOtherClock(
        c.outside,
        shortTime(c.first ?? ''),
        shortTime(c.last ?? ''),
        shortTime(m.meta.start),
        m.meta.end === null ? '…' : shortTime(m.meta.end),
      )
    : t.timelineOrder;
  const cut =
    m.timelineOmitted > 0 ? ` ${t.timelineCut(m.timeline.length, m.timeline.length + m.timelineOmitted)}` : '';
  const kind = (k: string) => (other && (k === 'start' || k === 'end') ? `${k}Recording` : k);
  const rows = m.timeline.map(
    (e) =>
      `<tr data-kind="${e.kind}"><td class="mono nowrap">${esc(e.ts)}</td><td>${esc(t.kinds[kind(e.kind)] ?? e.kind)}</td><td>${esc(e.text)}</td></tr>`,
  );
  return `<p class="${other ? 'box warn ' : ''}timeline-clock">${esc(note + cut)}</p>
<table class="timeline"><tr><th>UTC</th><th></th><th></th></tr>${rows.join('')}</table>`;
}

function destinations(ds: Destination[], lang: Lang): string {
  const t = TEXT[lang];
  if (ds.length === 0) return `<p>${t.noFlagged}</p>`;
  const sorted = [...ds].sort((a, b) =>
    a.severity === b.severity ? a.firstSeen.localeCompare(b.firstSeen) : a.severity === 'high' ? -1 : 1,
  );
  const rows = sorted.map((d) => {
    const reg = d.asCountry ? `<br><small>${t.registeredIn} ${esc(countryName(d.asCountry, lang))}</small>` : '';
    return `<tr class="dest"><td><span class="badge ${d.severity}">${d.severity === 'high' ? t.high : t.medium}</span></td>
<td><span class="mono nowrap">${esc(d.ip)}</span><br><span class="names">${esc(d.names.join(', ')) || '—'}</span></td>
<td>${esc(d.country ? countryName(d.country, lang) : t.unknown)}<br>${esc(network(d)) || t.unknown}${reg}</td>
<td class="num nowrap">↑ ${bytes(d.bytesToServer)}<br>↓ ${bytes(d.bytesToClient)}</td>
<td class="mono nowrap">${shortTime(d.firstSeen)}<br>${shortTime(d.lastSeen)}</td><td class="num">${d.flows}</td>
<td>${esc(d.reasons.map((r) => t.reason[r] ?? r).join('; '))}</td></tr>`;
  });
  return `<table class="dests"><tr><th>${t.severity}</th><th>${t.address} / ${t.names}</th><th>${t.country} / ${t.network}</th><th>${t.sent} ↑<br>${t.received} ↓</th><th>${t.firstSeen} /<br>${t.lastSeen} (UTC)</th><th>${t.flows}</th><th>${t.reasons}</th></tr>${rows.join('')}</table>`;
}

function lookups(m: SessionModel, lang: Lang): string {
  const t = TEXT[lang];
  if (m.lookups.length === 0) return `<p>${t.noLookups}</p>`;
  const rows = m.lookups.map(
    (l) =>
      `<tr class="lookup"><td><span class="badge high">${t.high}</span></td><td class="mono nowrap">${shortTime(l.timestamp)}</td><td class="mono">${esc(l.src_ip)}</td><td class="mono">${esc(l.dest_ip)}${l.dest_port === null ? '' : `:${l.dest_port}`}</td><td class="names">${esc(l.name)}</td><td class="mono">${esc(l.rule)}</td></tr>`,
  );
  return `<p>${esc(t.lookupsIntro)}</p><table class="lookups"><tr><th>${t.severity}</th><th>${t.time}</th><th>${t.client}</th><th>${t.resolver}</th><th>${t.names}</th><th>${t.rule}</th></tr>${rows.join('')}</table>`;
}

function network(d: Destination): string {
  return [d.asn === null ? '' : `AS${d.asn}`, d.asOrg ?? ''].filter((x) => x !== '').join(' ');
}

/** 2026-11-23T09:28:09.679649Z → 2026-11-23 09:28:09 (full precision is in flows.csv and events.ndjson). */
function shortTime(iso: string): string {
  return esc(
    iso
      .replace('T', ' ')
      .replace(/\.\d+Z$/, '')
      .replace(/Z$/, ''),
  );
}

function gaps(m: SessionModel, lang: Lang): string {
  const t = TEXT[lang];
  if (m.gaps.length === 0) return `<p>${m.packets === 0 ? t.noPackets : t.noGaps}</p>`;
  const rows = m.gaps.map(
    (g) =>
      `<tr class="gap"><td class="mono nowrap">${esc(g.start)}</td><td class="mono nowrap">${esc(g.end)}</td><td>${esc(t.gapCauses[g.cause] ?? g.cause)}</td><td class="num">${g.packets_dropped ?? t.unknown}</td></tr>`,
  );
  return `<table><tr><th>${t.start}</th><th>${t.end}</th><th>${t.gapCause}</th><th>${t.gapDropped}</th></tr>${rows.join('')}</table>`;
}

function breach(m: SessionModel, lang: Lang): string {
  const t = TEXT[lang];
  const officer = `<div class="officer">${t.officer}</div>`;
  if (m.destinations.length === 0) return `<p>${t.noBreach}</p>`;
  const flagged = m.flows.filter((f) => f.verdict !== 'allowed');
  const sent = flagged.reduce((s, f) => s + f.bytes_toserver, 0);
  const countries = [...new Set(m.destinations.map((d) => d.country).filter((c): c is string => c !== null))]
    .map((c) => countryName(c, lang))
    .join(', ');
  // Discovery: when the gateway recorded the first alert, on its own clock (the organisation became aware);
  // the packet's time beside it when they differ (a replayed capture keeps its own times).
  const d = m.discovery;
  const discovery = d?.recorded ?? m.destinations[0].firstSeen;
  const deadline = new Date(Date.parse(discovery) + 72 * 3600 * 1000).toISOString();
  const seen =
    d !== null && Math.abs(isoToMicros(d.recorded) - isoToMicros(d.packet)) > CLOCK_SLACK_US
      ? `<span class="packet-time">${unbroken(esc(t.trafficSeenAt(d.packet)))}</span>`
      : '';
  const rows: [string, string][] = [
    [
      t.fNature,
      esc(t.nature(Math.max(flagged.length, m.destinations.length), m.destinations.length, countries || t.unknown)),
    ],
    [t.fSubjects, officer],
    [t.fRecords, `${esc(t.recordsPrefill(bytes(sent)))}${officer}`],
    [t.fDpo, officer],
    [t.fConsequences, officer],
    [t.fMeasures, `${esc(t.measuresPrefill(m.meta.end ?? ''))}${officer}`],
    [t.fDiscovery, `<span class="mono">${esc(discovery)}</span>${seen}`],
    [t.fDeadline, `<span class="mono">${esc(deadline)}</span>`],
    [t.fNotified, officer],
  ];
  return `<table class="breach"><tr><th>${t.field}</th><th>${t.value}</th></tr>${rows.map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${v}</td></tr>`).join('')}</table>`;
}

function clock(c: ClockState, lang: Lang): string {
  const t = TEXT[lang];
  const s = c.synchronized === true ? t.synced : c.synchronized === false ? t.notSynced : t.unknownSync;
  return `${s} <span class="mono">(${esc(c.source)})</span>`;
}

/** China, Hong Kong, Macao: the countries the default profile treats as China-bound. */
const CHINA = new Set(['CN', 'HK', 'MO']);

const NAMES: Record<Lang, Intl.DisplayNames> = {
  nl: new Intl.DisplayNames(['nl'], { type: 'region' }),
  en: new Intl.DisplayNames(['en'], { type: 'region' }),
};

function countryName(code: string, lang: Lang): string {
  try {
    return `${NAMES[lang].of(code) ?? code} (${code})`;
  } catch {
    return code;
  }
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Full ISO times in a text kept on one line (a tablet would break them at a hyphen). */
function unbroken(html: string): string {
  return html.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, (ts) => `<span class="nowrap">${ts}</span>`);
}

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
