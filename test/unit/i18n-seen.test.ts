// What a preflight check saw, as the dashboard says it (dashboard/src/
// i18n-seen.ts) against the summaries the agent can send (agent/src/selftest/
// seen.ts): every id in Dutch and English, every placeholder one of the facts
// the agent sends with it, filled with no brace left, program output as code.
// Then through the real status encoding to the page's decoder: the real check
// results said in Dutch, what was seen and what to do; an agent from before
// summary ids (its status has none) and a summary that is a program's own
// message give the agent's English summary, for the page to mark as English.

import { afterEach, describe, expect, it } from 'vitest';
import { captureIncomplete, trafficHeld } from '../../agent/src/live/agent-condition.js';
import { preflightChecks } from '../../agent/src/live/preflight.js';
import { runningChecks } from '../../agent/src/live/signals.js';
import { encodeStatus, type StatusInfo } from '../../agent/src/mqtt/codec-control.js';
import { checkInterface } from '../../agent/src/selftest/capture.js';
import { evidenceKeyCheck } from '../../agent/src/selftest/evidence.js';
import { SEEN, SEEN_IDS, seen } from '../../agent/src/selftest/seen.js';
import { checkClock, checkDisk, checkGeo } from '../../agent/src/selftest/system.js';
import { type Lang, setLang } from '../../dashboard/src/i18n.js';
import { placeholders } from '../../dashboard/src/i18n-fix.js';
import { SEEN_CATALOGUES, summaryParts, summaryText } from '../../dashboard/src/i18n-seen.js';
import { preflightItems, type Said } from '../../dashboard/src/preflight-items.js';
import { decodeStatus } from '../../dashboard/src/proto.js';

const LANGS: Lang[] = ['en', 'nl'];

(globalThis as { document?: unknown }).document ??= { documentElement: {} };
afterEach(() => setLang('en'));

function sample(id: keyof typeof SEEN): Record<string, string> {
  return Object.fromEntries((SEEN[id].facts as readonly string[]).map((n) => [n, `<${n}>`]));
}

