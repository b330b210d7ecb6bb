// `egress replay` and `egress run` through main() in process, so mutation
// testing sees cli/live.ts at work (test/cli/ and test/live/ run the built
// binary): the alert lines replay prints are exactly the alerts `egress scan`
// finds in the same capture, with the summary line; what the log says (the
// gateway, policy and broker, the viewer login and where its token is kept,
// a flight started or resumed); --quiet; a capture cut short; messages left
// in the spool when no broker takes them; and every usage error.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPLAY_USAGE, RUN_USAGE } from '../../agent/src/cli/live.js';
import { main } from '../../agent/src/cli/main.js';
import { ROOT } from '../support/cli.js';
import { capturedIo, egressIn } from '../support/cli-in.js';
import { freePort } from '../support/mosquitto.js';

const FLIGHT = join(ROOT, 'scripts/demo-data/flight.pcap');
const POLICY = join(ROOT, 'scripts/demo-data/policy.yaml');
const TRUNCATED = join(ROOT, 'test/fixtures/bad/truncated-record/input.pcap');
const tmp = mkdtempSync(join(tmpdir(), 'egress-live-in-'));
const common = ['--no-http', '--mqtt-port', '0', '--linger', '2', '--gateway', 'gw-in'];
let runs = 0;
const freshDir = () => join(tmp, `d${++runs}`);

/** The alert lines replay prints for `scan`'s alert events, and scan's counts. */
async function fromScan(file: string, policy: string[]) {
  const r = await egressIn(['scan', file, ...policy, '--format', 'ndjson']);
  const ev = r.stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  const port = (p: number | undefined) => (p === undefined ? '' : `:${p}`);
  const alerts = ev
    .filter((e) => e.event_type === 'alert')
    .map(
      (e) =>
        `${e.timestamp} ALERT ${e.alert.severity.toUpperCase()} ${e.src_ip}${port(e.src_port)} -> ` +
        `${e.dest_ip}${port(e.dest_port)} ${e.proto} [${e.alert.reasons.join(', ')}] ${e.alert.text}\n`,
    );
  const stats = ev.at(-1);
  return { alerts, packets: stats.packets as number, flows: ev.filter((e) => e.event_type === 'flow').length };
}

/** `replay FILE` as fast as it goes, alerts not printed. */
const quietReplay = (file: string, ...more: string[]) => ['replay', file, '--speed', 'max', '--quiet', ...more];

/** The line replay ends with, for what scan found. */
const summary = (w: { packets: number; flows: number; alerts: string[] }) =>
  `replayed ${w.packets} packets; flows: ${w.flows} to the internet, 0 local; alerts: ${w.alerts.length}\n`;

const logLines = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.replace(/^\S+Z egress: /, ''));

describe('replay prints what it judges', () => {
  it('every alert scan finds, one line each in scan’s order, then the summary; the log names gateway, policy, broker and login', async () => {
    const want = await fromScan(FLIGHT, ['--policy', POLICY]);
    expect(want.alerts.length).toBeGreaterThan(5);
    const dir = freshDir();
    const r = await egressIn(['replay', FLIGHT, '--policy', POLICY, '--speed', 'max', '--data-dir', dir, ...common]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${want.alerts.join('')}${summary(want)}`);
    const log = logLines(r.stderr);
    expect(log[0]).toMatch(
      new RegExp(
        `^gateway gw-in, policy profile default \\+ profile dji \\+ ${POLICY}, broker mqtt://127\\.0\\.0\\.1:\\d+$`,
      ),
    );
    const token = JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8')).dashboard;
    expect(log[1]).toBe(
      `viewer login for the dashboard and \`egress tail\`: user egress-viewer, token ${token} (kept in ${dir}/secrets.json)`,
    );
    expect(r.stderr).not.toContain('dashboard:');
    expect(r.stderr).not.toContain('stay in the spool');
    expect(r.stderr).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z egress: gateway /);
  }, 60_000);

  it('--quiet: only the summary; a paced replay judges the same', async () => {
    const want = await fromScan(FLIGHT, ['--policy', POLICY]);
    const r = await egressIn([
      'replay',
      FLIGHT,
      '--policy',
      POLICY,
      '--speed',
      '2000',
      '--quiet',
      '--data-dir',
      freshDir(),
      ...common,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(summary(want));
  }, 60_000);

  it('the token from EGRESS_DASHBOARD_TOKEN is not stored, and the log says so', async () => {
    const saved = process.env.EGRESS_DASHBOARD_TOKEN;
    process.env.EGRESS_DASHBOARD_TOKEN = 'env-token-0123456789abcdef';
    try {
      const r = await egressIn(quietReplay(FLIGHT, '--data-dir', freshDir(), ...common));
      expect(r.code, r.stderr).toBe(0);
      expect(logLines(r.stderr)[1]).toBe(
        'viewer login for the dashboard and `egress tail`: user egress-viewer, token env-token-0123456789abcdef (from EGRESS_DASHBOARD_TOKEN, not stored: give `egress tail` the same variable or a --token-file)',
      );
    } finally {
      if (saved === undefined) delete process.env.EGRESS_DASHBOARD_TOKEN;
      else process.env.EGRESS_DASHBOARD_TOKEN = saved;
    }
  }, 60_000);
});

