// All connections: filter (verdict, country, name or address), sort by any
// column, and a virtualised body — only the rows in view are in the DOM
// (fixed row height), so 100,000 rows scroll smoothly. Filtering and
// sorting run again at most once a second while flows keep arriving.

import { useMemo, useRef, useState } from 'preact/hooks';
import { bytes, countryName, localTime, number, severityLabel, t, utcTime } from './i18n.js';
import { SeverityIcon } from './icons.js';
import type { Severity } from './proto.js';
import { type Connection, MAX_FLOWS, type Store } from './store.js';

const ROW = 34;
const VIEW_ROWS = 14;
const OVERSCAN = 6;

type Col = 'verdict' | 'dest' | 'country' | 'net' | 'port' | 'out' | 'in' | 'first' | 'last';
const RANK: Record<Severity, number> = { high: 3, medium: 2, allowed: 1, unknown: 0 };

const COLS: { col: Col; key: Parameters<typeof t>[0]; num?: boolean }[] = [
  { col: 'verdict', key: 'colVerdict' },
  { col: 'dest', key: 'colDestination' },
  { col: 'country', key: 'colCountry' },
  { col: 'net', key: 'colNetwork' },
  { col: 'port', key: 'colPort', num: true },
  { col: 'out', key: 'colOut', num: true },
  { col: 'in', key: 'colIn', num: true },
  { col: 'first', key: 'colFirst' },
  { col: 'last', key: 'colLast' },
];

function label(c: Connection): string {
  return c.dest.names[0] ?? c.destIp;
}

function compare(col: Col): (a: Connection, b: Connection) => number {
  switch (col) {
    case 'verdict':
      return (a, b) => RANK[a.verdict] - RANK[b.verdict];
    case 'dest':
      return (a, b) => label(a).localeCompare(label(b));
    case 'country':
      return (a, b) => (a.dest.country ?? '').localeCompare(b.dest.country ?? '');
    case 'net':
      return (a, b) => (a.dest.asOrg ?? '').localeCompare(b.dest.asOrg ?? '');
    case 'port':
      return (a, b) => (a.destPort ?? -1) - (b.destPort ?? -1);
    case 'out':
      return (a, b) => a.bytesOut - b.bytesOut;
    case 'in':
      return (a, b) => a.bytesIn - b.bytesIn;
    case 'first':
      return (a, b) => a.startUs - b.startUs;
    default:
      return (a, b) => a.endUs - b.endUs;
  }
}

