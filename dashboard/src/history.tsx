// Traffic history from InfluxDB (agent: GET /api/history, agent/src/history/):
// bytes per hour over the last 24 h stacked by verdict, bytes per country,
// and totals per flight session. Hidden when the agent runs without
// --influx (the endpoint answers 404). Drawn as SVG by hand like the
// timeline: a chart library would draw on a canvas (no text for screen
// readers, no hatching to tell verdicts apart without colour) and stacked
// bars need only a few lines. Verdicts carry a pattern and a label, never
// colour alone.

import { useEffect, useState } from 'preact/hooks';
import './history.css';
import { bytes, countryName, flag, lang, number, severityLabel } from './i18n.js';
import type { Store } from './store.js';

interface Series {
  key: string;
  bytes: number[];
  total: number;
}

interface HistoryData {
  times: number[];
  stepMs: number;
  byCountry: Series[];
  byVerdict: Series[];
  sessions: {
    session: string;
    name: string;
    start: string | null;
    flows: number;
    bytes: number;
    byVerdict: Record<string, number>;
  }[];
  totals: { flows: number; bytes: number };
  writer: { connected: boolean; error: string | null; counters: { dropped: number; queued: number } };
}

type State =
  | { kind: 'loading' }
  | { kind: 'absent' }
  | { kind: 'error'; code: string }
  | { kind: 'ok'; data: HistoryData };

const TEXT = {
  en: {
    title: 'Traffic history (last 24 hours)',
    loading: 'Loading history…',
    empty: 'No traffic recorded in the last 24 hours.',
    totals: '{flows} connections, {bytes} in the last 24 hours',
    perHour: 'Bytes per hour, by verdict',
    perCountry: 'Bytes per destination country',
    perFlight: 'Per flight',
    flight: 'Flight',
    noFlight: 'outside a flight',
    connections: 'Connections',
    volume: 'Bytes',
    flagged: 'Flagged (high + medium)',
    unknownCountry: 'unknown / local',
    other: 'other countries',
    unavailable: 'History is not available now: the gateway cannot reach its InfluxDB ({code}). Capture goes on.',
    dropped: '{n} history points dropped while InfluxDB was away.',
    writerDown: 'InfluxDB is not taking new points ({code}); they wait in a queue.',
  },
  nl: {
    title: 'Verkeersgeschiedenis (laatste 24 uur)',
    loading: 'Geschiedenis laden…',
    empty: 'Geen verkeer vastgelegd in de laatste 24 uur.',
    totals: '{flows} verbindingen, {bytes} in de laatste 24 uur',
    perHour: 'Bytes per uur, per oordeel',
    perCountry: 'Bytes per land van bestemming',
    perFlight: 'Per vlucht',
    flight: 'Vlucht',
    noFlight: 'buiten een vlucht',
    connections: 'Verbindingen',
    volume: 'Bytes',
    flagged: 'Gemarkeerd (hoog + middel)',
    unknownCountry: 'onbekend / lokaal',
    other: 'overige landen',
    unavailable:
      'Geschiedenis is nu niet beschikbaar: de gateway bereikt zijn InfluxDB niet ({code}). Het vastleggen gaat door.',
    dropped: '{n} geschiedenispunten weggelaten terwijl InfluxDB weg was.',
    writerDown: 'InfluxDB neemt geen nieuwe punten aan ({code}); ze wachten in een wachtrij.',
  },
} as const;

function h(key: keyof (typeof TEXT)['en'], params: Record<string, string | number> = {}): string {
  return TEXT[lang()][key].replace(/\{(\w+)\}/g, (m, p: string) => (p in params ? String(params[p]) : m));
}

const REFRESH_MS = 60_000;
const VERDICTS = ['high', 'medium', 'allowed'] as const;

