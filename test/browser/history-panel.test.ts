// The dashboard's traffic history panel in real Chromium with real data from
// a real influxd (issue 16, "Done when"): the demo flight, its timestamps
// moved to 20, 9 and 2 hours ago, is replayed three times as three flights
// with `egress replay --influx`; the dashboard of an agent on the same
// InfluxDB shows the last 24 hours. Its totals, bytes per country and per
// verdict and its per-flight rows must equal what `egress scan` reports for
// the same three captures. Screenshots of the panel (tablet, daylight,
// English and Dutch) go to artifacts/browser/ for people to look at.
// With influxd stopped the panel names the problem. An agent without
// --influx answers 404 on /api/history and shows no panel.

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  artifactsDir,
  DEMO_CAPTURE,
  DEMO_POLICY,
  ensureDashboardBuilt,
  freePort,
  launchChromium,
} from '../support/browser.js';
import { egress, events, spawnEgress } from '../support/cli.js';
import { Influxd } from '../support/influxd.js';

const dir = mkdtempSync(join(tmpdir(), 'egress-history-browser-'));
const influxd = new Influxd();
const HOURS_AGO = [20, 9, 2];
const agents: ChildProcess[] = [];
let browser: Browser;

/**
 * The demo capture with every timestamp moved so that its last packet is half past the hour
 * `hoursAgo` hours before now: each flight (110 s) inside one hour of the page's hourly bars,
 * whatever the time of day the test runs (ending `hoursAgo` hours before now to the second,
 * a run a minute after the hour put a flight in two bars).
 */
function shifted(hoursAgo: number): string {
  const b = Buffer.from(readFileSync(DEMO_CAPTURE));
  expect(b.readUInt32LE(0)).toBe(0xa1b2c3d4); // classic little-endian microsecond pcap
  let first = -1;
  let last = 0;
  for (let o = 24; o + 16 <= b.length; o += 16 + b.readUInt32LE(o + 8)) {
    last = b.readUInt32LE(o);
    if (first < 0) first = last;
  }
  expect(last - first).toBeLessThan(1800);
  const end = Math.floor((Date.now() / 1000 - hoursAgo * 3600) / 3600) * 3600 + 1800;
  const delta = end - last;
  for (let o = 24; o + 16 <= b.length; o += 16 + b.readUInt32LE(o + 8)) b.writeUInt32LE(b.readUInt32LE(o) + delta, o);
  const file = join(dir, `flight-${hoursAgo}h.pcap`);
  writeFileSync(file, b);
  return file;
}

/** Two ARP frames a second apart: replayed at 1/10,000 speed, an agent that stays up and adds no flow. */
function idleCapture(): string {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(1, 20); // Ethernet
  const arp = Buffer.from(
    'ffffffffffff02000000000108060001080006040001020000000001c0000201000000000000c0000202',
    'hex',
  );
  const rec = (sec: number) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(sec, 0);
    r.writeUInt32LE(arp.length, 8);
    r.writeUInt32LE(arp.length, 12);
    return Buffer.concat([r, arp]);
  };
  const file = join(dir, 'idle.pcap');
  writeFileSync(file, Buffer.concat([head, rec(1_700_000_000), rec(1_700_000_001)]));
  return file;
}

