// Why the agent needs attention, as the retained status carries it: the
// English `text` for logs and people reading MQTT, and the same problems as
// ids and facts (egress.proto StatusProblem) that the dashboard says in its
// own language. From the agent's condition through the real protobuf
// encoding to the page's decoder and its words, in English and Dutch.

import { afterEach, describe, expect, it } from 'vitest';
import {
  AgentCondition,
  captureError,
  captureIncomplete,
  captureStalled,
  type StatusProblem,
  trafficHeld,
} from '../../agent/src/live/agent-condition.js';
import { encodeStatus } from '../../agent/src/mqtt/codec-control.js';
import { decodeStatus } from '../../agent/src/mqtt/codec-decode.js';
import { type Lang, problemLines, setLang } from '../../dashboard/src/i18n.js';
import { decodeStatus as decodeForPage } from '../../dashboard/src/proto.js';

const GAP_TEXT = 'capture incomplete: 12 packets dropped by the kernel between 18:25:04 and 18:25:09 UTC (5 s)';

describe('the agent condition', () => {
  it('names each problem with an id, its facts and its English sentence', () => {
    const cases: [StatusProblem, StatusProblem][] = [
      [
        captureError('tcpdump exited with status 1: eth9: No such device exists'),
        {
          id: 'capture_error',
          count: 0,
          detail: 'tcpdump exited with status 1: eth9: No such device exists',
          text: 'capture: tcpdump exited with status 1: eth9: No such device exists',
        },
      ],
      [captureStalled(45_400), { id: 'capture_stalled', count: 45, detail: '', text: 'capture: no packet for 45 s' }],
      [captureStalled(45_600), { id: 'capture_stalled', count: 46, detail: '', text: 'capture: no packet for 46 s' }],
      [captureIncomplete(GAP_TEXT, 12), { id: 'capture_incomplete', count: 12, detail: '', text: GAP_TEXT }],
      [captureIncomplete(GAP_TEXT, null), { id: 'capture_incomplete', count: 0, detail: '', text: GAP_TEXT }],
      [
        trafficHeld('wlan0', 'unreachable'),
        {
          id: 'traffic_held',
          count: 0,
          detail: 'unreachable',
          text: 'traffic held: the block helper did not renew the watch of wlan0 (unreachable)',
        },
      ],
    ];
    for (const [got, want] of cases) expect(got).toEqual(want);
  });

  it('joins the problems in order, counts spool drops since the last update, and reports only changes', () => {
    const c = new AgentCondition();
    expect(c.update(null, null, 0)).toBeNull();
    expect([c.state, c.text, c.problems]).toEqual(['online', 'ready', []]);

    const stalled = captureStalled(31_000);
    const gap = captureIncomplete(GAP_TEXT, 12);
    const all = c.update(stalled, gap, 7);
    expect(all).toEqual({
      text: `capture: no packet for 31 s; ${GAP_TEXT}; spool full: 7 messages dropped`,
      state: 'degraded',
      // With their ids and facts, for the preflight's list on the page.
      problems: {
        captureDown: stalled,
        captureGap: gap,
        spool: { id: 'spool_full', count: 7, detail: '', text: 'spool full: 7 messages dropped' },
        held: null,
      },
    });
    expect(c.problems.map((p) => [p.id, p.count])).toEqual([
      ['capture_stalled', 31],
      ['capture_incomplete', 12],
      ['spool_full', 7],
    ]);

    // Ten more dropped: the status says the ten, not the total.
    const more = c.update(null, null, 17);
    expect(more?.text).toBe('spool full: 10 messages dropped');
    expect(c.problems).toEqual([{ id: 'spool_full', count: 10, detail: '', text: 'spool full: 10 messages dropped' }]);
    expect(c.state).toBe('degraded');

    // Fail-closed and the helper did not renew the watch: said last.
    const held = trafficHeld('wlan0', 'failed');
    expect(c.update(stalled, null, 17, held)?.text).toBe(`${stalled.text}; ${held.text}`);
    expect(c.problems.map((p) => p.id)).toEqual(['capture_stalled', 'traffic_held']);
    expect(c.update(null, null, 17, held)?.problems).toEqual({
      captureDown: null,
      captureGap: null,
      spool: null,
      held,
    });

    // No new drops: ready again, once.
    expect(c.update(null, null, 17)).toEqual({
      text: 'ready',
      state: 'online',
      problems: { captureDown: null, captureGap: null, spool: null, held: null },
    });
    expect(c.problems).toEqual([]);
    expect(c.update(null, null, 17)).toBeNull();
  });
});

