// Traffic history against a real influxd (Debian's influxdb 1.6, started
// here on 127.0.0.1 with temporary directories): a capture replayed with
// `egress replay --influx` is queried back and its flow counts and byte sums
// compared with what `egress scan` reports for the same capture and policy.
// Also: the schema the agent sets up (retention policies, the 1-minute
// continuous query, whose SELECT is run here over the replayed points), and
// what happens on a bad URL, a wrong password and an InfluxDB that is not
// there (a clear code in the log, capture goes on, same replay result).

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flowTotalsSelect } from '../../agent/src/history/schema.js';
import { egress, events, ROOT } from '../support/cli.js';
import { Influxd } from '../support/influxd.js';
import { freePort } from '../support/mosquitto.js';

const CAPTURE = `${ROOT}test/fixtures/mixed/many-flows/input.pcap`;
const dir = mkdtempSync(join(tmpdir(), 'egress-influx-'));
const policy = join(dir, 'policy.yaml');
const influxd = new Influxd();
const ADMIN = { user: 'admin', password: 'admin-secret' };
const secured = new Influxd({ admin: ADMIN });

// Four documentation ranges standing in for four countries; China denied.
writeFileSync(
  policy,
  `deny:
  countries: [CN]
geo_overrides:
  - { cidr: 203.0.113.0/24, country: CN, asn: 64500, as_org: "Test CN", as_country: CN }
  - { cidr: 198.51.100.0/24, country: NL, asn: 64501, as_org: "Test NL", as_country: NL }
  - { cidr: 192.0.2.0/24, country: DE, asn: 64502, as_org: "Test DE", as_country: DE }
  - { cidr: "2001:db8::/32", country: US, asn: 64503, as_org: "Test US", as_country: US }
`,
);

async function replay(url: string, gateway: string, extra: string[] = [], env: Record<string, string> = {}) {
  const data = mkdtempSync(join(dir, 'data-'));
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return egress([
      'replay',
      CAPTURE,
      '--speed',
      'max',
      '--policy',
      policy,
      '--influx',
      url,
      '--gateway',
      gateway,
      '--data-dir',
      data,
      '--no-http',
      '--mqtt-port',
      String(await freePort()),
      '--linger',
      '2',
      '--quiet',
      ...extra,
    ]);
  } finally {
    process.env = saved;
  }
}

/** Flow totals from scan NDJSON, grouped by a key. */
function scanTotals(by: (f: Record<string, any>) => string) {
  const out: Record<string, { flows: number; up: number; down: number; pktsUp: number; pktsDown: number }> = {};
  for (const f of scanned.filter((e) => e.event_type === 'flow')) {
    const k = by(f);
    out[k] ??= { flows: 0, up: 0, down: 0, pktsUp: 0, pktsDown: 0 };
    out[k].flows++;
    out[k].up += f.bytes_toserver;
    out[k].down += f.bytes_toclient;
    out[k].pktsUp += f.pkts_toserver;
    out[k].pktsDown += f.pkts_toclient;
  }
  return out;
}

/** The same totals from InfluxDB. */
async function influxTotals(server: Influxd, db: string, gateway: string, tag: string) {
  const series = await server.query(
    db,
    'SELECT count("bytes_to_server") AS flows, sum("bytes_to_server") AS up, sum("bytes_to_client") AS down, ' +
      'sum("pkts_to_server") AS "pktsUp", sum("pkts_to_client") AS "pktsDown" ' +
      `FROM "egress_raw"."flow" WHERE "gateway" = '${gateway}' GROUP BY "${tag}"`,
  );
  const out: Record<string, Record<string, number>> = {};
  for (const s of series) {
    const row = Object.fromEntries(s.columns.map((c, i) => [c, s.values[0][i]])) as Record<string, number>;
    delete row.time;
    out[s.tags?.[tag] || 'none'] = row;
  }
  return out;
}

let scanned: Record<string, any>[] = [];

beforeAll(async () => {
  await Promise.all([influxd.start(), secured.start()]);
  const r = egress(['scan', CAPTURE, '--policy', policy]);
  expect(r.code).toBe(0);
  scanned = events(r.stdout);
}, 60_000);

