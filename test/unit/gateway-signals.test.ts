// The glue of `egress run --gpio` (issue 11): GPIO options from flags and
// from the service's environment file (agent/src/cli/gpio-options.ts), the
// simulated driver's Unix socket another process presses the button on
// (hardware/src/gpio/sim-socket.ts), and the live preflight whose worst
// result drives the green light (agent/src/live/preflight.ts).

import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gpioChoice } from '../../agent/src/cli/gpio-options.js';
import { EgressError } from '../../agent/src/errors.js';
import type { LiveAgent } from '../../agent/src/live/agent.js';
import { livePreflight, preflightProblems } from '../../agent/src/live/preflight.js';
import { AgentSignals } from '../../agent/src/live/signals.js';
import { DEFAULT_PINS, SimGpioClient, SimGpioSocket, SimulatedGpio } from '../../hardware/src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'egress-signals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('GPIO options: flags, then EGRESS_GPIO* from egress.env, then the BCM defaults', () => {
  it('chooses nothing when neither the flag nor EGRESS_GPIO names a driver', () => {
    expect(gpioChoice({}, dir, {})).toBeNull();
    expect(gpioChoice({}, dir, { EGRESS_GPIO: '' })).toBeNull();
  });

  it('takes the driver, chip and pins from the environment; a flag wins; unnamed pins keep their default', () => {
    const env = { EGRESS_GPIO: 'cli', EGRESS_GPIO_CHIP: 'gpiochip4', EGRESS_GPIO_PINS: 'green=5, red=6' };
    expect(gpioChoice({}, dir, env)).toEqual({
      driver: 'cli',
      pins: { ...DEFAULT_PINS, chip: 'gpiochip4', green: 5, red: 6 },
      simSocket: join(dir, 'gpio-sim.sock'),
    });
    const flags = { gpio: 'sim', 'gpio-pins': 'button=25', 'gpio-sim-socket': '/run/x.sock' };
    expect(gpioChoice(flags, dir, env)).toEqual({
      driver: 'sim',
      pins: { ...DEFAULT_PINS, chip: 'gpiochip4', button: 25 },
      simSocket: '/run/x.sock',
    });
  });

  it.each([
    [{ gpio: 'pigpio' }, 'unknown GPIO driver "pigpio"'],
    [{ gpio: 'sim', 'gpio-pins': 'green=17,amber=17' }, 'both use line 17'],
    [{ gpio: 'sim', 'gpio-pins': 'blue=4' }, '"blue=4" is not NAME=LINE'],
    [{ gpio: 'sim', 'gpio-pins': 'red=-1' }, '"red=-1" is not NAME=LINE'],
    [{ gpio: 'sim', 'gpio-pins': 'red=600' }, 'pin red = 600 is not a line offset 0-511'],
    [{ gpio: 'sim', 'gpio-chip': 'chip;rm' }, 'is not a device name'],
  ])('refuses %o with EGRESS_GPIO_CONFIG_INVALID', (values, message) => {
    let err: unknown;
    try {
      gpioChoice(values, dir, {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EgressError);
    expect((err as EgressError).code).toBe('EGRESS_GPIO_CONFIG_INVALID');
    expect((err as EgressError).message).toContain(message);
  });
});

describe('the simulated GPIO on a Unix socket', () => {
  it('presses the button for another process and reports the outputs and their history', async () => {
    let t = 1000;
    const gpio = new SimulatedGpio(() => t);
    const edges: boolean[] = [];
    gpio.onButton((pressed) => edges.push(pressed));
    const path = join(dir, 'sim.sock');
    const socket = await SimGpioSocket.listen(gpio, path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const client = new SimGpioClient(path);
    await client.press();
    await client.release();
    expect(edges).toEqual([true, false]);
    gpio.write('red', true);
    t = 2000;
    gpio.write('buzzer', true);
    expect(await client.state()).toMatchObject({ green: false, red: true, buzzer: true, button_edges: 2 });
    expect(await client.history(1500)).toEqual([{ atMs: 2000, output: 'buzzer', on: true }]);
    expect(await client.request('flash red')).toMatch(/^error unknown request "flash red"/);
    expect(await client.request('history soon')).toMatch(/^error /);
    expect(socket.counters).toMatchObject({ connections: 6, requests: 6, errors: 2 });
    await socket.close();
    expect(() => statSync(path)).toThrow();
    await expect(client.state()).rejects.toThrow();
  });
});

describe('the live preflight', () => {
  const base = { gateway: 'gw1', dataDir: dir, gpio: 'sim', waitMs: 500 };
  /** A clock that moves on only when the preflight sleeps. */
  const fakeTime = () => {
    let t = 0;
    const sleep = async (ms: number) => {
      t += ms;
    };
    return { now: () => t, sleep };
  };

  it('judges capture and broker from the running agent, after waiting for them', async () => {
    let polls = 0;
    const r = await livePreflight({
      ...base,
      ...fakeTime(),
      capture: () => ({ running: ++polls > 3, interface: 'wlan0', packets: 0, error: null }),
      brokerConnected: () => true,
    });
    const byId = Object.fromEntries(r.checks.map((c) => [c.id, c]));
    expect(byId.capture).toMatchObject({ status: 'pass', summary: 'tcpdump is capturing on wlan0' });
    expect(byId.broker.status).toBe('pass');
    expect(byId.gpio).toMatchObject({ status: 'pass', facts: { driver: 'sim' } });
    expect(Object.keys(byId)).toEqual(['capture', 'broker', 'clock', 'geo', 'disk', 'evidence_key', 'gpio']);
    // No evidence key in this directory yet: a warning with its fix, so never better than warn.
    expect(byId.evidence_key.status).toBe('warn');
    expect(r.worst).not.toBe('pass');
    expect(preflightProblems(r)).toContain(
      `evidence_key: ${byId.evidence_key.summary} (fix: ${byId.evidence_key.fix})`,
    );
  });

  it('fails when tcpdump is not capturing by the deadline, warns when the broker is away', async () => {
    const r = await livePreflight({
      ...base,
      ...fakeTime(),
      capture: () => ({
        running: false,
        interface: 'wlan0',
        packets: 0,
        error: { message: 'wlan0: That device is not up' },
      }),
      brokerConnected: () => false,
    });
    expect(r.worst).toBe('fail');
    expect(r.checks[0]).toMatchObject({ id: 'capture', status: 'fail', summary: 'wlan0: That device is not up' });
    expect(r.checks[1]).toMatchObject({ id: 'broker', status: 'warn' });
    expect(preflightProblems(r)[0]).toMatch(/^capture: wlan0: That device is not up \(fix: run `egress selftest/);
  });

  it('stops waiting once the agent stops', async () => {
    const clock = fakeTime();
    let polls = 0;
    const r = await livePreflight({
      ...base,
      ...clock,
      capture: () => ({ running: false, interface: 'wlan0', packets: 0, error: null }),
      brokerConnected: () => false,
      cancelled: () => ++polls > 2,
    });
    expect(clock.now()).toBe(200); // two polls of 100 ms, not the whole 500 ms wait
    expect(r.checks[0]).toMatchObject({ id: 'capture', status: 'fail' });
  });

  it('skips the capture check when replaying a file', async () => {
    const r = await livePreflight({ ...base, ...fakeTime(), capture: () => null, brokerConnected: () => true });
    expect(r.checks[0]).toMatchObject({ id: 'capture', status: 'skip' });
  });
});

describe('the green light after the preflight: what the running agent reports', () => {
  /** The few members of the live agent the signals use; the preflight's capture and broker are fine. */
  const agent = () => {
    const a = { signals: null, session: null, statusPublished: 0, publishStatus: () => void a.statusPublished++ };
    return a;
  };
  const probe = {
    gateway: 'gw1',
    dataDir: dir,
    waitMs: 0,
    capture: () => ({ running: true, interface: 'wlan0', packets: 1, error: null }),
    brokerConnected: () => true,
  };

  it('goes off while the capture is down, warns during a gap or spool drops, and returns to the preflight result', async () => {
    const a = agent();
    const s = await AgentSignals.attach(a as unknown as LiveAgent, {
      driver: 'sim',
      pins: DEFAULT_PINS,
      log: () => {},
    });
    try {
      // Problems before the preflight has run are kept for it; the light stays unknown until then.
      s.running({ captureDown: null, captureGap: null, spool: 'spool full: 3 messages dropped' });
      expect(s.statusFields().preflight).toBe('');
      const report = await s.preflight(probe);
      // This directory has no evidence key: the preflight alone warns.
      expect(report.worst).toBe('warn');
      expect(s.statusFields().preflightProblems).toContain(
        'spool: spool full: 3 messages dropped (fix: check the broker connection and the disk)',
      );
      const own = s.statusFields().preflightProblems.filter((p) => !p.startsWith('spool:'));

      const published = a.statusPublished;
      s.running({ captureDown: 'tcpdump exited (status 1); restarting in 1 s', captureGap: null, spool: null });
      expect(s.statusFields()).toMatchObject({ preflight: 'fail' });
      expect(s.statusFields().preflightProblems).toEqual([
        ...own,
        'capture: tcpdump exited (status 1); restarting in 1 s (fix: the gateway is blind until tcpdump captures again)',
      ]);
      expect(s.adapter.outputs().green).toBe(false);
      expect(a.statusPublished).toBeGreaterThan(published); // the banner changed: the status goes out

      s.running({ captureDown: null, captureGap: 'capture incomplete: 12 packets dropped by the kernel', spool: null });
      expect(s.statusFields().preflight).toBe('warn');
      expect(s.statusFields().preflightProblems.at(-1)).toBe(
        'capture: capture incomplete: 12 packets dropped by the kernel (fix: no alert during the gap does not mean nothing was sent)',
      );

      // Fail-closed and the helper away: the gateway holds the traffic, the green light goes off.
      const held = 'traffic held: the block helper did not renew the watch of wlan0 (unreachable)';
      s.running({ captureDown: null, captureGap: null, spool: null, held });
      expect(s.statusFields()).toMatchObject({ preflight: 'fail' });
      expect(s.statusFields().preflightProblems.at(-1)).toBe(
        `block: ${held} (fix: start the block helper: systemctl restart egress-block)`,
      );
      expect(s.adapter.outputs().green).toBe(false);

      // Clean again: the preflight's own result and problems, nothing left of the running ones.
      s.running({ captureDown: null, captureGap: null, spool: null, held: null });
      expect(s.statusFields()).toMatchObject({ preflight: report.worst, preflightProblems: own });
    } finally {
      await s.close();
    }
  });
});
