// The gateway's lights on the dashboard, in real Chromium (issue 11): the
// agent replays the demo flight with `--gpio sim`, and the test reads the
// simulated lights and presses the button on the agent's GPIO socket. The
// banner shows the preflight result the green light shows, and ALERT with the
// latched red light; its button sends cmd/acknowledge and the red light goes
// off; a long press at the gateway acknowledges the page's high alerts, even
// when the next alert latches red again before the page hears of it.
// The evidence key is made readable by others before the agent starts, so
// the preflight fails on it for sure: its "what to do" is said in the page's
// language (Dutch: the chmod command verbatim, as code), from the fix id and
// facts the status carries, after what the check saw (summary id and
// facts). Screenshots (English and Dutch, tablet, with "what the gateway saw
// and what to do" open) go to artifacts/browser/. What a newer agent (ids
// this page does not know), one before summary ids, or an older one (no ids)
// would send is made by rewriting the real status on its way to the page:
// then the agent's English is shown, marked as English, and the note says so.

import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { egress } from '../../agent/proto/gen/egress.js';
import { keyDir, loadOrCreateKey, PRIVATE_KEY_FILE } from '../../agent/src/evidence/keys.js';
import { SimGpioClient } from '../../hardware/src/index.js';
import {
  artifactsDir,
  ensureDashboardBuilt,
  freePort,
  launchChromium,
  type RunningAgent,
  startReplayAgent,
} from '../support/browser.js';
import { MqttRewriter } from '../support/mqtt-rewrite.js';

const dir = mkdtempSync(join(tmpdir(), 'egress-banner-'));
const gpio = new SimGpioClient(join(dir, 'gpio.sock'));
const keyFile = join(keyDir(join(dir, 'data')), PRIVATE_KEY_FILE);
let agent: RunningAgent;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  ensureDashboardBuilt();
  loadOrCreateKey(join(dir, 'data'));
  chmodSync(keyFile, 0o644);
  const port = await freePort();
  agent = await startReplayAgent(join(dir, 'data'), port, '4', ['--gpio', 'sim', '--gpio-sim-socket', gpio.path]);
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-GB' });
  page = await context.newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await agent?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The alert entries on the page: which, severity, whether acknowledged (its button disabled). */