/** An idle agent with the dashboard on a free port; resolves to its origin and token. */
async function dashboardAgent(extra: string[]): Promise<{ origin: string; token: string }> {
  const port = await freePort();
  const proc = spawnEgress(
    [
      'replay',
      idleCapture(),
      '--speed',
      '0.0001',
      '--policy',
      DEMO_POLICY,
      '--gateway',
      'demo',
      '--data-dir',
      join(dir, 'data'),
      '--mqtt-port',
      '0',
      '--http',
      `127.0.0.1:${port}`,
      '--quiet',
      ...extra,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  agents.push(proc);
  let log = '';
  proc.stderr?.on('data', (c: Buffer) => {
    log += c.toString();
  });
  const end = Date.now() + 20_000;
  while (!/dashboard: (http:\/\/\S+)/.test(log) && Date.now() < end && proc.exitCode === null)
    await new Promise((r) => setTimeout(r, 50));
  const m = /dashboard: (http:\/\/\S+)/.exec(log);
  if (m === null) throw new Error(`the agent did not start:\n${log}`);
  const u = new URL(m[1]);
  return { origin: u.origin, token: u.searchParams.get('token') ?? '' };
}

async function stopAgents(): Promise<void> {
  for (const p of agents.splice(0)) {
    if (p.exitCode !== null || p.signalCode !== null) continue;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await gone;
  }
}

/** What `egress scan` says about the three flights together. */
const expected = { flows: 0, bytes: 0, country: {} as Record<string, number>, verdict: {} as Record<string, number> };

beforeAll(async () => {
  ensureDashboardBuilt();
  await influxd.start();
  for (const [i, h] of HOURS_AGO.entries()) {
    const file = shifted(h);
    const r = egress([
      'replay',
      file,
      '--speed',
      'max',
      '--policy',
      DEMO_POLICY,
      '--gateway',
      'demo',
      '--session',
      `Flight ${i + 1}`,
      '--influx',
      influxd.url('egress'),
      '--data-dir',
      join(dir, 'data'),
      '--no-http',
      '--mqtt-port',
      '0',
      '--linger',
      '1',
      '--quiet',
    ]);
    expect(r.stderr).not.toMatch(/EGRESS_HISTORY/);
    const scan = egress(['scan', file, '--policy', DEMO_POLICY]);
    for (const f of events(scan.stdout).filter((e) => e.event_type === 'flow')) {
      const b = f.bytes_toserver + f.bytes_toclient;
      expected.flows++;
      expected.bytes += b;
      expected.country[f.dest.country ?? '??'] = (expected.country[f.dest.country ?? '??'] ?? 0) + b;
      expected.verdict[f.verdict] = (expected.verdict[f.verdict] ?? 0) + b;
    }
  }
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stopAgents();
  await influxd.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('history panel in Chromium', () => {
  it('shows the three flights from InfluxDB; its figures equal egress scan; screenshots in English and Dutch', async () => {
    const agent = await dashboardAgent(['--influx', influxd.url('egress')]);
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-GB' });
    const page = await context.newPage();
    await page.goto(`${agent.origin}/?token=${agent.token}`);
    const totals = page.getByTestId('history-totals');
    await totals.waitFor({ timeout: 20_000 });
    expect(Number(await totals.getAttribute('data-flows'))).toBe(expected.flows);
    expect(Number(await totals.getAttribute('data-bytes'))).toBe(expected.bytes);
    expect(expected.flows).toBe(75);
    expect(await totals.textContent()).toContain('75 connections');

    const countries: Record<string, number> = {};
    for (const li of await page.getByTestId('history-countries').locator('li').all())
      countries[(await li.getAttribute('data-country')) ?? ''] = Number(await li.getAttribute('data-bytes'));
    expect(countries).toEqual(expected.country);
    expect(Object.keys(countries).length).toBeGreaterThan(2);

    // Each verdict is named with its bytes (not colour alone).
    for (const v of ['high', 'medium', 'allowed'] as const) {
      const label = { high: 'HIGH', medium: 'MEDIUM', allowed: 'allowed' }[v];
      await expect(page.getByTestId(`history-verdict-${v}`).textContent()).resolves.toMatch(new RegExp(`^${label}: `));
    }
    // Bars in three hours of the last 24 (the three flights).
    const bars = page.getByTestId('history-hours').locator('g:has(rect.bar)');
    expect(await bars.count()).toBe(3);

    // Three flights of 25 connections each, with the flagged bytes.
    const rows = page.getByTestId('history-flights').locator('tbody tr');
    expect(await rows.count()).toBe(3);
    for (const row of await rows.all()) expect(await row.locator('td').first().textContent()).toBe('25');
    expect(await rows.locator('th').allTextContents()).toEqual([
      expect.stringMatching(/^Flight 3 — /),
      expect.stringMatching(/^Flight 2 — /),
      expect.stringMatching(/^Flight 1 — /),
    ]);

    const shots = artifactsDir();
    const panel = page.getByTestId('history');
    await panel.scrollIntoViewIfNeeded();
    await panel.screenshot({ path: join(shots, 'history-tablet-1280x800-en.png') });
    await page.getByTestId('lang-nl').click();
    await expect(totals.textContent()).resolves.toContain('75 verbindingen');
    await page.setViewportSize({ width: 800, height: 1280 });
    await panel.screenshot({ path: join(shots, 'history-tablet-800x1280-nl.png') });
    // InfluxDB gone: the panel says so, with the code, and the rest of the page goes on.
    await influxd.stop();
    await page.reload();
    const error = page.getByTestId('history-error');
    await error.waitFor({ timeout: 20_000 });
    expect(await error.textContent()).toContain('EGRESS_HISTORY_UNAVAILABLE');
    await panel.screenshot({ path: join(shots, 'history-tablet-800x1280-nl-unavailable.png') });
    await context.close();
    await stopAgents();
  }, 120_000);

  it('without --influx: /api/history answers 404 and the page has no history panel', async () => {
    await stopAgents(); // the last test's, if it failed before stopping them: they hold the data directory
    const agent = await dashboardAgent([]);
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${agent.origin}/?token=${agent.token}`);
    await page.getByTestId('lang-en').waitFor();
    const status = await page.evaluate(async () => (await fetch('/api/history')).status);
    expect(status).toBe(404);
    await page.waitForTimeout(500);
    expect(await page.getByTestId('history').count()).toBe(0);
    await context.close();
    await stopAgents();
  }, 60_000);
});
