// When each destination was first contacted: one mark per destination on a
// time axis, in a lane per verdict (power-on, take-off and landing show up
// as clusters). Shape and lane carry the verdict as well as colour.

import { localTime, severityLabel, t, utcTime } from './i18n.js';
import type { Severity } from './proto.js';
import type { Store } from './store.js';

const W = 960;
const H = 150;
const LEFT = 90;
const LANES: Severity[] = ['high', 'medium', 'allowed'];

export function Timeline({ store }: { store: Store }) {
  const items = [...store.firstContact.entries()];
  if (items.length === 0)
    return (
      <section class="panel timeline" aria-labelledby="tl-h">
        <h2 id="tl-h">{t('timeline')}</h2>
        <p class="empty">{t('timelineEmpty')}</p>
      </section>
    );
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  for (const [, c] of items) {
    min = Math.min(min, c.us);
    max = Math.max(max, c.us);
  }
  const span = Math.max(max - min, 60_000_000);
  const x = (us: number) => LEFT + ((us - min) / span) * (W - LEFT - 20);
  const laneY = (s: Severity) => 25 + Math.max(0, LANES.indexOf(s === 'unknown' ? 'allowed' : s)) * 38;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => min + f * span);
  return (
    <section class="panel timeline" aria-labelledby="tl-h">
      <h2 id="tl-h">{t('timeline')}</h2>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={t('timeline')} data-testid="timeline">
        {LANES.map((s) => (
          <g key={s} class={`lane lane-${s}`}>
            <line x1={LEFT} x2={W - 10} y1={laneY(s)} y2={laneY(s)} />
            <text x={4} y={laneY(s) + 5}>
              {severityLabel(s)}
            </text>
          </g>
        ))}
        {ticks.map((us, i) => (
          <text key={us} class="tick" x={x(us)} y={H - 6} text-anchor={i === 0 ? 'start' : i === 4 ? 'end' : 'middle'}>
            {localTime(us)}
          </text>
        ))}
        {items.map(([ip, c]) => {
          const cx = x(c.us);
          const cy = laneY(c.severity);
          return (
            <g key={ip} class={`mark mark-${c.severity}`}>
              <title>{`${c.label} — ${localTime(c.us)} (${utcTime(c.us)})`}</title>
              {c.severity === 'high' ? (
                <rect x={cx - 5} y={cy - 5} width={10} height={10} />
              ) : c.severity === 'medium' ? (
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
