// `egress tail` through main() in process against a real mosquitto with
// logins on, so mutation testing sees cli/tail.ts at work: each alert kind's
// line for people and as JSON, status, session and capture-gap lines with
// --status, the gateway filter, --count, a damaged payload skipped, where the
// token comes from, TLS, and the errors. The first message of each test is
// retained, so it reaches the subscription whenever it is made; the others
// are sent once it has been printed.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../agent/src/cli/main.js';
import { TAIL_USAGE } from '../../agent/src/cli/tail.js';
import { VIEWER_USER } from '../../agent/src/mqtt/broker.js';
import { egress, encodeAlert, type MessageContext } from '../../agent/src/mqtt/codec.js';
import { encodeLookupAlert } from '../../agent/src/mqtt/lookup-alert.js';
import { FlowApp } from '../../agent/src/names/flow-app.js';
import type { AlertRecord } from '../../agent/src/output/flow-record.js';
import type { LookupRecord } from '../../agent/src/policy/lookups.js';
import { spawnEgress } from '../support/cli.js';
import { capturedIo, egressIn } from '../support/cli-in.js';
import { freePort, Mosquitto } from '../support/mosquitto.js';

const pb = egress.v1;
const TOKEN = 'viewer-token-0123456789';
const broker = new Mosquitto({ tls: true, users: { [VIEWER_USER]: TOKEN, 'test-pub': 'pub-pw' } });
const dir = mkdtempSync(join(tmpdir(), 'egress-tail-in-'));
const tokenFile = join(dir, 'token');
let pub: MqttClient;
const T = 1_767_225_600_123_456; // 2026-01-01T00:00:00.123456Z

beforeAll(async () => {
  await broker.start();
  writeFileSync(tokenFile, `${TOKEN}\nsecond line ignored\n`);
  pub = connect(broker.url, { username: 'test-pub', password: 'pub-pw', reconnectPeriod: 0 });
  await new Promise<void>((resolve, reject) => {
    pub.once('connect', () => resolve());
    pub.once('error', reject);
  });
}, 30_000);

afterAll(async () => {
  pub?.end(true);
  await broker.stop();
});

type Msg = [topic: string, payload: Buffer];

function publish([topic, payload]: Msg, retain = false): Promise<void> {
  return new Promise((resolve, reject) =>
    pub.publish(topic, payload, { qos: 1, retain }, (e) => (e ? reject(e) : resolve())),
  );
}

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!ok()) throw new Error(`timed out waiting for ${what}`);
}