describe('the catalogue of what was seen', () => {
  it('has a Dutch and an English sentence for every summary id the agent can send, and no other', () => {
    for (const l of LANGS) expect(Object.keys(SEEN_CATALOGUES[l]).sort(), l).toEqual([...SEEN_IDS].sort());
  });

  it.each(LANGS)('%s: every placeholder is a fact the agent sends with that id, and every fact is said', (l) => {
    for (const id of SEEN_IDS) {
      const template = SEEN_CATALOGUES[l][id];
      const names = SEEN[id].facts as readonly string[];
      // Every fact is said: the English summary holds it, so the page's must too.
      expect(placeholders(template).sort(), `${l} ${id}`).toEqual([...names].sort());
      expect(template.split('`').length % 2, `${l} ${id}: unbalanced backticks`).toBe(1);
      const text = summaryText(id, sample(id), l);
      expect(text, `${l} ${id}`).not.toMatch(/[{}`]/);
      expect(text, `${l} ${id}`).toMatch(/^[A-Z<t0-9].*\.$/);
    }
  });

  it('the Dutch is not the English', () => {
    expect(SEEN_IDS.filter((id) => SEEN_CATALOGUES.nl[id] === SEEN_CATALOGUES.en[id])).toEqual([]);
  });

  it('a program’s message and a path are code runs, verbatim; an unknown id or a missing fact gives nothing', () => {
    expect(summaryParts('broker_unreachable', { url: 'mqtts://b:8883', error: 'connect ECONNREFUSED' }, 'nl')).toEqual([
      { text: 'Broker ', code: false },
      { text: 'mqtts://b:8883', code: true },
      { text: ' is niet bereikbaar: ', code: false },
      { text: 'connect ECONNREFUSED', code: true },
      { text: '.', code: false },
    ]);
    expect(summaryParts('seen_by_a_newer_agent', {}, 'nl')).toBeNull();
    expect(summaryParts('interface_down', {}, 'nl')).toBeNull();
    expect(summaryParts('hasOwnProperty', {}, 'nl')).toBeNull();
    // Geo data without a date (no row of the selftest test can build it): the agent's line and the page's.
    expect(seen('geo_undated', {}).text).toBe('geo data of unknown date: install a current bundle (egress db update)');
    expect(summaryText('geo_undated', {}, 'nl')).toBe('De geodata hebben geen bekende datum.');
  });
});

describe('from the agent to the page', () => {
  const status = (checks: StatusInfo['signals']): StatusInfo => ({
    gateway: 'gw',
    tsUs: 1,
    state: 'online',
    agentVersion: '0.1.0',
    databases: {},
    startedAtUs: 1,
    text: 'ready',
    session: '',
    signals: checks,
  });
  const said = (s: Said | null) => (s === null ? null : 'parts' in s ? s.parts.map((p) => p.text).join('') : s);

  it('the real check results are said in Dutch and English: what was seen, then what to do', async () => {
    const down = await checkInterface(
      async () => ({ code: 0, stdout: JSON.stringify([{ flags: [] }]), stderr: '' }),
      'eth1',
    );
    const clock = await checkClock(async (cmd) =>
      cmd === 'timedatectl'
        ? { code: 0, stdout: 'no\n', stderr: '' }
        : { code: null, stdout: '', stderr: '', error: 'ENOENT' },
    );
    const low = checkDisk('/srv/egress', () => ({ bavail: 300, bsize: 1024 * 1024 }));
    const geo = checkGeo('/nonexistent', '/nonexistent/none.bin', Date.now);
    const report = { gateway: 'gw', at: '', worst: 'fail' as const, checks: [down, clock, low, geo] };
    const st = decodeStatus(
      encodeStatus(
        status({
          preflight: 'fail',
          preflightProblems: [],
          preflightChecks: preflightChecks(report),
          alertLatched: false,
          alertsUnacknowledged: 0,
          acknowledgements: 0,
        }),
      ),
    );
    setLang('nl');
    const nl = preflightItems(st).map((i) => ('seen' in i ? said(i.seen) : i));
    expect(nl).toEqual([
      'Interface eth1 staat uit.',
      'De klok is niet gelijkgezet (systemd-timesyncd).',
      '300 MiB vrij voor vluchten in /srv/egress.',
      // The geo loader's own message: the agent's English, as sent.
      { english: geo.summary },
    ]);
    setLang('en');
    const en = preflightItems(st).map((i) => ('seen' in i ? [said(i.seen), i.seen] : i));
    expect(en.map((x) => (Array.isArray(x) ? x[0] : x))).toEqual([
      'Interface eth1 is down.',
      'The clock is not synchronised (systemd-timesyncd).',
      '300 MiB free for flights in /srv/egress.',
      { english: geo.summary },
    ]);
  });

  it('the running agent’s problems (a capture gap, held traffic) are said in Dutch too, details kept verbatim', () => {
    const gap = captureIncomplete(
      'capture incomplete: 12 packets dropped by the kernel between 10:00:01 and 10:00:03 UTC (2 s)',
      12,
    );
    const checks = runningChecks({
      captureDown: null,
      captureGap: gap,
      spool: null,
      held: trafficHeld('wlan0', 'timed out'),
    });
    const st = decodeStatus(
      encodeStatus(
        status({
          preflight: 'fail',
          preflightProblems: [],
          preflightChecks: preflightChecks({ gateway: 'gw', at: '', worst: 'fail', checks }),
          alertLatched: false,
          alertsUnacknowledged: 0,
          acknowledgements: 0,
        }),
      ),
    );
    // The agent's English keeps the gap's times (shown in the page's Capture panel, in its language).
    expect(st.preflightChecks.map((c) => c.summary)).toEqual([
      gap.text,
      'traffic held: the block helper did not renew the watch of wlan0 (timed out)',
    ]);
    setLang('nl');
    expect(preflightItems(st).map((i) => ('seen' in i ? said(i.seen) : i))).toEqual([
      'Vastlegging onvolledig: er zijn pakketten gemist (zie Vastleggen voor wanneer).',
      'De gateway houdt het verkeer van de controller tegen: de blokkeerhulp verlengt de bewaking niet (timed out).',
    ]);
  });

  it('an agent from before summary ids: what was seen is its English summary; the fix is still said', async () => {
    const key = evidenceKeyCheck('/nonexistent-data-dir');
    const [check] = preflightChecks({ gateway: 'gw', at: '', worst: 'warn', checks: [key] });
    const { summaryId: _id, summaryFacts: _facts, ...older } = check;
    const st = decodeStatus(
      encodeStatus(
        status({
          preflight: 'warn',
          preflightProblems: [],
          preflightChecks: [older],
          alertLatched: false,
          alertsUnacknowledged: 0,
          acknowledgements: 0,
        }),
      ),
    );
    setLang('nl');
    const [item] = preflightItems(st);
    expect('seen' in item && [item.seen, said(item.fix)]).toEqual([
      { english: 'no evidence signing key yet in /nonexistent-data-dir/keys' },
      'Start de agent één keer (egress run): die maakt de sleutel. Daarna geeft egress key export de publieke sleutel.',
    ]);
  });
});