export function Connections({ store, now }: { store: Store; now: number }) {
  const [verdict, setVerdict] = useState<'all' | Severity>('all');
  const [country, setCountry] = useState('all');
  const [search, setSearch] = useState('');
  const [sort, setSort] = useState<{ col: Col; desc: boolean }>({ col: 'last', desc: true });
  const [top, setTop] = useState(0);
  // Flows arriving re-filter at most once a second; a change of filter or sort at once.
  const tick = Math.floor(now / 1000);
  const seen = useRef({ version: -1, tick: -1 });
  if (store.flowsVersion !== seen.current.version && (tick !== seen.current.tick || seen.current.version < 0))
    seen.current = { version: store.flowsVersion, tick };
  const rows = useMemo(() => {
    const q = search.trim().toLowerCase();
    const out = store.flows.filter(
      (c) =>
        (verdict === 'all' || c.verdict === verdict) &&
        (country === 'all' || c.dest.country === country) &&
        (q === '' || c.destIp.includes(q) || c.dest.names.some((n) => n.includes(q))),
    );
    const cmp = compare(sort.col);
    out.sort(sort.desc ? (a, b) => cmp(b, a) : cmp);
    return out;
  }, [verdict, country, search, sort, seen.current.version]);
  const countries = useMemo(() => {
    const s = new Set<string>();
    for (const c of store.flows) if (c.dest.country) s.add(c.dest.country);
    return [...s].sort();
  }, [seen.current.version]);
  const body = useRef<HTMLDivElement>(null);
  const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((top + VIEW_ROWS * ROW) / ROW) + OVERSCAN);
  const setSortCol = (col: Col) => setSort((s) => ({ col, desc: s.col === col ? !s.desc : col !== 'dest' }));
  return (
    <section class="panel connections" aria-labelledby="conn-h">
      <div class="panel-head">
        <h2 id="conn-h">{t('connections')}</h2>
        <span class="muted" data-testid="rows-shown">
          {t('rowsShown', { shown: number(rows.length), total: number(store.flows.length) })}{' '}
          {store.flowsDropped > 0 && t('rowsDropped', { n: number(store.flowsDropped), max: number(MAX_FLOWS) })}
        </span>
      </div>
      <div class="filters">
        <label>
          {t('filterVerdict')}{' '}
          <select
            value={verdict}
            data-testid="filter-verdict"
            onChange={(e) => setVerdict((e.target as HTMLSelectElement).value as 'all' | Severity)}
          >
            <option value="all">{t('all')}</option>
            <option value="high">{severityLabel('high')}</option>
            <option value="medium">{severityLabel('medium')}</option>
            <option value="allowed">{severityLabel('allowed')}</option>
          </select>
        </label>
        <label>
          {t('filterCountry')}{' '}
          <select
            value={country}
            data-testid="filter-country"
            onChange={(e) => setCountry((e.target as HTMLSelectElement).value)}
          >
            <option value="all">{t('all')}</option>
            {countries.map((c) => (
              <option key={c} value={c}>
                {c} — {countryName(c)}
              </option>
            ))}
          </select>
        </label>
        <label class="grow">
          {t('filterSearch')}{' '}
          <input
            type="search"
            value={search}
            data-testid="filter-search"
            onInput={(e) => setSearch((e.target as HTMLInputElement).value)}
          />
        </label>
      </div>
      <div
        class="table-scroll"
        ref={body}
        onScroll={(e) => setTop((e.target as HTMLDivElement).scrollTop)}
        data-testid="table-scroll"
      >
        <table aria-rowcount={rows.length + 1}>
          <thead>
            <tr>
              {COLS.map(({ col, key, num }) => (
                <th
                  key={col}
                  class={num ? 'num' : undefined}
                  aria-sort={sort.col === col ? (sort.desc ? 'descending' : 'ascending') : 'none'}
                >
                  <button type="button" onClick={() => setSortCol(col)} data-testid={`sort-${col}`}>
                    {t(key)}
                    <span aria-hidden="true">{sort.col === col ? (sort.desc ? ' ▼' : ' ▲') : ''}</span>
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            <tr class="spacer" style={{ height: `${first * ROW}px` }} />
            {rows.slice(first, last).map((c, i) => (
              <tr
                key={`${c.flowId}-${c.startUs}-${c.destIp}`}
                class={`row-${c.verdict}`}
                aria-rowindex={first + i + 2}
                data-testid="conn-row"
              >
                <td>
                  <span class={`sev sev-${c.verdict}`}>
                    <SeverityIcon s={c.verdict} /> {severityLabel(c.verdict)}
                  </span>
                </td>
                <td class="dest" title={c.dest.names.join(', ')}>
                  {label(c)}
                  {c.dest.names.length > 0 && <span class="muted"> {c.destIp}</span>}
                </td>
                <td title={countryName(c.dest.country)}>{c.dest.country ?? '?'}</td>
                <td class="net">{c.dest.asOrg ?? (c.dest.asn !== null ? `AS${c.dest.asn}` : '?')}</td>
                <td class="num">{c.destPort ?? ''}</td>
                <td class="num">{bytes(c.bytesOut)}</td>
                <td class="num">{bytes(c.bytesIn)}</td>
                <td>
                  <time title={utcTime(c.startUs)}>{localTime(c.startUs)}</time>
                </td>
                <td>
                  <time title={utcTime(c.endUs)}>{localTime(c.endUs)}</time>
                </td>
              </tr>
            ))}
            <tr class="spacer" style={{ height: `${(rows.length - last) * ROW}px` }} />
          </tbody>
        </table>
      </div>
    </section>
  );
}
