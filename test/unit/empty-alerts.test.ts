// The dashboard's empty alert list never claims "nothing left" when the page
// cannot know it (dashboard/src/empty-alerts.ts): the capture missed packets,
// or the gateway's red light is latched by high alerts from before the page
// opened. Both languages have each sentence, with the count where it has one.

import { describe, expect, it } from 'vitest';
import { emptyAlerts } from '../../dashboard/src/empty-alerts.js';
import type { StatusMsg } from '../../dashboard/src/proto.js';

const base: StatusMsg = {
  gateway: 'gw1',
  state: 'online',
  text: 'ready',
  agentVersion: '0.1.0',
  databases: {},
  startedAtUs: 0,
  session: '',
  policy: '',
  allowOverlay: [],
  clockSynchronised: true,
  preflight: 'pass',
  preflightProblems: [],
  preflightChecks: [],
  alertLatched: false,
  alertsUnacknowledged: 0,
  acknowledgements: 0,
  captureIncomplete: false,
  lastCaptureGap: null,
  problems: [],
};

describe('the empty alert list', () => {
  it.each([
    ['no status yet', null, { key: 'noAlerts' }],
    ['a clean gateway', base, { key: 'noAlerts' }],
    [
      'red latched by 5 high alerts',
      { ...base, alertLatched: true, alertsUnacknowledged: 5 },
      { key: 'noAlertsLatched', n: 5 },
    ],
    [
      'red latched, agent offline (its last will)',
      { ...base, state: 'offline', alertLatched: true, alertsUnacknowledged: 5 },
      { key: 'noAlerts' },
    ],
    ['capture incomplete', { ...base, captureIncomplete: true }, { key: 'noAlertsIncomplete' }],
    [
      'capture incomplete and red latched',
      { ...base, captureIncomplete: true, alertLatched: true, alertsUnacknowledged: 2 },
      { key: 'noAlertsIncomplete' },
    ],
  ] as const)('%s', (_what, status, want) => {
    expect(emptyAlerts(status as StatusMsg | null)).toEqual(want);
  });
});
