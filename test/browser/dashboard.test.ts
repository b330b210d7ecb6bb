// The live dashboard in real Chromium against the real agent replaying the
// demo flight (issue "Live dashboard", "Tests in a real browser"): login and
// 401s, alerts with names, countries and severities, a name filled in on an
// address-rule alert, the map's countries, filters and sorting, commands the
// agent accepts (and a browser without the token cannot send), reconnect
// after the agent (and its embedded broker) restarts, both languages.
// Screenshots at tablet and laptop sizes go to artifacts/browser/.

import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket as NodeWebSocket } from 'ws';
import {
  artifactsDir,
  DEMO_POLICY,
  ensureDashboardBuilt,
  freePort,
  launchChromium,
  type RunningAgent,
  startReplayAgent,
} from '../support/browser.js';
import { egress } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'egress-browser-'));
const dataDir = join(dir, 'data');
let httpPort = 0;
let agent: RunningAgent;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const policyHash = createHash('sha256').update(readFileSync(DEMO_POLICY)).digest('hex');

beforeAll(async () => {
  ensureDashboardBuilt();
  httpPort = await freePort();
  agent = await startReplayAgent(dataDir, httpPort);
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'en-GB' });
  page = await context.newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await agent?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The WebSocket handshake on /mqtt with these headers: the HTTP status it gets (101 = accepted). */
function upgradeStatus(headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const ws = new NodeWebSocket(`ws://127.0.0.1:${httpPort}/mqtt`, 'mqtt', { headers });
    ws.on('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve(-1));
  });
}

const alert = (p: Page, dest: string) => p.locator(`[data-testid="alert"][data-dest="${dest}"]`);

/** Watch an alert entry from page load on: its names when it first appears, and once they are `expected`. */
async function watchNames(
  p: Page,
  dest: string,
  expected: string,
  ms: number,
): Promise<{ first: string; last: string }> {
  const entry = alert(p, dest);
  let first: string | null = null;
  let last = '';
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if ((await entry.count()) > 0) {
      last = (await entry.getByTestId('alert-name').textContent()) ?? '';
      first ??= last;
      if (last === expected) break;
    }
    await p.waitForTimeout(100);
  }
  return { first: first ?? '', last };
}

let addressRuleAlert: Promise<{ first: string; last: string }>;