async function alertsShown(): Promise<{ id: string; severity: string; acked: boolean }[]> {
  return page.locator('[data-testid="alert"]').evaluateAll((els) =>
    els.map((e) => ({
      // The page's own key: the address for a connection, the name asked for a lookup.
      id:
        e.getAttribute('data-kind') === 'lookup'
          ? `lookup ${e.querySelector('[data-testid="alert-name"]')?.textContent}`
          : `${e.getAttribute('data-dest')}`,
      severity: e.getAttribute('data-severity') ?? '',
      acked: e.querySelector('[data-testid="ack"]')?.hasAttribute('disabled') ?? false,
    })),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('dashboard banner with the gateway lights (egress replay --gpio sim)', () => {
  it('shows the preflight and the latched red light in English and Dutch; its button turns the light off', async () => {
    await page.goto(agent.url);
    const latched = page.getByTestId('latched');
    await latched.waitFor({ timeout: 60_000 });
    expect((await gpio.state()).red).toBe(true);
    expect(await page.locator('.banner').getAttribute('class')).toContain('banner-alert');
    expect(await latched.textContent()).toMatch(
      /^Red light and buzzer on at the gateway: \d+ high alert\(s\) not acknowledged there/,
    );
    // Replaying, there is no capture to check; the key others can read fails, the machine's clock and geo data age may warn.
    const preflight = page.getByTestId('preflight');
    await page.locator('[data-testid="preflight"]:not([data-result=""])').waitFor({ timeout: 20_000 });
    const result = await preflight.getAttribute('data-result');
    expect(result).toBe('fail');
    expect(await preflight.textContent()).toContain(
      { pass: 'passed (green light on)', warn: 'warnings (green light blinks)', fail: 'FAILED (green light off)' }[
        result as 'pass'
      ],
    );
    expect(agent.log()).toContain(`preflight: result: ${result?.toUpperCase()}`);
    // The checks to fix are named in the page's language, from the ids the agent sends (clock, evidence_key…).
    const checks = async () => ((await preflight.locator('strong').textContent()) ?? '').split(': ')[1]?.split(', ');
    const EN = [
      'capture',
      'network interface',
      'tcpdump',
      'broker',
      'clock',
      'geo data',
      'disk space',
      'evidence key',
      'GPIO',
    ];
    const NL = [
      'vastleggen',
      'netwerkinterface',
      'tcpdump',
      'broker',
      'klok',
      'geodata',
      'schijfruimte',
      'bewijssleutel',
      'GPIO',
    ];
    const english = result === 'pass' ? [] : await checks();
    if (result !== 'pass') expect(english?.length).toBeGreaterThan(0);
    for (const name of english ?? []) expect(EN).toContain(name);
    const shots = artifactsDir();
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: join(shots, 'gateway-banner-1280x800-en.png') });
    await page.getByTestId('lang-nl').click();
    expect(await latched.textContent()).toMatch(
      /^Rood licht en zoemer aan op de gateway: \d+ hoge alarm\(en\) daar niet bevestigd/,
    );
    expect(await page.getByTestId('ack-gateway').textContent()).toBe('Bevestigen: licht uit');
    if (result !== 'pass') expect(await checks()).toEqual(english?.map((n) => NL[EN.indexOf(n)]));
    // What each check saw and what to do, in Dutch, from the summary and fix ids and their facts: no part left in
    // the agent's English, so no note that it is.
    const fixes = page.getByTestId('preflight-fixes');
    await fixes.locator('summary').click();
    expect(await fixes.locator('summary').textContent()).toBe('wat de gateway zag en wat te doen');
    const key = fixes.locator('li[data-check="evidence_key"]');
    expect(await key.getAttribute('data-seen-id')).toBe('key_readable');
    expect(await key.getAttribute('data-fix-id')).toBe('key_readable');
    expect(await key.textContent()).toBe(
      `bewijssleutel: Anderen kunnen de bewijssleutel lezen (rechten 644). Wat te doen: Maak de bewijssleutel alleen leesbaar voor de agent: chmod 600 ${keyFile}.`,
    );
    expect(await key.locator('code').textContent()).toBe(`chmod 600 ${keyFile}`);
    expect(await key.getAttribute('lang')).toBeNull();
    expect(await fixes.locator('[lang="en"]').count()).toBe(0);
    const lines = await fixes.locator('li').count();
    expect(lines).toBe(english?.length);
    expect(await fixes.locator('li[data-seen-id][data-fix-id]').count()).toBe(lines);
    // Each line says what was seen first, then what to do, each in its own words.
    expect(await fixes.locator('li .seen').count()).toBe(lines);
    expect(await fixes.locator('li .fix-label').allTextContents()).toEqual(Array(lines).fill('Wat te doen:'));
    for (const [check, seen, fix] of [
      [
        'clock',
        /^(De klok is niet gelijkgezet|Onbekend of de klok gelijkgezet is)/,
        /^(De klok is niet gelijkgezet|Zet tijdsynchronisatie aan)/,
      ],
      [
        'geo',
        /^De geodata van \d{4}-\d\d-\d\d zijn \d+ dagen oud \(meer dan 90\)\.$/,
        /^Zet een nieuwe geodatabundel op de gateway en voer egress db update FILE uit/,
      ],
    ] as const)
      if ((await fixes.locator(`li[data-check="${check}"]`).count()) > 0) {
        expect(await fixes.locator(`li[data-check="${check}"] .seen`).textContent()).toMatch(seen);
        expect(await fixes.locator(`li[data-check="${check}"] .fix-text`).textContent()).toMatch(fix);
      }
    // An empty list under a latched red light says the gateway still holds high alerts, not "nothing left".
    const empty = page.getByTestId('no-alerts');
    if ((await empty.count()) > 0)
      expect(await empty.textContent()).toMatch(
        /^Geen alarmen op deze pagina sinds hij openging, maar de gateway meldt nog hoge alarmen van daarvoor \(\d+\)/,
      );
    await page.screenshot({ path: join(shots, 'gateway-banner-1280x800-nl-fixes.png') });
    await page.setViewportSize({ width: 800, height: 1280 });
    await page.screenshot({ path: join(shots, 'gateway-banner-800x1280-nl.png') });
    await page.getByTestId('lang-en').click();
    await page.setViewportSize({ width: 1280, height: 800 });
    // The same line in English, from the same ids and facts.
    expect(await key.textContent()).toBe(
      `evidence key: Others can read the evidence signing key (mode 644). What to do: Make the evidence key readable by the agent only: chmod 600 ${keyFile}.`,
    );
    expect(await fixes.locator('summary').textContent()).toBe('what the gateway saw and what to do');
    await page.setViewportSize({ width: 800, height: 1280 });
    await page.screenshot({ path: join(shots, 'gateway-banner-800x1280-en-fixes.png') });
    await page.setViewportSize({ width: 1280, height: 800 });
    await fixes.locator('summary').click();

    const acks = Number(await page.locator('.banner').getAttribute('data-acknowledgements'));
    const clicked = Date.now();
    await page.getByTestId('ack-gateway').click();
    await page.locator('[data-testid="reply"][data-ok="true"]').waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('reply').textContent()).toMatch(/red light and buzzer off \(\d+ acknowledged\)/);
    // The status counts it: the page's counter goes up by one.
    await page.locator(`.banner[data-acknowledgements="${acks + 1}"]`).waitFor({ timeout: 10_000 });
    // The red light went off when the command arrived (a later alert of the looping replay may light it again).
    const red = (await gpio.history(clicked)).filter((c) => c.output === 'red');
    expect(red[0]).toMatchObject({ on: false });
  }, 120_000);

  // The case that made this flaky: the next high alert latches red again before
  // the page sees a status with the light off. Provoked on purpose: the page's
  // MQTT connection is cut (a routed WebSocket) from before the long press
  // until the agent's red light is back on, so the only status it gets after
  // the press is the retained one, latched again. The page follows the
  // status's acknowledgements counter (field 33), not latched → not latched.
  it('a long press at the gateway acknowledges the high alerts on the page, though the next alert latches red again', async () => {
    let cut = false;
    const open = new Set<WebSocketRoute>();
    await page.routeWebSocket(/\/mqtt$/, (ws) => {
      if (cut) return void ws.close();
      const server = ws.connectToServer();
      open.add(ws).add(server);
    });
    // A fresh page holds only alerts that arrive from now on, none acknowledged.
    await page.reload();
    await page.getByTestId('latched').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="alert"][data-severity="high"]').first().waitFor({ timeout: 60_000 }); // the next pass of the looping replay
    const banner = page.locator('.banner');
    const before = Number(await banner.getAttribute('data-acknowledgements'));
    const shown = await alertsShown();
    const high = shown.filter((a) => a.severity === 'high').map((a) => a.id);
    const medium = shown.filter((a) => a.severity === 'medium').map((a) => a.id);
    expect(high.length).toBeGreaterThan(0);
    expect(shown.filter((a) => a.acked)).toEqual([]);

    cut = true;
    for (const ws of open) await ws.close();
    await page.locator('[data-testid="broker"]:not([data-state="connected"])').waitFor({ timeout: 10_000 });
    // The gateway's own red light is on before the press (the page's view of it came over MQTT).
    for (const end = Date.now() + 60_000; !(await gpio.state()).red && Date.now() < end; ) await sleep(200);
    expect((await gpio.state()).red, agent.log().slice(-2000)).toBe(true);
    const pressed = Date.now();
    await gpio.press();
    await sleep(2300);
    await gpio.release();
    // At the gateway: red off by the long press, then on again by a newer high alert, all while the page is cut off.
    let red: boolean[] = [];
    for (const end = Date.now() + 60_000; Date.now() < end; await sleep(200)) {
      red = (await gpio.history(pressed)).filter((c) => c.output === 'red').map((c) => c.on);
      if (red.length >= 2) break;
    }
    const why = () =>
      `red changes since the press: ${JSON.stringify(red)}\nagent log (end):\n${agent.log().slice(-3000)}`;
    expect(red.slice(0, 2), why()).toEqual([false, true]);
    expect(agent.log()).toContain('alert acknowledged: red light and buzzer off');
    expect(await banner.getAttribute('data-acknowledgements')).toBe(String(before)); // the page saw none of it

    cut = false;
    await page.locator('[data-testid="broker"][data-state="connected"]').waitFor({ timeout: 20_000 });
    await page.locator(`.banner[data-acknowledgements="${before + 1}"]`).waitFor({ timeout: 10_000 });
    // Latched again on the page, and every high alert it held before the press acknowledged; medium ones are not the red light's.
    expect(await page.getByTestId('latched').isVisible()).toBe(true);
    const after = await alertsShown();
    const acked = (ids: string[], severity: string) =>
      after.filter((a) => ids.includes(a.id) && a.severity === severity).map((a) => a.acked);
    expect(acked(high, 'high')).toEqual(high.map(() => true));
    expect(acked(medium, 'medium')).not.toContain(true);
  }, 150_000);

  it('ids the page does not know (newer agent), no summary ids (agent before them) or none at all (older agent): the agent’s English, marked and said to be English', async () => {
    const shots = artifactsDir();
    for (const agentIs of ['newer', 'before-summaries', 'older'] as const) {
      const context = await browser.newContext({ viewport: { width: 800, height: 1280 }, locale: 'nl-NL' });
      const p = await context.newPage();
      await p.routeWebSocket(/\/mqtt$/, (ws) => {
        const server = ws.connectToServer();
        const rewriter = new MqttRewriter(
          (packet) => ws.send(packet),
          (topic, payload) => {
            if (!topic.endsWith('/status')) return payload;
            const st = egress.v1.Status.decode(payload);
            if (agentIs === 'older') st.preflight_checks = [];
            for (const c of st.preflight_checks) {
              if (agentIs === 'before-summaries') {
                c.summary_id = '';
                c.summary_facts = {};
              } else if (c.id === 'evidence_key') {
                c.fix_id = 'key_from_a_newer_agent';
                c.summary_id = 'key_seen_by_a_newer_agent';
              }
            }
            return Buffer.from(egress.v1.Status.encode(st).finish());
          },
        );
        server.onMessage((m) => rewriter.push(typeof m === 'string' ? Buffer.from(m) : m));
      });
      await p.goto(agent.url);
      await p.locator('[data-testid="preflight"][data-result="fail"]').waitFor({ timeout: 30_000 });
      const fixes = p.getByTestId('preflight-fixes');
      await fixes.locator('summary').click();
      expect(await fixes.locator('summary').textContent()).toBe(
        'wat de gateway zag en wat te doen (deels de tekst van de gateway, in het Engels)',
      );
      const key = fixes.locator('li[data-check="evidence_key"]');
      const lines = await fixes.locator('li').count();
      const seenEnglish = 'the evidence signing key is readable by others (mode 644)';
      if (agentIs === 'older') {
        // Every line as the agent wrote it, marked English as a whole.
        expect(await key.getAttribute('lang')).toBe('en');
        expect(await key.textContent()).toBe(`evidence_key: ${seenEnglish} (fix: chmod 600 ${keyFile})`);
        expect(await fixes.locator('li[lang="en"]').count()).toBe(lines);
      } else {
        // The line is the page's (check named in Dutch); only the parts it cannot say are English, and marked.
        expect(await key.getAttribute('lang')).toBeNull();
        expect(await key.locator('.check-name').textContent()).toBe('bewijssleutel:');
        expect(await key.locator('.seen').getAttribute('lang')).toBe('en');
        expect(await key.locator('.seen').textContent()).toBe(seenEnglish);
        expect(await key.locator('.fix-label').textContent()).toBe('Wat te doen:');
        if (agentIs === 'newer') {
          expect(await key.locator('.fix-text').getAttribute('lang')).toBe('en');
          expect(await key.locator('.fix-text').textContent()).toBe(`chmod 600 ${keyFile}`);
          // The other lines: still all Dutch.
          expect(await fixes.locator('[lang="en"]').count()).toBe(2);
        } else {
          // Before summary ids: what was seen is English on every line, what to do still Dutch.
          expect(await fixes.locator('.seen[lang="en"]').count()).toBe(lines);
          expect(await fixes.locator('.fix-text[lang="en"]').count()).toBe(0);
          expect(await key.locator('.fix-text').textContent()).toBe(
            `Maak de bewijssleutel alleen leesbaar voor de agent: chmod 600 ${keyFile}.`,
          );
        }
      }
      await p.screenshot({ path: join(shots, `gateway-banner-800x1280-nl-${agentIs}-agent.png`) });
      await context.close();
    }
  }, 150_000);
});
