// Issue 12, one test per finding of the security probe, against the real
// agent (`egress replay`, embedded broker and dashboard on free 127.0.0.1
// ports) with real clients: raw TCP and WebSocket, MQTT.js, mosquitto as an
// external broker, the `egress tail` CLI. The probe is the operator's script
// (scripts/probe-broker.mjs); it runs once here and each finding is judged on
// what it measured. Every row failed on the build before issue 12
// (`EGRESS_PROBE_BIN=OLD/agent/dist/cli/bin.js node scripts/probe-broker.mjs`).

import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';

interface Row {
  finding: string;
  tried: string;
  held: boolean;
  detail: string;
}

let rows: Row[] = [];
let table = '';

beforeAll(async () => {
  // Imported by path: a plain script, outside the TypeScript projects.
  const probe = await import(`${ROOT}scripts/probe-broker.mjs`);
  rows = await probe.runProbe();
  table = probe.table(rows);
}, 300_000);

function finding(prefix: string): Row[] {
  const found = rows.filter((r) => r.finding.startsWith(prefix));
  expect(found.length, `no probe row for "${prefix}"\n${table}`).toBeGreaterThan(0);
  return found;
}

describe('security probe of the embedded broker and the command path', () => {
  it.each([
    ['1 memory, TCP', '256 MB CONNECTs over TCP are cut off at the header; RSS stays within a few MB'],
    ['1 memory, WebSocket', 'the same on /mqtt over WebSocket'],
    ['1 memory, viewer', '10 MB commands from a logged-in viewer are cut off'],
    ['2 retained command', 'a retained command is refused by the broker and never stored'],
    ['2 retained command, restarts', 'a retained command on an external broker is not run across two agent starts'],
    ['3 client-id take-over', "a viewer with the agent's client id prefix is refused; the agent stays connected"],
    ['4 retained data', 'a viewer cannot retain anything'],
    ['5 reply size', 'the reply to a long id echoes at most 64 characters'],
    ['5 command flood', 'the command rate limit holds under a 10 s flood and ping is answered'],
    ['6 weak token', 'EGRESS_DASHBOARD_TOKEN=a stops the start with EGRESS_TOKEN_WEAK'],
    ['6 login throttling', 'wrong dashboard tokens are throttled per address'],
    ['6 start-up line', 'the start-up line says where the token really is'],
    ['7 permissions', 'data dir 0700, secrets 0600, spool 0600 on every start'],
    ['8 token on the command line', 'egress tail takes --token-file, refuses --token'],
  ])('%s: %s', (prefix) => {
    for (const r of finding(prefix)) expect(r.held, `${r.finding}: ${r.tried} → ${r.detail}\n${table}`).toBe(true);
  });

  it('covers every probe row (no check is left unjudged)', () => {
    expect(rows.length).toBe(14);
  });
});
