// The dashboard's "what to do" sentences for the preflight (dashboard/src/
// i18n-fix.ts) against the fixes the agent can send (agent/src/selftest/
// fixes.ts, GPIO ones from hardware/src/gpio/fixes.ts): every id in Dutch and
// English, every placeholder one of the facts the agent sends with it, filled
// with no brace left; commands and paths as code runs. Then through the real
// status encoding to the page's decoder: the Dutch line with the agent's facts,
// and the agent's English line for an id the page does not know or an older
// agent that sends no ids.

import { afterEach, describe, expect, it } from 'vitest';
import { preflightChecks } from '../../agent/src/live/preflight.js';
import { encodeStatus, type StatusInfo } from '../../agent/src/mqtt/codec-control.js';
import { checkInterface } from '../../agent/src/selftest/capture.js';
import { FIX_IDS, FIXES } from '../../agent/src/selftest/fixes.js';
import { checkDisk } from '../../agent/src/selftest/system.js';
import { type Lang, setLang } from '../../dashboard/src/i18n.js';
import { FIX_CATALOGUES, fixParts, fixText, placeholders } from '../../dashboard/src/i18n-fix.js';
import { preflightItems, type Said } from '../../dashboard/src/preflight-items.js';
import { decodeStatus } from '../../dashboard/src/proto.js';

const LANGS: Lang[] = ['en', 'nl'];

// setLang sets <html lang>; outside a browser there is only this one element to set.
(globalThis as { document?: unknown }).document ??= { documentElement: {} };
afterEach(() => setLang('en'));

/** Sample facts for a fix: each named fact a value that is easy to find in the sentence. */
function sample(id: keyof typeof FIXES): Record<string, string> {
  return Object.fromEntries((FIXES[id].facts as readonly string[]).map((n) => [n, `<${n}>`]));
}

describe('the catalogue of fix sentences', () => {
  it('has a Dutch and an English sentence for every fix id the agent can send, and no other', () => {
    for (const l of LANGS) expect(Object.keys(FIX_CATALOGUES[l]).sort(), l).toEqual([...FIX_IDS].sort());
  });

  it.each(LANGS)('%s: every placeholder is a fact the agent sends with that id; filled, no brace is left', (l) => {
    for (const id of FIX_IDS) {
      const template = FIX_CATALOGUES[l][id];
      const names = FIXES[id].facts as readonly string[];
      for (const p of placeholders(template)) expect(names, `${l} ${id}: {${p}}`).toContain(p);
      // Backticks come in pairs: every command or path run is closed.
      expect(template.split('`').length % 2, `${l} ${id}: unbalanced backticks`).toBe(1);
      const text = fixText(id, sample(id), l);
      expect(text, `${l} ${id}`).not.toBeNull();
      expect(text, `${l} ${id}`).not.toMatch(/[{}`]/);
      for (const p of placeholders(template)) expect(text, `${l} ${id}`).toContain(`<${p}>`);
      // One or two short sentences, starting with a capital or a command name, ending in a full stop or question mark.
      expect(text, `${l} ${id}`).toMatch(/[.?]$/);
      expect((text ?? '').length, `${l} ${id}`).toBeLessThan(200);
    }
  });

  it('the Dutch is not the English', () => {
    const same = FIX_IDS.filter((id) => FIX_CATALOGUES.nl[id] === FIX_CATALOGUES.en[id]);
    expect(same).toEqual([]);
  });

  it('commands and paths are code runs, verbatim; the facts inside them too', () => {
    expect(fixParts('key_readable', { file: '/var/lib/egress/keys/evidence-ed25519.pem' }, 'nl')).toEqual([
      { text: 'Maak de bewijssleutel alleen leesbaar voor de agent: ', code: false },
      { text: 'chmod 600 /var/lib/egress/keys/evidence-ed25519.pem', code: true },
      { text: '.', code: false },
    ]);
    // A fact holding a backtick stays inside its own run.
    expect(fixParts('capture_tcpdump_error', { interface: 'eth1', said: 'odd `x` here' }, 'en')).toEqual([
      { text: 'tcpdump said: ', code: false },
      { text: 'odd `x` here', code: true },
      { text: '. Run the same tcpdump by hand to see why.', code: false },
    ]);
  });

  it('an unknown id or a missing fact gives nothing, so the page shows the English line', () => {
    expect(fixParts('fix_from_a_newer_agent', {}, 'nl')).toBeNull();
    expect(fixParts('interface_down', {}, 'nl')).toBeNull();
    expect(fixParts('toString', {}, 'nl')).toBeNull();
    expect(fixText('interface_down', { interface: 'eth1' }, 'nl')).toBe(
      'Zet de interface aan: ip link set eth1 up, of controleer de netwerkdienst.',
    );
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

  it('the real check results, encoded in the status, are said in Dutch with their facts', async () => {
    const down = await checkInterface(
      async () => ({ code: 0, stdout: JSON.stringify([{ flags: [] }]), stderr: '' }),
      'eth1',
    );
    const full = checkDisk('/srv/egress', () => ({ bavail: 10, bsize: 1024 * 1024 }));
    const report = { gateway: 'gw', at: '', worst: 'fail' as const, checks: [down, full] };
    const st = decodeStatus(
      encodeStatus(
        status({
          preflight: 'fail',
          preflightProblems: ['interface: …', 'disk: …'],
          preflightChecks: preflightChecks(report),
          alertLatched: false,
          alertsUnacknowledged: 0,
          acknowledgements: 0,
        }),
      ),
    );
    setLang('nl');
    const items = preflightItems(st);
    const said = (s: Said | null) => (s === null ? null : 'parts' in s ? s.parts.map((p) => p.text).join('') : s);
    expect(items.map((i) => ('seen' in i ? [said(i.seen), said(i.fix)] : i))).toEqual([
      ['Interface eth1 staat uit.', 'Zet de interface aan: ip link set eth1 up, of controleer de netwerkdienst.'],
      [
        '10 MiB vrij voor vluchten in /srv/egress.',
        'Te weinig schijfruimte. Maak ruimte vrij, of zet --data-dir op een grotere schijf (minstens 200 MiB).',
      ],
    ]);
    setLang('en');
    expect(preflightItems(st).map((i) => ('seen' in i && i.fix && 'key' in i.fix ? i.fix.key : ''))).toEqual([
      'interface_down',
      'disk_full',
    ]);
  });

  it('an id the page does not know, and an older agent without ids: the English line as the agent sent it', () => {
    setLang('nl');
    const newer = preflightItems({
      preflightProblems: ['clock: clock is odd (fix: do the new thing)'],
      preflightChecks: [
        {
          id: 'clock',
          status: 'warn',
          summary: 'clock is odd',
          fix: 'do the new thing',
          fixId: 'clock_new',
          fixFacts: {},
          summaryId: 'clock_odd',
          summaryFacts: {},
        },
      ],
    });
    expect(newer).toEqual([{ id: 'clock', seen: { english: 'clock is odd' }, fix: { english: 'do the new thing' } }]);
    const older = preflightItems({
      preflightProblems: ['geo: geo data from 2026-01-01 is 300 days old (fix: copy a new bundle)'],
      preflightChecks: [],
    });
    expect(older).toEqual([
      { id: 'geo', english: 'geo: geo data from 2026-01-01 is 300 days old (fix: copy a new bundle)' },
    ]);
  });
});