afterAll(async () => {
  await Promise.all([influxd.destroy(), secured.destroy()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('egress replay --influx', () => {
  it('writes every flow: counts and byte sums per country and per verdict match egress scan', async () => {
    const r = await replay(influxd.url('egress'), 'gw-a', ['--influx-retention', 'INF']);
    expect(r.stderr).not.toMatch(/EGRESS_HISTORY/);
    expect(r.code).toBe(0);
    const flows = scanned.filter((e) => e.event_type === 'flow');
    expect(flows.length).toBeGreaterThan(20);
    const byCountry = scanTotals((f) => f.dest.country ?? 'none');
    expect(Object.keys(byCountry).sort()).toEqual(['CN', 'DE', 'NL', 'US']);
    expect(await influxTotals(influxd, 'egress', 'gw-a', 'country')).toEqual(byCountry);
    const byVerdict = scanTotals((f) => f.verdict);
    expect(Object.keys(byVerdict).length).toBeGreaterThan(1);
    expect(await influxTotals(influxd, 'egress', 'gw-a', 'verdict')).toEqual(byVerdict);
    const alerts = await influxd.query(
      'egress',
      `SELECT count("count") FROM "egress_raw"."alert" WHERE "gateway" = 'gw-a'`,
    );
    expect(alerts[0]?.values[0][1]).toBe(scanned.filter((e) => e.event_type === 'alert').length);
    // Every point handed to the writer was written.
    expect(r.stderr).toMatch(/history: (\d+) points, \1 written, 0 dropped, 0 rejected/);
  }, 60_000);

  it('creates the retention policies and the 1-minute continuous query, whose SELECT sums the flows', async () => {
    const rps = await influxd.query('egress', 'SHOW RETENTION POLICIES');
    const names = rps[0].values.map((v) => v[0]);
    expect(names).toEqual(expect.arrayContaining(['egress_raw', 'egress_1m']));
    const raw = rps[0].values.find((v) => v[0] === 'egress_raw');
    expect(raw?.[4]).toBe(true); // the default
    const cqs = await influxd.query('egress', 'SHOW CONTINUOUS QUERIES');
    const cq = cqs.find((s) => s.name === 'egress')?.values.find((v) => v[0] === 'egress_flow_1m');
    expect(cq?.[1]).toContain('egress_1m');
    // Run what the continuous query runs each minute, over the replayed capture's time.
    const flows = scanned.filter((e) => e.event_type === 'flow');
    const from = flows.map((f) => f.end).sort()[0];
    await influxd.query('egress', flowTotalsSelect('egress', true, `time >= '${from}' - 1m AND time < now()`));
    const totals = await influxd.query(
      'egress',
      `SELECT sum("flows"), sum("bytes_to_server") + 0, sum("bytes_to_client") FROM "egress_1m"."flow_1m" WHERE "gateway" = 'gw-a'`,
    );
    const sum = (k: string) => flows.reduce((n, f) => n + f[k], 0);
    expect(totals[0].values[0].slice(1)).toEqual([flows.length, sum('bytes_toserver'), sum('bytes_toclient')]);
  }, 30_000);

  it('the Grafana dashboard (scripts/grafana-egress.json): every query runs on influxd and adds up to egress scan', async () => {
    const dash = JSON.parse(readFileSync(`${ROOT}scripts/grafana-egress.json`, 'utf8'));
    const flows = scanned.filter((e) => e.event_type === 'flow');
    const from = flows.map((f) => f.start).sort()[0];
    // What Grafana puts in place of its macros and the gateway variable.
    const expand = (q: string) =>
      q
        .replaceAll('$timeFilter', `time >= '${from}' - 1m AND time <= now()`)
        .replaceAll('$__interval', '1h')
        .replaceAll('$gateway', 'gw-a');
    const gateways = await influxd.query('egress', expand(dash.templating.list[0].query));
    expect(gateways[0].values.map((v) => v[1])).toContain('gw-a');
    /** Sum of one column over every series and row of a panel's query. */
    const total = async (title: string, column: string, by?: string) => {
      const panel = dash.panels.find((p: { title: string }) => p.title === title);
      const series = await influxd.query('egress', expand(panel.targets[0].query));
      expect(series.length, title).toBeGreaterThan(0);
      const out: Record<string, number> = {};
      for (const s of series) {
        const i = s.columns.indexOf(column);
        const k = by ? (s.tags?.[by] ?? '') : 'all';
        out[k] = (out[k] ?? 0) + s.values.reduce((n, v) => n + Number(v[i] ?? 0), 0);
      }
      return out;
    };
    const bytes = flows.reduce((n, f) => n + f.bytes_toserver + f.bytes_toclient, 0);
    const byVerdict: Record<string, number> = {};
    for (const f of flows) byVerdict[f.verdict] = (byVerdict[f.verdict] ?? 0) + f.bytes_toserver + f.bytes_toclient;
    expect(await total('Bytes per destination country', 'bytes')).toEqual({ all: bytes });
    expect(await total('Bytes per verdict', 'bytes', 'verdict')).toEqual(byVerdict);
    expect(await total('Alerts per severity', 'alerts')).toEqual({
      all: scanned.filter((e) => e.event_type === 'alert').length,
    });
    expect((await total('Capture: packets per second and kernel drops', 'kernel drops')).all).toBe(0);
    expect(await total('Per flight session', 'connections')).toEqual({ all: flows.length });
    expect(await total('Destinations by name', 'bytes')).toEqual({ all: bytes });
    // Filled by the continuous query's SELECT in the test above.
    expect(await total('Bytes per country, 1-minute totals (kept forever)', 'bytes')).toEqual({ all: bytes });
    expect(dash.panels).toHaveLength(7);
  }, 30_000);

  it('writes with user and password, and leaves a retention policy a team set up alone', async () => {
    const env = { EGRESS_INFLUX_USER: ADMIN.user, EGRESS_INFLUX_PASSWORD: ADMIN.password };
    await secured.query('kept', 'CREATE DATABASE "kept"');
    await secured.query('kept', 'CREATE RETENTION POLICY "egress_raw" ON "kept" DURATION 90d REPLICATION 1');
    const kept = await replay(secured.url('kept'), 'gw-b', [], env);
    expect(kept.stderr).not.toMatch(/EGRESS_HISTORY/);
    const keptRps = await secured.query('kept', 'SHOW RETENTION POLICIES');
    expect(keptRps[0].values.find((v) => v[0] === 'egress_raw')?.[1]).toBe('2160h0m0s');
    const r = await replay(secured.url('fleet'), 'gw-b', [], env);
    expect(r.stderr).not.toMatch(/EGRESS_HISTORY/);
    const flows = await secured.query('fleet', `SELECT count("bytes_to_server") FROM "egress_raw"."flow"`);
    expect(flows[0].values[0][1]).toBe(scanned.filter((e) => e.event_type === 'flow').length);
    const rps = await secured.query('fleet', 'SHOW RETENTION POLICIES');
    expect(rps[0].values.find((v) => v[0] === 'egress_raw')?.[1]).toBe('720h0m0s'); // the default 30d
  }, 60_000);

  it('a wrong password: EGRESS_HISTORY_AUTH in the log, the replay itself unchanged', async () => {
    const env = { EGRESS_INFLUX_USER: ADMIN.user, EGRESS_INFLUX_PASSWORD: 'wrong' };
    const r = await replay(secured.url('other'), 'gw-c', [], env);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /EGRESS_HISTORY_AUTH: InfluxDB at http:\/\/127\.0\.0\.1:\d+\/other refused the credentials/,
    );
    expect(r.stdout).toMatch(/^replayed 229 packets; flows: 27 to the internet/m);
    expect(r.stderr).toMatch(/history: (\d+) points, 0 written, \1 dropped/);
  }, 60_000);

  it('no InfluxDB at that address: EGRESS_HISTORY_UNAVAILABLE in the log, the replay itself unchanged', async () => {
    const r = await replay(`http://127.0.0.1:${await freePort()}/egress`, 'gw-d');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/EGRESS_HISTORY_UNAVAILABLE: InfluxDB at http:\/\/127\.0\.0\.1:\d+\/egress: ECONNREFUSED/);
    expect(r.stdout).toMatch(/^replayed 229 packets; flows: 27 to the internet/m);
  }, 60_000);

  it.each([
    ['ftp://127.0.0.1:8086/egress', 'scheme'],
    ['http://127.0.0.1:8086/', 'database'],
    ['http://admin:pw@127.0.0.1:8086/egress', 'EGRESS_INFLUX_USER'],
    ['not a url', 'not a URL'],
  ])('--influx %s: EGRESS_HISTORY_URL_INVALID, exit 2, nothing started', async (url, why) => {
    const r = await replay(url, 'gw-e');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('EGRESS_HISTORY_URL_INVALID');
    expect(r.stderr).toContain(why);
    expect(r.stdout).toBe('');
  });
});