/** `egress tail ARGS`: `first` retained before it starts; `rest` sent once `first` is printed; until it exits. */
async function tail(
  args: string[],
  first: Msg,
  rest: Msg[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  await publish(first, true);
  const c = capturedIo();
  const exited = main(['tail', ...args], c.io);
  let code: number | null = null;
  void exited.then((c) => {
    code = c;
  });
  try {
    await until('the first message', () => c.stdout() !== '' || code !== null);
    for (const m of rest) await publish(m);
    await exited;
  } finally {
    await publish([first[0], Buffer.alloc(0)], true); // clear the retained message, with no subscriber left
  }
  return { code: code as unknown as number, stdout: c.stdout(), stderr: c.stderr() };
}

const topic = (gw: string, kind: string) => `egress/v1/${gw}/${kind}`;
const CLIENT = 0x0a000002 | 0; // 10.0.0.2
const SERVER = 0xcb007109 | 0; // 203.0.113.9

function flow(o: { proto?: 'TCP' | 'UDP' | 'ICMP'; geo?: boolean; noOrg?: boolean } = {}): FlowApp {
  const proto = o.proto ?? 'TCP';
  const ports = proto === 'ICMP' ? null : 1;
  const a = new FlowApp(7, ports && 40000, ports && 443, proto, false, CLIENT, 0, 0, 0, SERVER, 0, 0, 0);
  if (o.geo) {
    a.country = 'CN';
    a.asn = 37963;
    a.asOrg = o.noOrg ? '' : 'Hangzhou Alibaba';
    a.asCountry = 'CN';
  }
  return a;
}

function alert(
  gw: string,
  o: { names?: string[]; proto?: 'TCP' | 'UDP' | 'ICMP'; geo?: boolean; noOrg?: boolean; text?: string } = {},
): Msg {
  const a: AlertRecord = {
    tsUs: T,
    app: flow(o),
    names: o.names ?? ['b.example', 'a.example'],
    severity: 'high',
    reasons: ['deny_country', 'not_allowlisted'],
    text: o.text ?? 'Connects to a.example in China.',
  };
  const ctx: MessageContext = { gateway: gw, session: '', run: 'r1' };
  return [topic(gw, 'alert'), encodeAlert(a, ctx)];
}

function lookup(gw: string): Msg {
  const l: LookupRecord = {
    tsUs: T,
    app: new FlowApp(8, 53000, 53, 'UDP', false, CLIENT, 0, 0, 0, 0x0a000001 | 0, 0, 0, 0),
    name: 'flysafe-api.dji.com',
    rule: 'dji.com',
    severity: 'high',
    reasons: ['deny_domain'],
    text: 'Asked for flysafe-api.dji.com.',
  };
  return [topic(gw, 'alert'), encodeLookupAlert(l, { gateway: gw, session: '', run: 'r1' })];
}

const status = (gw: string, text: string): Msg => [
  topic(gw, 'status'),
  Buffer.from(pb.Status.encode(pb.Status.fromObject({ gateway: gw, ts_us: T, state: 3, text })).finish()),
];

function stats(gw: string, gaps: { start_us: number; end_us: number; cause: string; packets_dropped?: number }[]): Msg {
  const m = pb.Stats.fromObject({
    gateway: gw,
    ts_us: T,
    capture: {
      packets: 10,
      gaps: gaps.map((g) => ({
        start_us: g.start_us,
        end_us: g.end_us,
        cause: g.cause,
        ...(g.packets_dropped === undefined ? {} : { packets_dropped: g.packets_dropped }),
      })),
    },
  });
  return [topic(gw, 'stats'), Buffer.from(pb.Stats.encode(m).finish())];
}

const auth = ['--token-file', tokenFile];

describe('alerts as lines for people', () => {
  it('a connection alert with its network, a lookup alert, and the listening line on stderr', async () => {
    const r = await tail(
      ['--broker', broker.url, ...auth, '--gateway', 'gw-a', '--count', '2'],
      alert('gw-a', { geo: true }),
      [lookup('gw-a')],
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      '2026-01-01T00:00:00.123456Z  HIGH   gw-a  10.0.0.2:40000 -> 203.0.113.9:443 TCP  b.example,a.example  CN AS37963 Hangzhou Alibaba  [deny_country, not_allowlisted]\n' +
        '    Connects to a.example in China.\n' +
        '2026-01-01T00:00:00.123456Z  HIGH   gw-a  LOOKUP 10.0.0.2 asked 10.0.0.1:53 for flysafe-api.dji.com  [deny_domain]\n' +
        '    Asked for flysafe-api.dji.com.\n',
    );
    expect(r.stderr).toBe(`egress tail: listening on ${broker.url} for egress/v1/gw-a/alert\n`);
  });

  it('no names, no network and no ports: said so, nothing empty printed', async () => {
    const r = await tail(
      ['--broker', broker.url, ...auth, '--gateway', 'gw-b', '--count', '1'],
      alert('gw-b', { names: [], proto: 'ICMP' }),
    );
    expect(r.stdout).toBe(
      '2026-01-01T00:00:00.123456Z  HIGH   gw-b  10.0.0.2 -> 203.0.113.9 ICMP  (no name)  (unknown network)  [deny_country, not_allowlisted]\n' +
        '    Connects to a.example in China.\n',
    );
  });
});

describe('an AS without an organisation name', () => {
  it('leaves the name out instead of printing an empty field', async () => {
    const r = await tail(
      ['--broker', broker.url, ...auth, '--gateway', 'gw-m', '--count', '1'],
      alert('gw-m', { geo: true, noOrg: true }),
    );
    expect(r.stdout.split('\n')[0]).toContain(' b.example,a.example  CN AS37963  [deny_country, not_allowlisted]');
  });
});

describe('the process around it', () => {
  it('takes its SIGINT handler off when it ends', async () => {
    const before = process.listenerCount('SIGINT');
    const r = await tail(['--broker', broker.url, ...auth, '--gateway', 'gw-n', '--count', '1'], alert('gw-n'));
    expect(r.code).toBe(0);
    expect(process.listenerCount('SIGINT')).toBe(before);
  });

  it('Ctrl-C ends it with status 0 (the real command, in its own process)', async () => {
    const child = spawnEgress(['tail', '--broker', broker.url, ...auth, '--gateway', 'gw-o'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => child.once('exit', (c, s) => r([c, s])));
    try {
      await until('tail to listen', () => stderr.includes('listening on'));
      child.kill('SIGINT');
      const timeout = new Promise<string>((r) => setTimeout(() => r('still running 10 s after SIGINT'), 10_000));
      expect(await Promise.race([exited, timeout])).toEqual([0, null]);
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);

  it('keeps listening through a broker restart (a reconnect error after the first connection is not fatal)', async () => {
    const own = new Mosquitto({ users: { [VIEWER_USER]: TOKEN, 'test-pub': 'pub-pw' } });
    await own.start();
    const send = async (text: string) => {
      const p = connect(own.url, { username: 'test-pub', password: 'pub-pw', reconnectPeriod: 0 });
      await new Promise<void>((resolve, reject) => {
        p.once('connect', () => resolve());
        p.once('error', reject);
      });
      const [t, payload] = alert('gw-p', { text });
      await new Promise<void>((resolve, reject) =>
        p.publish(t, payload, { qos: 1, retain: true }, (e) => (e ? reject(e) : resolve())),
      );
      p.end(true);
    };
    try {
      await send('before');
      const c = capturedIo();
      const exited = main(['tail', '--broker', own.url, ...auth, '--gateway', 'gw-p', '--count', '2'], c.io);
      await until('the first alert', () => c.stdout().includes('before'));
      await own.stop();
      await new Promise((r) => setTimeout(r, 1500)); // at least one reconnect attempt fails
      await own.start();
      await send('after');
      expect(await exited).toBe(0);
      expect(c.stdout().match(/^ {4}\S+$/gm)).toEqual(['    before', '    after']);
    } finally {
      await own.stop();
    }
  }, 30_000);
});

describe('--count, --gateway and damaged payloads', () => {
  it('exits after exactly --count alerts; a damaged payload is reported on stderr and skipped', async () => {
    const r = await tail(
      ['--broker', broker.url, ...auth, '--gateway', 'gw-c', '--count', '2'],
      alert('gw-c', { text: 'one' }),
      [
        [topic('gw-c', 'alert'), Buffer.from([0xff, 0xff, 0xff])],
        alert('gw-c', { text: 'two' }),
        alert('gw-c', { text: 'three' }),
      ],
    );
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^ {4}\S+$/gm)).toEqual(['    one', '    two']);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^egress tail: EGRESS_[A-Z_]+: .+ \(topic egress\/v1\/gw-c\/alert\)$/);
  });

  it('without --gateway every gateway is heard; with it, only that one', async () => {
    const every = await tail(['--broker', broker.url, ...auth, '--count', '2'], alert('gw-d1', { text: 'd1' }), [
      alert('gw-d2', { text: 'd2' }),
    ]);
    expect(every.stdout.match(/^ {4}\S+$/gm)).toEqual(['    d1', '    d2']);
    expect(every.stderr).toBe(`egress tail: listening on ${broker.url} for egress/v1/+/alert\n`);
    const one = await tail(
      ['--broker', broker.url, ...auth, '--gateway', 'gw-e1', '--count', '2'],
      alert('gw-e1', { text: 'e1' }),
      [alert('gw-e2', { text: 'e2' }), alert('gw-e1', { text: 'e1b' })],
    );
    expect(one.stdout.match(/^ {4}\S+$/gm)).toEqual(['    e1', '    e1b']);
  });
});

describe('--status', () => {
  it('status, session and capture gaps as lines; a stats message without gaps prints nothing; only alerts count', async () => {
    const session = pb.Session.encode(
      pb.Session.fromObject({ id: 'gw-f-1', gateway: 'gw-f', name: 'n', state: 1, start_us: T }),
    ).finish();
    const r = await tail(
      ['--broker', broker.url, ...auth, '--gateway', 'gw-f', '--status', '--count', '1'],
      status('gw-f', 'capture stalled'),
      [
        [topic('gw-f', 'session'), Buffer.from(session)],
        stats('gw-f', []),
        stats('gw-f', [
          { start_us: T, end_us: T + 2_500_000, cause: 'kernel_drop', packets_dropped: 1 },
          { start_us: T, end_us: T + 1_000_000, cause: 'capture_restart' },
        ]),
        alert('gw-f', { text: 'last' }),
      ],
    );
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^status {2}gw-f: \{.*"text":"capture stalled".*\}$/);
    expect(lines[1]).toMatch(/^session gw-f: \{.*"id":"gw-f-1".*\}$/);
    expect(lines.slice(2, 4)).toEqual([
      'gap     gw-f: 1 packet dropped by the kernel between 00:00:00 and 00:00:02 UTC (2.5 s)',
      'gap     gw-f: capture restarted, blind between 00:00:00 and 00:00:01 UTC (1 s)',
    ]);
    expect(lines.slice(4)).toEqual([expect.stringContaining('  HIGH   gw-f  10.0.0.2:40000'), '    last']);
    expect(r.stderr).toBe(
      `egress tail: listening on ${broker.url} for egress/v1/gw-f/alert, egress/v1/gw-f/status, egress/v1/gw-f/session, egress/v1/gw-f/stats\n`,
    );
  });

  it('without --status, status messages are not subscribed to', async () => {
    const r = await tail(
      ['--broker', broker.url, ...auth, '--gateway', 'gw-g', '--count', '1'],
      alert('gw-g', { text: 'first' }),
      [status('gw-g', 'not shown'), alert('gw-g', { text: 'second' })],
    );
    expect(r.stdout).not.toContain('not shown');
    expect(r.stdout.match(/^ {4}\S+$/gm)).toEqual(['    first']);
  });
});

