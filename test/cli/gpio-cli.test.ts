// `egress replay|run --gpio`: a bad GPIO choice is a usage error before
// anything starts (exit 2, EGRESS_GPIO_CONFIG_INVALID); a driver that cannot
// run here is logged with its code and the agent carries on without lights.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_CAPTURE, DEMO_POLICY } from '../support/browser.js';
import { egress } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'egress-gpio-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const replay = (...extra: string[]) =>
  egress([
    'replay',
    DEMO_CAPTURE,
    '--policy',
    DEMO_POLICY,
    '--speed',
    'max',
    '--linger',
    '5',
    '--data-dir',
    join(dir, 'data'),
    '--mqtt-port',
    '0',
    '--no-http',
    '--quiet',
    ...extra,
  ]);

describe('egress replay --gpio', () => {
  it('refuses pins it cannot use, before starting anything', () => {
    const r = replay('--gpio', 'sim', '--gpio-pins', 'green=17,red=17');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'egress: EGRESS_GPIO_CONFIG_INVALID: pins green and red both use line 17 (give each signal its own line)\n',
    );
    expect(r.stdout).toBe('');
  });

  it('runs on without lights when the driver cannot run here, and says why', () => {
    const r = replay('--gpio', 'sim', '--gpio-sim-socket', join(dir, 'missing', 'gpio.sock'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /egress: EGRESS_GPIO_UNAVAILABLE: the simulated GPIO cannot listen on \S+missing\/gpio\.sock: .*; running without lights\n/,
    );
    expect(r.stdout).toMatch(/^replayed \d+ packets; .* alerts: [1-9]/);
  });

  it('drives the simulated lights from the replayed alerts and logs its preflight', () => {
    const r = replay('--gpio', 'sim', '--gpio-sim-socket', join(dir, 'gpio.sock'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`GPIO signals: driver sim, button and lights on ${join(dir, 'gpio.sock')}`);
    expect(r.stderr).toContain('preflight: SKIP  capture       no live capture (replaying a file)');
  });
});