describe('dashboard in Chromium', () => {
  it('answers 401 with a login page without a valid token, on the page and on the WebSocket', async () => {
    const anon = await browser.newContext();
    const p = await anon.newPage();
    const res = await p.goto(`${agent.origin}/`);
    expect(res?.status()).toBe(401);
    expect(res?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res?.headers()['referrer-policy']).toBe('no-referrer');
    await expect(p.locator('input#token').count()).resolves.toBe(1);
    const wrong = await p.goto(`${agent.origin}/?token=not-the-token`);
    expect(wrong?.status()).toBe(401);
    expect(await p.textContent('body')).toContain('Wrong token');
    for (const path of ['/index.html', '/api/config', '/assets/x.js', '/api/sessions/x/export']) {
      expect((await fetch(`${agent.origin}${path}`)).status, path).toBe(401);
    }
    // The page's own script cannot reach the broker without the cookie.
    const opened = await p.evaluate(
      (port) =>
        new Promise<boolean>((resolve) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/mqtt`, 'mqtt');
          ws.onopen = () => resolve(true);
          ws.onerror = () => resolve(false);
        }),
      httpPort,
    );
    expect(opened).toBe(false);
    expect(await upgradeStatus({})).toBe(401);
    expect(await upgradeStatus({ cookie: 'egress_session=forged' })).toBe(401);
    // The login form with the right token: cookie set, token gone from the address.
    await p.fill('input#token', agent.token);
    await Promise.all([p.waitForURL(`${agent.origin}/`), p.click('button[type=submit]')]);
    const cookie = (await anon.cookies()).find((c) => c.name === 'egress_session');
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Strict');
    expect(await upgradeStatus({ cookie: `egress_session=${cookie?.value}` })).toBe(101);
    // …and from another origin the cookie alone does not open it.
    expect(await upgradeStatus({ cookie: `egress_session=${cookie?.value}`, origin: 'http://evil.example' })).toBe(403);
    await anon.close();
  });

  it('logs in with the printed address and shows the expected alerts with names, countries and severities', async () => {
    await page.goto(agent.url);
    expect(page.url()).toBe(`${agent.origin}/`);
    addressRuleAlert = watchNames(page, '198.51.100.40', 'eu-api.example.com', 100_000);
    await page.locator('[data-testid="broker"][data-state="connected"]').waitFor({ timeout: 15_000 });
    const flysafe = alert(page, '203.0.113.10');
    await flysafe.waitFor({ timeout: 60_000 });
    expect(await flysafe.getAttribute('data-severity')).toBe('high');
    expect(await flysafe.getByTestId('alert-name').textContent()).toBe('flysafe-api.dji.com');
    expect(await flysafe.getByTestId('alert-country').getAttribute('data-country')).toBe('US');
    expect(await flysafe.textContent()).toContain('One of its names is on the deny list.');
    const cn = alert(page, '203.0.113.53');
    await cn.waitFor({ timeout: 60_000 });
    expect(await cn.getAttribute('data-severity')).toBe('high');
    expect(await cn.getByTestId('alert-country').getAttribute('data-country')).toBe('CN');
    expect(await cn.textContent()).toContain('China (CN), a denied country');
    expect(await cn.textContent()).toContain('China Telecom (test)');
    const fake = alert(page, '192.0.2.41');
    await fake.waitFor({ timeout: 60_000 });
    expect(await fake.getAttribute('data-severity')).toBe('medium');
    expect(await fake.getByTestId('alert-name').textContent()).toBe('fakedji.com');
    expect(await fake.textContent()).toContain('Not on the allowlist.');
    // One entry per destination: the CN resolver's UDP and TCP alerts are one entry with a repeat count.
    await page.locator('[data-dest="203.0.113.53"] [data-testid="repeat"]').waitFor({ timeout: 30_000 });
    expect(await alert(page, '203.0.113.53').count()).toBe(1);
    expect(await page.locator('[data-testid="alert"] .sev').first().textContent()).toMatch(/HIGH|MEDIUM/);
  });

  it('shows a lookup of a denied name as its own entry, with a word for its kind and who asked which resolver', async () => {
    // The demo controller asks its resolver for flysafe-api.dji.com (denied by the dji profile).
    const lookup = page.locator('[data-testid="alert"][data-kind="lookup"]', { hasText: 'flysafe-api.dji.com' });
    await lookup.waitFor({ timeout: 60_000 });
    expect(await lookup.count()).toBe(1);
    expect(await lookup.getAttribute('data-severity')).toBe('high');
    expect(await lookup.getByTestId('alert-kind').textContent()).toBe('Lookup');
    expect(await lookup.getByTestId('alert-name').textContent()).toBe('flysafe-api.dji.com');
    expect(await lookup.getByTestId('alert-lookup').textContent()).toContain(
      '10.0.0.2 asked the resolver 198.51.100.53 for this denied name',
    );
    expect(await lookup.textContent()).toContain('One of its names is on the deny list.');
    // A connection alert is no lookup.
    expect(await alert(page, '203.0.113.10').getAttribute('data-kind')).toBe('connection');
    await lookup.scrollIntoViewIfNeeded();
    await lookup.screenshot({ path: join(artifactsDir(), 'alert-lookup-en.png') });
  });

  it('fills in the names of an alert raised at the first packet (address rule) from the flow, without a duplicate', async () => {
    // 198.51.100.40 is denied by its network (AS45102) at the SYN; its name comes with the TLS ClientHello.
    const entry = alert(page, '198.51.100.40');
    const seen = await addressRuleAlert;
    expect(seen.first).toContain('no name seen');
    expect(seen.last).toBe('eu-api.example.com');
    expect(await entry.getByTestId('alert-name').textContent()).toBe('eu-api.example.com');
    expect(await entry.count()).toBe(1);
    expect(await entry.textContent()).toContain('AS45102');
  });

  it('shows the destination countries on the map, with the line colour of their worst verdict', async () => {
    const map = page.getByTestId('map');
    for (const cc of ['CN', 'US', 'DE', 'NL']) await map.locator(`path.dest[data-country="${cc}"]`).waitFor();
    expect(await map.locator('path[data-country="CN"]').getAttribute('class')).toContain('dest-high');
    expect(await map.locator('[data-route="CN"]').getAttribute('class')).toContain('route-high');
    expect(await map.locator('path[data-country="FR"]').getAttribute('class')).toBe('land');
    expect(await page.getByTestId('map-countries').textContent()).toContain('China (CN, HIGH)');
  });

  it('filters and sorts the connections table', async () => {
    await page.locator('[data-testid="conn-row"]').nth(10).waitFor({ timeout: 60_000 });
    await page.waitForTimeout(1200);
    await page.selectOption('[data-testid="filter-verdict"]', 'medium');
    await page.waitForTimeout(300);
    const classes = await page.locator('[data-testid="conn-row"]').evaluateAll((rows) => rows.map((r) => r.className));
    expect(classes.length).toBeGreaterThan(0);
    expect(new Set(classes)).toEqual(new Set(['row-medium']));
    await page.selectOption('[data-testid="filter-verdict"]', 'all');
    await page.selectOption('[data-testid="filter-country"]', 'CN');
    await page.waitForTimeout(300);
    const cn = await page.locator('[data-testid="conn-row"] td:nth-child(3)').allTextContents();
    expect(cn.length).toBeGreaterThan(0);
    expect(new Set(cn)).toEqual(new Set(['CN']));
    await page.selectOption('[data-testid="filter-country"]', 'all');
    await page.fill('[data-testid="filter-search"]', 'dji');
    await page.waitForTimeout(300);
    // Every name of a row is in its title (the cell shows the first).
    const names = await page
      .locator('[data-testid="conn-row"] td.dest')
      .evaluateAll((tds) => tds.map((td) => `${td.getAttribute('title')} ${td.textContent}`));
    expect(names.length).toBeGreaterThan(0);
    for (const n of names) expect(n).toContain('dji');
    await page.fill('[data-testid="filter-search"]', '');
    await page.click('[data-testid="sort-dest"]'); // destination, A→Z
    await page.waitForTimeout(300);
    const dests = await page
      .locator('[data-testid="conn-row"] td.dest')
      .evaluateAll((tds) => tds.map((td) => td.firstChild?.textContent ?? ''));
    expect(dests.length).toBeGreaterThan(3);
    expect(dests).toEqual([...dests].sort((a, b) => a.localeCompare(b)));
    expect(await page.locator('th[aria-sort="ascending"]').textContent()).toContain('Destination');
    await page.click('[data-testid="sort-dest"]'); // Z→A
    await page.waitForTimeout(300);
    const desc = await page
      .locator('[data-testid="conn-row"] td.dest')
      .evaluateAll((tds) => tds.map((td) => td.firstChild?.textContent ?? ''));
    expect(desc).toEqual([...desc].sort((a, b) => b.localeCompare(a)));
  });

  it('starts and ends a flight and allows a destination: commands the agent accepts', async () => {
    const reply = page.getByTestId('reply');
    await page.fill('[data-testid="flight-name"]', 'Inzet Zuidas');
    await page.click('[data-testid="start-flight"]');
    await expect.poll(() => reply.textContent(), { timeout: 10_000 }).toMatch(/^Agent: flight demo-\S+ started$/);
    await expect.poll(() => page.getByTestId('flight').textContent(), { timeout: 10_000 }).toContain('Inzet Zuidas');
    await page.click('[data-testid="end-flight"]');
    await expect.poll(() => reply.textContent(), { timeout: 10_000 }).toMatch(/^Agent: flight demo-\S+ ended$/);
    await expect.poll(() => page.getByTestId('flight').textContent()).toBe('no flight open');
    // The closed flight offers its evidence: the download is a bundle egress verify calls intact.
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 30_000 }),
      page.getByTestId('export').first().click(),
    ]);
    const bundle = join(dataDir, 'dashboard-export.zip');
    await download.saveAs(bundle);
    const verified = egress(['verify', bundle]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/^intact: \d+ records, \d+ files, signed by [0-9a-f]{64}/);
    // Allow the medium (not allowlisted) destination fakedji.com.
    await alert(page, '192.0.2.41').getByTestId('allow').click();
    await expect
      .poll(() => reply.textContent(), { timeout: 10_000 })
      .toBe('Agent: fakedji.com added to the allow overlay');
    await expect.poll(() => page.getByTestId('overlay').textContent(), { timeout: 10_000 }).toContain('fakedji.com');
    const overlay = readFileSync(join(dataDir, 'allow-overlay.ndjson'), 'utf8');
    expect(
      overlay
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).rule),
    ).toEqual(['fakedji.com']);
    // The operator's policy file is never written.
    expect(createHash('sha256').update(readFileSync(DEMO_POLICY)).digest('hex')).toBe(policyHash);
    // A denied destination cannot be allowed from here (deny beats allow): the button says why.
    const deny = alert(page, '203.0.113.10').getByTestId('allow');
    expect(await deny.isDisabled()).toBe(true);
    expect(await deny.getAttribute('title')).toContain('Deny rules beat allow');
  });

  it('renders in Dutch and in English, and saves screenshots at tablet and laptop sizes', async () => {
    const shots = artifactsDir();
    // From the top, as a person opening the page sees it.
    await page.evaluate(
      'window.scrollTo(0, 0); document.querySelector(\'[data-testid="alert-list"]\')?.scrollTo(0, 0)',
    );
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.screenshot({ path: join(shots, 'laptop-1440x900-en.png') });
    await page.screenshot({ path: join(shots, 'laptop-1440x900-en-full.png'), fullPage: true });
    await page.getByTestId('lang-nl').click();
    expect(await page.locator('html').getAttribute('lang')).toBe('nl');
    expect(await page.locator('#alerts-h').textContent()).toContain('Alarmen');
    expect(await alert(page, '203.0.113.53').textContent()).toContain('China (CN), een geweigerd land');
    expect(await alert(page, '192.0.2.41').textContent()).toContain('Staat niet op de toegestane lijst.');
    expect(await page.locator('[data-kind="lookup"] [data-testid="alert-kind"]').first().textContent()).toBe(
      'Opzoeking',
    );
    expect(await page.locator('[data-testid="alert"][data-severity="high"] .sev').first().textContent()).toBe('HOOG');
    expect(await page.locator('#conn-h').textContent()).toBe('Alle verbindingen');
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.screenshot({ path: join(shots, 'tablet-1280x800-nl.png') });
    await page.setViewportSize({ width: 800, height: 1280 });
    await page.screenshot({ path: join(shots, 'tablet-800x1280-nl.png') });
    await page.getByTestId('lang-en').click();
    expect(await page.locator('#alerts-h').textContent()).toContain('Alerts');
    await page.emulateMedia({ reducedMotion: 'reduce' });
    await page.getByRole('button', { name: 'Night' }).click();
    await page.screenshot({ path: join(shots, 'tablet-800x1280-en-night.png') });
    await page.getByRole('button', { name: 'Daylight' }).click();
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  it('reconnects by itself after the agent and its embedded broker restart', async () => {
    const broker = page.getByTestId('broker');
    expect(await broker.getAttribute('data-state')).toBe('connected');
    await agent.stop();
    await expect.poll(() => broker.getAttribute('data-state'), { timeout: 15_000 }).not.toBe('connected');
    agent = await startReplayAgent(dataDir, httpPort);
    await expect.poll(() => broker.getAttribute('data-state'), { timeout: 30_000 }).toBe('connected');
    // The new run's messages arrive on the same page: the retained status carries the allow overlay from disk.
    await expect.poll(() => page.getByTestId('overlay').textContent(), { timeout: 15_000 }).toContain('fakedji.com');
    expect(await page.getByTestId('alert').count()).toBeGreaterThan(3);
  });
});