describe('--json', () => {
  it('one object a line: topic, kind and the alert’s own kind as alert_kind; gaps as capture_gap events; nothing on stderr', async () => {
    const r = await tail(
      ['--broker', broker.url, ...auth, '--gateway', 'gw-h', '--json', '--status', '--count', '2'],
      alert('gw-h', { geo: true }),
      [
        status('gw-h', 'degraded'),
        stats('gw-h', [{ start_us: T, end_us: T + 2_000_000, cause: 'kernel_drop', packets_dropped: 3 }]),
        lookup('gw-h'),
      ],
    );
    expect([r.code, r.stderr]).toEqual([0, '']);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    const [a, s, g, l] = lines.map((x) => JSON.parse(x));
    expect(a).toMatchObject({
      topic: 'egress/v1/gw-h/alert',
      kind: 'alert',
      alert_kind: 'connection',
      dest_ip: '203.0.113.9',
      dest: { country: 'CN', asn: 37963 },
    });
    expect(Object.keys(a).slice(0, 3)).toEqual(['topic', 'kind', 'alert_kind']);
    expect(s).toMatchObject({ topic: 'egress/v1/gw-h/status', kind: 'status', text: 'degraded' });
    expect(s).not.toHaveProperty('alert_kind');
    expect(lines[2]).toBe(
      '{"timestamp":"2026-01-01T00:00:02.123456Z","event_type":"capture_gap","start":"2026-01-01T00:00:00.123456Z","end":"2026-01-01T00:00:02.123456Z","cause":"kernel_drop","packets_dropped":3}',
    );
    expect(g.packets_dropped).toBe(3);
    expect(l).toMatchObject({ kind: 'alert', alert_kind: 'lookup', lookup_name: 'flysafe-api.dji.com' });
  });

  it('a gap of unknown size is packets_dropped null', async () => {
    const r = await tail(
      ['--broker', broker.url, ...auth, '--gateway', 'gw-i', '--json', '--status', '--count', '1'],
      stats('gw-i', [{ start_us: T, end_us: T + 1_000_000, cause: 'capture_restart' }]),
      [alert('gw-i')],
    );
    expect(JSON.parse(r.stdout.split('\n')[0])).toEqual({
      timestamp: '2026-01-01T00:00:01.123456Z',
      event_type: 'capture_gap',
      start: '2026-01-01T00:00:00.123456Z',
      end: '2026-01-01T00:00:01.123456Z',
      cause: 'capture_restart',
      packets_dropped: null,
    });
  });
});