describe('the status message', () => {
  function roundTrip(problems: StatusProblem[], text: string) {
    const payload = encodeStatus({
      gateway: 'gw1',
      tsUs: 5,
      state: problems.length === 0 ? 'online' : 'degraded',
      agentVersion: '0.1.0',
      databases: {},
      startedAtUs: 2,
      text,
      session: '',
      problems,
    });
    return { agent: decodeStatus(payload), page: decodeForPage(payload) };
  }

  it('carries the problems to the page with their ids and facts, and none when ready', () => {
    const problems = [captureError('permission denied'), captureIncomplete(GAP_TEXT, 3_000_000_000)];
    const { agent, page } = roundTrip(problems, problems.map((p) => p.text).join('; '));
    expect(agent.problems.map((p) => [p.id, Number(p.count), p.detail])).toEqual([
      ['capture_error', 0, 'permission denied'],
      ['capture_incomplete', 3_000_000_000, ''],
    ]);
    expect(page.state).toBe('degraded');
    expect(page.problems).toEqual([
      { id: 'capture_error', count: 0, detail: 'permission denied' },
      { id: 'capture_incomplete', count: 3_000_000_000, detail: '' },
    ]);
    expect(roundTrip([], 'ready').page.problems).toEqual([]);
  });
});

describe("the page's words for them", () => {
  // setLang sets <html lang>; outside a browser there is only this one element to set.
  (globalThis as { document?: unknown }).document ??= { documentElement: {} };
  afterEach(() => setLang('en'));

  const problems = [
    { id: 'capture_error', count: 0, detail: 'tcpdump: eth9: No such device exists' },
    { id: 'capture_stalled', count: 45, detail: '' },
    { id: 'capture_incomplete', count: 12, detail: '' },
    { id: 'spool_full', count: 1234, detail: '' },
    { id: 'traffic_held', count: 0, detail: 'unreachable' },
  ];
  const cases: [Lang, string[]][] = [
    [
      'en',
      [
        'capture failed: tcpdump: eth9: No such device exists',
        'no packet for 45 s',
        'capture incomplete, see Capture',
        '1,234 messages dropped: the spool is full (broker away, disk full?)',
        'the gateway holds the controller’s traffic: the block helper does not renew the watch (unreachable)',
      ],
    ],
    [
      'nl',
      [
        'vastleggen mislukt: tcpdump: eth9: No such device exists',
        'al 45 s geen pakket',
        'vastlegging onvolledig, zie Vastleggen',
        '1.234 berichten weggegooid: de wachtrij is vol (broker weg, schijf vol?)',
        'de gateway houdt het verkeer van de controller tegen: de blokkeerhulp verlengt de bewaking niet (unreachable)',
      ],
    ],
  ];

  it.each(cases)('says each problem in %s', (lang, want) => {
    setLang(lang);
    expect(problemLines(problems, 'the English text')).toEqual(want);
  });

  it("falls back to the agent's English text for an id it does not know, or an agent that sends no ids", () => {
    setLang('nl');
    expect(problemLines([{ id: 'battery_low', count: 5, detail: '' }], 'battery low')).toEqual(['battery low']);
    expect(problemLines([], 'capture: no packet for 45 s')).toEqual(['capture: no packet for 45 s']);
    expect(problemLines([], 'ready')).toEqual([]);
    expect(problemLines([], '')).toEqual([]);
  });
});
