// A recorded flight for the evidence tests: the demo capture (real clients —
// dig, curl, openssl, Chromium, ngtcp2 — talking to servers on documentation
// addresses, see scripts/demo-data/README.md) replayed through the live agent
// with `--session`, whose policy places a resolver and a cloud in China.

import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { egress, ROOT } from '../support/cli.js';

export const FLIGHT = join(ROOT, 'scripts/demo-data/flight.pcap');
export const FLIGHT_POLICY = join(ROOT, 'scripts/demo-data/policy.yaml');
export const REPLAY_COMMON = ['--no-http', '--mqtt-port', '0', '--quiet', '--linger', '1', '--gateway', 'gw-test'];

/** Replay `capture` (at `speed`) as a session named `name` into a fresh data directory; the data directory and the session id. */
export function recordFlight(
  name: string,
  capture = FLIGHT,
  policy = FLIGHT_POLICY,
  speed = 'max',
): { dataDir: string; id: string } {
  const dataDir = mkdtempSync(join(tmpdir(), 'egress-evidence-'));
  const r = egress([
    'replay',
    capture,
    '--policy',
    policy,
    '--speed',
    speed,
    '--session',
    name,
    '--data-dir',
    dataDir,
    ...REPLAY_COMMON,
  ]);
  expect(r.code, r.stderr).toBe(0);
  return { dataDir, id: onlySession(dataDir) };
}

export function onlySession(dataDir: string): string {
  const ids = readdirSync(join(dataDir, 'sessions')).filter((n) => n !== 'open');
  expect(ids).toHaveLength(1);
  return ids[0];
}