describe('replay leaves the process as it found it', () => {
  it('its SIGINT and SIGTERM handlers are gone when it ends, normally or with a capture it cannot read', async () => {
    const before = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
    const r = await egressIn(quietReplay(FLIGHT, '--data-dir', freshDir(), ...common));
    expect(r.code, r.stderr).toBe(0);
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(before);
    const notPcap = join(tmp, 'not-a-capture.pcap');
    writeFileSync(notPcap, 'this is not a capture file at all');
    const bad = await egressIn(quietReplay(notPcap, '--data-dir', freshDir(), ...common));
    expect(bad.code).not.toBe(0);
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(before);
  }, 60_000);
});

describe('replay with --session', () => {
  it('starts a flight and ends it at the end; with a flight already open, resumes and ends that one', async () => {
    const dir = freshDir();
    const r = await egressIn(quietReplay(FLIGHT, '--session', 'first', '--data-dir', dir, ...common));
    expect(r.code, r.stderr).toBe(0);
    const ids = () => readdirSync(join(dir, 'sessions')).filter((n) => n !== 'open');
    expect(ids()).toHaveLength(1);
    expect(logLines(r.stderr)).toContain(`flight ${ids()[0]} ("first") started`);
    const list = await egressIn(['session', 'list', '--json', '--data-dir', dir]);
    expect(JSON.parse(list.stdout)).toMatchObject({ id: ids()[0], name: 'first', state: 'closed' });

    const open = await egressIn(['session', 'start', '--name', 'already', '--gateway', 'gw-in', '--data-dir', dir]);
    const openId = open.stdout.match(/^flight (\S+) started/)?.[1];
    const again = await egressIn(quietReplay(FLIGHT, '--session', 'second', '--data-dir', dir, ...common));
    expect(again.code, again.stderr).toBe(0);
    expect(logLines(again.stderr)).toContain(`flight ${openId} resumed; --session "second" ends it at stop`);
    const states = (await egressIn(['session', 'list', '--json', '--data-dir', dir])).stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l))
      .map((s) => [s.name, s.state]);
    expect(states.sort()).toEqual([
      ['already', 'closed'],
      ['first', 'closed'],
    ]);
  }, 60_000);
});

