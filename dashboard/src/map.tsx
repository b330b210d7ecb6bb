// The world map, offline: Natural Earth 1:110m countries (world-atlas,
// TopoJSON) drawn with d3-geo in an SVG; no tiles, nothing fetched from
// the internet. The map data is a chunk of its own, loaded after the page.
// The gateway is a marker (its country: ?home=XX, default NL); a great-circle
// line goes to each destination country, red for high, amber for medium,
// grey for allowed — and the countries are also listed in words below.

import { type GeoProjection, geoCentroid, geoNaturalEarth1, geoPath } from 'd3-geo';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { countryName, flag, lang, severityLabel, t } from './i18n.js';
import type { Severity } from './proto.js';
import type { Store } from './store.js';

const W = 960;
const H = 500;
const RANK: Record<Severity, number> = { high: 3, medium: 2, allowed: 1, unknown: 0 };

/** Places too small for the 1:110m map: [longitude, latitude]. */
const SMALL_PLACES: Record<string, [number, number]> = {
  HK: [114.17, 22.32],
  MO: [113.55, 22.19],
  SG: [103.82, 1.35],
  BH: [50.55, 26.07],
  MT: [14.45, 35.9],
  MU: [57.55, -20.3],
  MC: [7.42, 43.74],
  LI: [9.55, 47.16],
  AD: [1.52, 42.51],
  SM: [12.45, 43.94],
  VA: [12.45, 41.9],
  GI: [-5.35, 36.14],
  BM: [-64.75, 32.3],
  KY: [-81.25, 19.3],
  MV: [73.5, 4.17],
  IM: [-4.5, 54.23],
  JE: [-2.13, 49.21],
  GG: [-2.58, 49.45],
  XK: [20.9, 42.6],
};

interface MapData {
  /** Country outlines by ISO alpha-2 (where the map has them). */
  shapes: { code: string | null; d: string }[];
  centroid: (code: string) => [number, number] | null;
  projection: GeoProjection;
}

async function loadMap(): Promise<MapData> {
  const [{ feature }, world, codes] = await Promise.all([
    import('topojson-client'),
    import('world-atlas/countries-110m.json'),
    import('i18n-iso-countries/codes.json'),
  ]);
  const byNumeric = new Map<string, string>();
  for (const [a2, , numeric] of codes.default as string[][]) byNumeric.set(numeric, a2);
  // biome-ignore lint/suspicious/noExplicitAny: TopoJSON's JSON module has no precise type
  const topo = world.default as any;
  const fc = feature(topo, topo.objects.countries) as unknown as GeoJSON.FeatureCollection;
  const projection = geoNaturalEarth1().fitExtent(
    [
      [4, 4],
      [W - 4, H - 4],
    ],
    { type: 'Sphere' },
  );
  const path = geoPath(projection);
  const centres = new Map<string, [number, number]>();
  const shapes = fc.features.map((f) => {
    const code = f.id === undefined ? null : (byNumeric.get(String(f.id)) ?? null);
    if (code) centres.set(code, geoCentroid(f) as [number, number]);
    return { code, d: path(f) ?? '' };
  });
  return { shapes, centroid: (c) => centres.get(c) ?? SMALL_PLACES[c] ?? null, projection };
}

export function WorldMap({ store, home, tick }: { store: Store; home: string; tick: number }) {
  const [data, setData] = useState<MapData | null>(null);
  useEffect(() => {
    loadMap().then(setData, () => setData(null));
  }, []);
  // Drawn again at most once a second (tick), when the map data arrives, or when the language changes.
  const language = lang();
  return useMemo(() => draw(store, home, data), [tick, data, language, store.firstContact.size === 0]);
}

function draw(store: Store, home: string, data: MapData | null) {
  const projection = data?.projection ?? null;
  // Worst verdict per destination country.
  const byCountry = new Map<string, Severity>();
  for (const c of store.firstContact.values()) {
    if (c.country === null) continue;
    const prev = byCountry.get(c.country);
    if (prev === undefined || RANK[c.severity] > RANK[prev]) byCountry.set(c.country, c.severity);
  }
  const list = [...byCountry.entries()].sort((a, b) => RANK[b[1]] - RANK[a[1]] || a[0].localeCompare(b[0]));
  const homeAt = data?.centroid(home) ?? null;
  const path = projection ? geoPath(projection) : null;
  return (
    <section class="panel map" aria-labelledby="map-h">
      <div class="panel-head">
        <h2 id="map-h">{t('map')}</h2>
        <span class="muted small">{t('mapLegend')}</span>
      </div>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={t('map')} data-testid="map">
        {data && path && projection && (
          <>
            <path class="sphere" d={path({ type: 'Sphere' }) ?? ''} />
            {data.shapes.map((s, i) => {
              const sev = s.code ? byCountry.get(s.code) : undefined;
              return (
                <path
                  key={s.code ?? i}
                  d={s.d}
                  class={sev ? `land dest dest-${sev}` : 'land'}
                  data-country={s.code ?? undefined}
                />
              );
            })}
            {homeAt &&
              list.map(([code, sev]) => {
                const to = data.centroid(code);
                if (to === null || code === home) return null;
                const d = path({ type: 'LineString', coordinates: [homeAt, to] }) ?? '';
                const end = projection(to);
                return (
                  <g key={code} class={`route route-${sev}`} data-route={code}>
                    <path d={d} />
                    {end && <circle cx={end[0]} cy={end[1]} r={sev === 'high' ? 6 : 4.5} />}
                  </g>
                );
              })}
            {homeAt &&
              (() => {
                const p = projection(homeAt);
                return p ? (
                  <g class="home">
                    <rect x={p[0] - 6} y={p[1] - 6} width={12} height={12} />
                    <text x={p[0] + 10} y={p[1] - 8}>
                      {t('mapGateway')}
                    </text>
                  </g>
                ) : null;
              })()}
          </>
        )}
      </svg>
      <p class="map-countries" data-testid="map-countries">
        {t('mapCountries', { list: '' })}
        {list.length === 0
          ? '—'
          : list.map(([code, sev], i) => (
              <span key={code} class={`mc sev-text-${sev}`} data-country={code}>
                {i > 0 ? ', ' : ''}
                <span aria-hidden="true">{flag(code)}</span> {countryName(code)} ({code}, {severityLabel(sev)})
              </span>
            ))}
      </p>
    </section>
  );
}