describe('where the token comes from, and TLS', () => {
  const saved = process.env.EGRESS_DASHBOARD_TOKEN;
  afterAll(() => {
    if (saved === undefined) delete process.env.EGRESS_DASHBOARD_TOKEN;
    else process.env.EGRESS_DASHBOARD_TOKEN = saved;
  });

  it('the data directory’s token, under the viewer user', async () => {
    delete process.env.EGRESS_DASHBOARD_TOKEN;
    const data = mkdtempSync(join(tmpdir(), 'egress-tail-in-data-'));
    writeFileSync(join(data, 'secrets.json'), JSON.stringify({ dashboard: TOKEN }));
    const r = await tail(
      ['--broker', broker.url, '--data-dir', data, '--gateway', 'gw-j', '--count', '1'],
      alert('gw-j'),
    );
    expect(r.code, r.stderr).toBe(0);
  });

  it('EGRESS_DASHBOARD_TOKEN, and --username for another user', async () => {
    process.env.EGRESS_DASHBOARD_TOKEN = TOKEN;
    const r = await tail(
      ['--broker', broker.url, '--data-dir', dir, '--gateway', 'gw-k', '--count', '1'],
      alert('gw-k'),
    );
    expect(r.code, r.stderr).toBe(0);
    process.env.EGRESS_DASHBOARD_TOKEN = 'pub-pw';
    const u = await tail(
      ['--broker', broker.url, '--username', 'test-pub', '--data-dir', dir, '--gateway', 'gw-k2', '--count', '1'],
      alert('gw-k2'),
    );
    expect(u.code, u.stderr).toBe(0);
    delete process.env.EGRESS_DASHBOARD_TOKEN;
  });

  it('mqtts with --ca', async () => {
    const r = await tail(
      ['--broker', broker.tlsUrl, ...auth, '--ca', broker.tlsMaterial?.ca ?? '', '--gateway', 'gw-l', '--count', '1'],
      alert('gw-l'),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(`egress tail: listening on ${broker.tlsUrl} for egress/v1/gw-l/alert\n`);
  });
});

describe('errors', () => {
  const run = (args: string[]) => egressIn(['tail', ...args]);

  it('--help', async () => {
    expect(await run(['--help'])).toEqual({ code: 0, stdout: `${TAIL_USAGE}\n`, stderr: '' });
  });

  it('a wrong token, no token, or no broker: EGRESS_BROKER_UNAVAILABLE, exit 1', async () => {
    delete process.env.EGRESS_DASHBOARD_TOKEN;
    const wrong = join(dir, 'wrong');
    writeFileSync(wrong, `${TOKEN.slice(0, -1)}X\n`);
    expect(await run(['--broker', broker.url, '--token-file', wrong, '--count', '1'])).toEqual({
      code: 1,
      stdout: '',
      stderr: `egress: EGRESS_BROKER_UNAVAILABLE: cannot subscribe at ${broker.url}: Connection refused: Not authorized\n`,
    });
    const none = await run(['--broker', broker.url, '--data-dir', join(dir, 'empty'), '--count', '1']);
    expect(none.stderr).toBe(
      `egress: EGRESS_BROKER_UNAVAILABLE: cannot subscribe at ${broker.url}: Connection refused: Not authorized\n`,
    );
    const port = await freePort();
    const down = await run(['--broker', `mqtt://127.0.0.1:${port}`, ...auth, '--json', '--count', '1']);
    expect(down).toEqual({
      code: 1,
      stdout: '',
      stderr: `egress: EGRESS_BROKER_UNAVAILABLE: cannot subscribe at mqtt://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`,
    });
  });

  it.each([
    [
      ['--token', 'x'],
      2,
      'EGRESS_USAGE: --token would show the token to every user of this machine (ps, /proc); use --token-file FILE or EGRESS_DASHBOARD_TOKEN',
    ],
    [['--count', '0'], 2, 'EGRESS_USAGE: --count'],
    [
      ['--token-file', '/nonexistent/token'],
      2,
      'EGRESS_USAGE of /nonexistent/token: cannot read the token file /nonexistent/token: ENOENT',
    ],
    [['--ca', '/nonexistent/ca.pem'], 1, 'EGRESS_BROKER_UNAVAILABLE: cannot read --ca /nonexistent/ca.pem: ENOENT'],
    [['--cert', '/nonexistent/c.pem'], 1, 'EGRESS_BROKER_UNAVAILABLE: cannot read --cert /nonexistent/c.pem: ENOENT'],
    [['--key', '/nonexistent/k.pem'], 1, 'EGRESS_BROKER_UNAVAILABLE: cannot read --key /nonexistent/k.pem: ENOENT'],
  ])('%j: exit %i, %s', async (args, code, message) => {
    const r = await run(['--broker', 'mqtt://127.0.0.1:1', ...(args[0] === '--token-file' ? [] : auth), ...args]);
    expect([r.code, r.stdout]).toEqual([code, '']);
    expect(r.stderr.startsWith(`egress: ${message}`)).toBe(true);
  });
});