export function HistoryPanel({ store }: { store: Store }) {
  const [state, setState] = useState<State>({ kind: 'loading' });
  useEffect(() => {
    let stopped = false;
    const load = async () => {
      try {
        const r = await fetch('/api/history', { credentials: 'same-origin', cache: 'no-store' });
        if (stopped) return;
        if (r.status === 404) setState({ kind: 'absent' });
        else if (!r.ok)
          setState({ kind: 'error', code: ((await r.json()) as { code?: string }).code ?? `HTTP ${r.status}` });
        else setState({ kind: 'ok', data: (await r.json()) as HistoryData });
      } catch {
        if (!stopped) setState({ kind: 'error', code: 'network' });
      }
    };
    void load();
    const id = setInterval(load, REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(id);
    };
  }, []);
  if (state.kind === 'absent') return null;
  return (
    <section class="panel history" aria-labelledby="hist-h" data-testid="history">
      <h2 id="hist-h">{h('title')}</h2>
      {state.kind === 'loading' && <p class="empty">{h('loading')}</p>}
      {state.kind === 'error' && (
        <p class="warn" role="status" data-testid="history-error">
          <span aria-hidden="true">⚠ </span>
          {h('unavailable', { code: state.code })}
        </p>
      )}
      {state.kind === 'ok' && <Body data={state.data} store={store} />}
    </section>
  );
}

function Body({ data, store }: { data: HistoryData; store: Store }) {
  const w = data.writer;
  return (
    <>
      <p class="totals" data-testid="history-totals" data-flows={data.totals.flows} data-bytes={data.totals.bytes}>
        {h('totals', { flows: number(data.totals.flows), bytes: bytes(data.totals.bytes) })}
      </p>
      {!w.connected && w.error && (
        <p class="warn" role="status">
          <span aria-hidden="true">⚠ </span>
          {h('writerDown', { code: w.error })}
        </p>
      )}
      {w.counters.dropped > 0 && <p class="muted">{h('dropped', { n: number(w.counters.dropped) })}</p>}
      {data.totals.flows === 0 ? (
        <p class="empty">{h('empty')}</p>
      ) : (
        <div class="history-grid">
          <HourChart data={data} />
          <CountryBars series={data.byCountry} />
          <FlightTable data={data} store={store} />
        </div>
      )}
    </>
  );
}

const W = 640;
const H = 200;
const LEFT = 70;
const BOTTOM = 24;