describe('replay when things go wrong', () => {
  it('a capture cut short: every complete record judged, the summary, then the code and offset; exit 3', async () => {
    const want = await fromScan(TRUNCATED, []);
    expect(want.packets).toBeGreaterThan(0);
    const r = await egressIn(['replay', TRUNCATED, '--speed', 'max', '--data-dir', freshDir(), ...common]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe(`${want.alerts.join('')}${summary(want)}`);
    expect(r.stderr).toMatch(/\negress: EGRESS_PCAP_TRUNCATED at byte \d+ of [^\n]+\n$/);
  }, 60_000);

  it('no broker takes the messages: the log says how many stay in the spool, exit 1', async () => {
    const port = await freePort();
    const r = await egressIn(
      quietReplay(
        FLIGHT,
        '--broker',
        `mqtt://127.0.0.1:${port}`,
        '--no-http',
        '--linger',
        '1',
        '--gateway',
        'gw-in',
        '--data-dir',
        freshDir(),
      ),
    );
    expect(r.code).toBe(1);
    const log = logLines(r.stderr);
    const pending = log.find((l) => l.startsWith('waiting up to 1 s for the broker to take '));
    expect(pending).toMatch(/^waiting up to 1 s for the broker to take \d+ spooled messages$/);
    expect(log.at(-1)).toMatch(/^\d+ messages stay in the spool; they are sent on the next start$/);
  }, 60_000);

  it('an unreadable capture fails before anything starts: EGRESS_INPUT_UNREADABLE, exit 1', async () => {
    const missing = join(tmp, 'missing.pcap');
    expect(await egressIn(['replay', missing, '--data-dir', freshDir(), ...common])).toEqual({
      code: 1,
      stdout: '',
      stderr: `egress: EGRESS_INPUT_UNREADABLE of ${missing}: cannot read ${missing}: ENOENT\n`,
    });
  });

  it.each([
    [['replay'], 'replay takes exactly one FILE'],
    [['replay', FLIGHT, FLIGHT], 'replay takes exactly one FILE'],
    [['replay', FLIGHT, '--linger=-1'], '--linger must be a number ≥ 0, got "-1"'],
    [['replay', FLIGHT, '--linger', 'soon'], '--linger must be a number ≥ 0, got "soon"'],
    [['run'], 'run takes --interface IF and no other arguments'],
    [['run', '-i', 'lo', 'extra'], 'run takes --interface IF and no other arguments'],
  ])('%j: EGRESS_USAGE, exit 2', async (args, why) => {
    const r = await egressIn([...args, '--data-dir', freshDir(), '--no-http', '--mqtt-port', '0']);
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr.startsWith(`egress: EGRESS_USAGE: ${why}\n`)).toBe(true);
  });

  it('replay --linger 0 is allowed (no wait)', async () => {
    const r = await egressIn(
      quietReplay(FLIGHT, '--linger', '0', '--no-http', '--mqtt-port', '0', '--data-dir', freshDir()),
    );
    expect([r.code, r.stderr.includes('EGRESS_USAGE')]).toEqual([expect.any(Number), false]);
  }, 60_000);

  it('run with an interface tcpdump cannot take: the agent is stopped, EGRESS_CAPTURE_CONFIG_INVALID, exit 2', async () => {
    const r = await egressIn([
      'run',
      '-i',
      'not an interface',
      '--data-dir',
      freshDir(),
      '--no-http',
      '--mqtt-port',
      '0',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\negress: EGRESS_CAPTURE_CONFIG_INVALID: [^\n]+\n$/);
  }, 30_000);

  it.each([
    ['run', RUN_USAGE],
    ['replay', REPLAY_USAGE],
  ])('%s --help', async (cmd, usage) => {
    expect(await egressIn([cmd, '--help'])).toEqual({ code: 0, stdout: `${usage}\n`, stderr: '' });
  });
});

/** main() running until `ready` shows in its log, then SIGTERM (the process's own handlers are only the command's). */
async function runUntil(args: string[], ready: (log: string) => boolean) {
  const c = capturedIo();
  const exited = main(args, c.io);
  let code: number | null = null;
  void exited.then((n) => {
    code = n;
  });
  for (let i = 0; i < 600 && !ready(c.stderr()) && code === null; i++) await new Promise((r) => setTimeout(r, 50));
  expect(ready(c.stderr()), c.stderr()).toBe(true);
  process.emit('SIGTERM');
  return { code: await exited, stdout: c.stdout(), stderr: c.stderr() };
}

describe('run, --loop and the log around them (in process, stopped by SIGTERM)', () => {
  it('run: tcpdump with the interface, buffer, filter and the agent’s own ports left out; where it captures; stops with 0', async () => {
    const tcpdump = execFileSync('sh', ['-c', 'command -v tcpdump'], { encoding: 'utf8' }).trim();
    const r = await runUntil(
      [
        'run',
        '-i',
        'lo',
        '--tcpdump',
        tcpdump,
        '--capture-buffer',
        '4096',
        '--filter',
        'udp port 9',
        '--clean-interval',
        '7',
        '--mqtt-port',
        '0',
        '--http',
        '127.0.0.1:0',
        '--gateway',
        'gw-in',
        '--data-dir',
        freshDir(),
      ],
      (log) => log.includes('capturing on lo'),
    );
    expect(r.code, r.stderr).toBe(0);
    const log = logLines(r.stderr);
    const broker = log[0].match(/broker mqtt:\/\/127\.0\.0\.1:(\d+)$/)?.[1];
    const http = log.find((l) => l.startsWith('dashboard: '))?.match(/^dashboard: http:\/\/127\.0\.0\.1:(\d+)\//)?.[1];
    expect([broker, http]).toEqual([expect.stringMatching(/^\d+$/), expect.stringMatching(/^\d+$/)]);
    const start = log.find((l) => l.startsWith('starting capture: ')) ?? '';
    expect(start.startsWith(`starting capture: ${tcpdump} `)).toBe(true);
    for (const part of [
      '-i lo',
      '-B 4096',
      'udp port 9',
      `host 127.0.0.1 and src port ${broker})`,
      `host 127.0.0.1 and dst port ${http})`,
    ])
      expect(start, part).toContain(part);
    expect(log).toContainEqual(expect.stringMatching(/^capturing on lo \(\S+\), tcpdump pid \d+$/));
    expect(log.at(-1)).toBe('stopping: finishing open flows');
    expect(r.stdout).toBe('');
  }, 60_000);

  it('replay --loop starts over, says which pass, and on SIGTERM prints the summary marked stopped and exits 0 at once', async () => {
    const r = await runUntil(
      ['replay', FLIGHT, '--loop', '--speed', 'max', '--quiet', '--data-dir', freshDir(), ...common],
      (log) => log.includes('replay starts over (pass 3)'),
    );
    expect(r.code, r.stderr).toBe(0);
    const log = logLines(r.stderr);
    expect(log.filter((l) => l.startsWith('replay starts over')).slice(0, 2)).toEqual([
      'replay starts over (pass 2)',
      'replay starts over (pass 3)',
    ]);
    expect(r.stdout).toMatch(/^replayed \d+ packets \(stopped\); flows: /);
    expect(r.stderr).not.toContain('waiting up to');
  }, 60_000);

  it('the dashboard address with its token, and whether the dashboard is built', async () => {
    const dir = freshDir();
    const r = await egressIn(
      quietReplay(FLIGHT, '--http', '127.0.0.1:0', '--mqtt-port', '0', '--linger', '1', '--data-dir', dir),
    );
    expect(r.code, r.stderr).toBe(0);
    const token = JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8')).dashboard;
    const built = existsSync(join(ROOT, 'dashboard/dist/index.html'));
    expect(logLines(r.stderr)).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^dashboard: http://127\\.0\\.0\\.1:\\d+/\\?token=${encodeURIComponent(token)} \\(MQTT over WebSocket at /mqtt\\)${built ? '' : '; not built yet: run pnpm build'}$`,
        ),
      ),
    );
  }, 60_000);

  it('messages left by an earlier run are sent on the next start, and the log says how many', async () => {
    const dir = freshDir();
    const port = await freePort();
    const first = await egressIn(
      quietReplay(
        FLIGHT,
        '--broker',
        `mqtt://127.0.0.1:${port}`,
        '--no-http',
        '--linger',
        '0',
        '--gateway',
        'gw-in',
        '--data-dir',
        dir,
      ),
    );
    expect(first.code).toBe(1);
    const left = Number(
      logLines(first.stderr)
        .at(-1)
        ?.match(/^(\d+) messages stay in the spool/)?.[1],
    );
    expect(left).toBeGreaterThan(0);
    const second = await egressIn(quietReplay(FLIGHT, '--data-dir', dir, ...common));
    expect(second.code, second.stderr).toBe(0);
    expect(logLines(second.stderr)).toContain(`${left} messages from an earlier run are in the spool; sending`);
    const third = await egressIn(quietReplay(FLIGHT, '--data-dir', freshDir(), ...common));
    expect(third.stderr).not.toContain('from an earlier run');
  }, 60_000);
});
