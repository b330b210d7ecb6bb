// When each destination was first contacted: marks on a time axis, in a
// lane per verdict (power-on, take-off and landing show up as clusters).
// Shape and lane carry the verdict as well as colour. Destinations are
// binned by pixel column, so the drawing stays small with thousands of them.

import { useMemo } from 'preact/hooks';
import { lang, localTime, severityLabel, t, utcTime } from './i18n.js';
import type { Severity } from './proto.js';
import type { Store } from './store.js';

const W = 960;
const H = 150;
const LEFT = 90;
const BINS = 200;
const LANES: Severity[] = ['high', 'medium', 'allowed'];

export function Timeline({ store, tick }: { store: Store; tick: number }) {
  // Drawn again at most once a second (tick) or when the language changes.
  const language = lang();
  return useMemo(() => draw(store), [tick, language, store.firstContact.size === 0]);
}

function draw(store: Store) {
  if (store.firstContact.size === 0)
    return (
      <section class="panel timeline" aria-labelledby="tl-h">
        <h2 id="tl-h">{t('timeline')}</h2>
        <p class="empty">{t('timelineEmpty')}</p>
      </section>
    );
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  for (const c of store.firstContact.values()) {
    min = Math.min(min, c.us);
    max = Math.max(max, c.us);
  }
  const span = Math.max(max - min, 60_000_000);
  const binOf = (us: number) => Math.min(BINS - 1, Math.floor(((us - min) / span) * BINS));
  const x = (bin: number) => LEFT + ((bin + 0.5) / BINS) * (W - LEFT - 20);
  const laneOf = (s: Severity) => Math.max(0, LANES.indexOf(s === 'unknown' ? 'allowed' : s));
  const laneY = (lane: number) => 25 + lane * 38;
  // Per lane and bin: how many destinations, and one name to show.
  const bins = new Map<number, { lane: number; bin: number; n: number; label: string; us: number }>();
  for (const c of store.firstContact.values()) {
    const lane = laneOf(c.severity);
    const bin = binOf(c.us);
    const key = lane * BINS + bin;
    const b = bins.get(key);
    if (b) b.n++;
    else bins.set(key, { lane, bin, n: 1, label: c.label, us: c.us });
  }
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => min + f * span);
  return (
    <section class="panel timeline" aria-labelledby="tl-h">
      <h2 id="tl-h">{t('timeline')}</h2>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={t('timeline')} data-testid="timeline">
        {LANES.map((s, lane) => (
          <g key={s} class={`lane lane-${s}`}>
            <line x1={LEFT} x2={W - 10} y1={laneY(lane)} y2={laneY(lane)} />
            <text x={4} y={laneY(lane) + 5}>
              {severityLabel(s)}
            </text>
          </g>
        ))}
        {ticks.map((us, i) => (
          <text
            key={us}
            class="tick"
            x={LEFT + ((us - min) / span) * (W - LEFT - 20)}
            y={H - 6}
            text-anchor={i === 0 ? 'start' : i === 4 ? 'end' : 'middle'}
          >
            {localTime(us)}
          </text>
        ))}
        {[...bins.values()].map((b) => {
          const cx = x(b.bin);
          const cy = laneY(b.lane);
          const s = LANES[b.lane];
          return (
            <g key={b.lane * BINS + b.bin} class={`mark mark-${s}`}>
              <title>{`${b.n > 1 ? `${b.n}× ` : ''}${b.label} — ${localTime(b.us)} (${utcTime(b.us)})`}</title>
              {s === 'high' ? (
                <rect x={cx - 5} y={cy - 5} width={10} height={10} />
              ) : s === 'medium' ? (
                <path d={`M${cx} ${cy - 6}L${cx + 6} ${cy + 5}H${cx - 6}z`} />
              ) : (
                <circle cx={cx} cy={cy} r={4} />
              )}
            </g>
          );
        })}
      </svg>
    </section>
  );
}