function HourChart({ data }: { data: HistoryData }) {
  const n = data.times.length;
  const per = (v: string) => data.byVerdict.find((s) => s.key === v)?.bytes ?? new Array(n).fill(0);
  const stacks = data.times.map((_, i) => VERDICTS.map((v) => per(v)[i]));
  const max = Math.max(1, ...stacks.map((s) => s.reduce((a, b) => a + b, 0)));
  const bw = (W - LEFT - 10) / Math.max(n, 1);
  const y = (b: number) => ((H - BOTTOM - 10) * b) / max;
  const hour = (ms: number) =>
    new Date(ms).toLocaleTimeString(lang() === 'nl' ? 'nl-NL' : 'en-GB', { hour: '2-digit', minute: '2-digit' });
  const labelEvery = Math.max(1, Math.ceil(n / 6));
  return (
    <figure class="hist-chart">
      <figcaption>{h('perHour')}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={h('perHour')} data-testid="history-hours">
        <defs>
          <pattern id="hatch-high" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
            <rect width="6" height="6" class="fill-high" />
            <line x1="0" y1="0" x2="0" y2="6" class="hatch" />
          </pattern>
          <pattern id="dots-medium" width="6" height="6" patternUnits="userSpaceOnUse">
            <rect width="6" height="6" class="fill-medium" />
            <circle cx="3" cy="3" r="1.3" class="dot" />
          </pattern>
        </defs>
        <line class="axis" x1={LEFT} x2={W - 5} y1={H - BOTTOM} y2={H - BOTTOM} />
        <text class="tick" x={LEFT - 6} y={14} text-anchor="end">
          {bytes(max)}
        </text>
        <text class="tick" x={LEFT - 6} y={H - BOTTOM} text-anchor="end">
          0
        </text>
        {stacks.map((s, i) => {
          let top = H - BOTTOM;
          return (
            <g key={data.times[i]}>
              <title>{`${hour(data.times[i])}: ${VERDICTS.map((v, j) => `${severityLabel(v)} ${bytes(s[j])}`).join(', ')}`}</title>
              {VERDICTS.map((v, j) => {
                const hgt = y(s[j]);
                top -= hgt;
                return hgt > 0 ? (
                  <rect
                    key={v}
                    class={`bar bar-${v}`}
                    x={LEFT + i * bw + 1}
                    y={top}
                    width={Math.max(1, bw - 2)}
                    height={hgt}
                  />
                ) : null;
              })}
              {i % labelEvery === 0 && (
                <text class="tick" x={LEFT + i * bw + bw / 2} y={H - 6} text-anchor="middle">
                  {hour(data.times[i])}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <ul class="legend">
        {VERDICTS.map((v) => (
          <li key={v} data-testid={`history-verdict-${v}`}>
            <svg viewBox="0 0 14 14" aria-hidden="true" class="swatch">
              <rect class={`bar bar-${v}`} width="14" height="14" />
            </svg>
            {severityLabel(v)}: {bytes(data.byVerdict.find((s) => s.key === v)?.total ?? 0)}
          </li>
        ))}
      </ul>
    </figure>
  );
}

function CountryBars({ series }: { series: Series[] }) {
  const max = Math.max(1, ...series.map((s) => s.total));
  return (
    <figure class="hist-countries">
      <figcaption>{h('perCountry')}</figcaption>
      <ul class="country-bars" data-testid="history-countries">
        {series.map((s) => {
          const known = /^[A-Z]{2}$/.test(s.key);
          const label = known
            ? `${flag(s.key)} ${countryName(s.key)} (${s.key})`
            : s.key === 'other'
              ? h('other')
              : h('unknownCountry');
          return (
            <li key={s.key} data-country={s.key} data-bytes={s.total}>
              <span class="label">{label}</span>
              <span class="meter" aria-hidden="true">
                <span
                  class="fill"
                  data-pct={Math.round((100 * s.total) / max)}
                  ref={(el) => el?.style.setProperty('width', `${(100 * s.total) / max}%`)}
                />
              </span>
              <span class="value">{bytes(s.total)}</span>
            </li>
          );
        })}
      </ul>
    </figure>
  );
}

function FlightTable({ data, store }: { data: HistoryData; store: Store }) {
  return (
    <figure class="hist-flights">
      <figcaption>{h('perFlight')}</figcaption>
      <table data-testid="history-flights">
        <thead>
          <tr>
            <th scope="col">{h('flight')}</th>
            <th scope="col">{h('connections')}</th>
            <th scope="col">{h('volume')}</th>
            <th scope="col">{h('flagged')}</th>
          </tr>
        </thead>
        <tbody>
          {[...data.sessions].sort(byStart).map((s) => {
            const flagged = (s.byVerdict.high ?? 0) + (s.byVerdict.medium ?? 0);
            const name = s.session === '' ? h('noFlight') : s.name || store.sessions.get(s.session)?.name || s.session;
            const start = s.start === null ? '' : ` — ${dayTime(Date.parse(s.start))}`;
            return (
              <tr key={s.session} data-session={s.session}>
                <th scope="row" title={s.session}>
                  {name}
                  <span class="muted">{start}</span>
                </th>
                <td>{number(s.flows)}</td>
                <td>{bytes(s.bytes)}</td>
                <td>
                  {flagged > 0 && <span aria-hidden="true">⚠ </span>}
                  {bytes(flagged)}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </figure>
  );
}

/** Newest flight first; traffic outside a flight last. */
function byStart(a: HistoryData['sessions'][number], b: HistoryData['sessions'][number]): number {
  return (b.start ?? '').localeCompare(a.start ?? '');
}

function dayTime(ms: number): string {
  return new Date(ms).toLocaleString(lang() === 'nl' ? 'nl-NL' : 'en-GB', {
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
  });
}
