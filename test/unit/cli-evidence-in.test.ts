// `egress session`, `export`, `verify` and `key` through main() in process,
// so mutation testing sees cli/session.ts and cli/evidence.ts at work
// (test/evidence/ runs the built binary): sessions on the data directory when
// no agent runs; start and end sent to a running agent over a real mosquitto
// (the test answers as the agent would, and sees exactly what was sent); the
// bundle's export line, verify's three outcomes, and every usage error.

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import { connect, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPORT_USAGE, KEY_USAGE, VERIFY_USAGE } from '../../agent/src/cli/evidence.js';
import { SESSION_USAGE } from '../../agent/src/cli/session.js';
import { VIEWER_USER } from '../../agent/src/mqtt/broker.js';
import { encodeCommandReply } from '../../agent/src/mqtt/codec-control.js';
import { decodeCommand } from '../../agent/src/mqtt/codec-decode.js';
import { egressIn } from '../support/cli-in.js';
import { freePort, Mosquitto } from '../support/mosquitto.js';

const dir = mkdtempSync(join(tmpdir(), 'egress-evidence-in-'));
const d = ['--data-dir', dir];

describe('help and usage errors', () => {
  it.each([
    ['session', SESSION_USAGE],
    ['export', EXPORT_USAGE],
    ['verify', VERIFY_USAGE],
    ['key', KEY_USAGE],
  ])('%s --help prints its usage on stdout and exits 0', async (cmd, usage) => {
    for (const flag of ['--help', '-h']) {
      const r = await egressIn([cmd, flag]);
      expect([r.code, r.stdout, r.stderr]).toEqual([0, `${usage}\n`, '']);
    }
  });

  it.each([
    [['session'], 'session takes start, end or list', SESSION_USAGE],
    [['session', 'pause'], 'session takes start, end or list', SESSION_USAGE],
    [['session', 'list', 'all'], 'session takes start, end or list', SESSION_USAGE],
    [['export'], 'export takes one SESSION and --out FILE', EXPORT_USAGE],
    [['export', 'gw-1'], 'export takes one SESSION and --out FILE', EXPORT_USAGE],
    [['export', 'gw-1', 'gw-2', '--out', 'x.zip'], 'export takes one SESSION and --out FILE', EXPORT_USAGE],
    [['verify'], 'verify takes one bundle', VERIFY_USAGE],
    [['verify', 'a.zip', 'b.zip'], 'verify takes one bundle', VERIFY_USAGE],
    [['key'], 'key takes "export"', KEY_USAGE],
    [['key', 'import'], 'key takes "export"', KEY_USAGE],
    [['key', 'export', 'now'], 'key takes "export"', KEY_USAGE],
  ])('%j: EGRESS_USAGE with the reason and the usage, exit 2', async (args, why, usage) => {
    const r = await egressIn(args[0] === 'verify' ? args : [...args, ...d]);
    expect([r.code, r.stdout, r.stderr]).toEqual([2, '', `egress: EGRESS_USAGE: ${why}\n${usage}\n`]);
  });

  it('verify: an unreadable bundle or key file is EGRESS_INPUT_UNREADABLE (exit 1), a key that is not one is a usage error', async () => {
    const missing = join(dir, 'missing.zip');
    const r = await egressIn(['verify', missing]);
    expect([r.code, r.stderr]).toEqual([
      1,
      `egress: EGRESS_INPUT_UNREADABLE of ${missing}: cannot read ${missing}: ENOENT\n`,
    ]);
    const k = await egressIn(['verify', missing, '--pubkey', join(dir, 'missing.pem')]);
    expect(k.stderr).toBe(
      `egress: EGRESS_INPUT_UNREADABLE of ${join(dir, 'missing.pem')}: cannot read ${join(dir, 'missing.pem')}: ENOENT\n`,
    );
    const notKey = join(dir, 'not-a-key.pem');
    writeFileSync(notKey, 'hello\n');
    const n = await egressIn(['verify', missing, '--pubkey', notKey]);
    expect([n.code, n.stderr]).toEqual([
      2,
      `egress: EGRESS_USAGE: --pubkey ${notKey} is not an Ed25519 public key (PEM)\n`,
    ]);
  });
});

describe('sessions on the data directory when no agent runs', () => {
  let id = '';
  let fingerprint = '';
  let pem = '';

  it('key export before any key: EGRESS_KEY_MISSING, exit 1', async () => {
    const r = await egressIn(['key', 'export', ...d]);
    expect([r.code, r.stdout]).toEqual([1, '']);
    expect(r.stderr).toMatch(/^egress: EGRESS_KEY_MISSING of .*keys\/evidence-ed25519\.pem: no evidence key in /);
  });

  it('list of an empty data directory prints nothing; end with none open is refused', async () => {
    expect(await egressIn(['session', 'list', ...d])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await egressIn(['session', 'list', '--json', ...d])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await egressIn(['session', 'end', ...d])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'egress: EGRESS_SESSION_STATE: no flight is open\n',
    });
  });

  it('start records the name, the gateway and every operator field; a second start is refused', async () => {
    const r = await egressIn([
      'session',
      'start',
      '--name',
      'bridge inspection',
      '--unit',
      'Team Noord',
      '--drone-serial',
      'DR-1',
      '--controller-serial',
      'RC-2',
      '--mission-ref',
      'M-3',
      '--gateway',
      'gw-in',
      ...d,
    ]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    id =
      r.stdout.match(
        /^flight (gw-in-\S+) started \(no agent running: it resumes this flight when it starts\)\n$/,
      )?.[1] ?? '';
    expect(id).not.toBe('');
    const again = await egressIn(['session', 'start', '--gateway', 'gw-in', ...d]);
    expect([again.code, again.stderr]).toEqual([
      1,
      `egress: EGRESS_SESSION_STATE: flight ${id} is already open; end it first\n`,
    ]);
  });

  it('list shows it open, as text and as JSON with the operator fields', async () => {
    const text = await egressIn(['session', 'list', ...d]);
    expect(text.stdout).toMatch(new RegExp(`^${id}  open    \\d{4}-\\d\\d-\\d\\dT\\S+Z  -  bridge inspection\\n$`));
    const json = await egressIn(['session', 'list', '--json', ...d]);
    const lines = json.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({
      id,
      name: 'bridge inspection',
      gateway: 'gw-in',
      state: 'open',
      end: null,
      operator: { unit: 'Team Noord', drone_serial: 'DR-1', controller_serial: 'RC-2', mission_ref: 'M-3' },
    });
  });

  it('key export prints the PEM on stdout and its fingerprint on stderr', async () => {
    const k = await egressIn(['key', 'export', ...d]);
    expect(k.code).toBe(0);
    expect(k.stdout).toMatch(/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=]+\n-----END PUBLIC KEY-----\n$/);
    fingerprint = k.stderr.match(/^fingerprint \(SHA-256 of the DER key\): ([0-9a-f]{64})\n$/)?.[1] ?? '';
    expect(fingerprint).not.toBe('');
    pem = join(dir, 'gateway.pem');
    writeFileSync(pem, k.stdout);
  });

  it('export of the open flight is refused; end closes it, list says so', async () => {
    const early = await egressIn(['export', id, '--out', join(dir, 'early.zip'), ...d]);
    expect([early.code, early.stderr]).toEqual([
      1,
      `egress: EGRESS_SESSION_STATE: flight ${id} is still open; end it first (egress session end)\n`,
    ]);
    expect(await egressIn(['session', 'end', '--gateway', 'gw-in', ...d])).toEqual({
      code: 0,
      stdout: `flight ${id} ended\n`,
      stderr: '',
    });
    const text = await egressIn(['session', 'list', ...d]);
    expect(text.stdout).toMatch(new RegExp(`^${id}  closed  \\S+Z  \\S+Z  bridge inspection\\n$`));
  });

  it('export writes a bundle and says what it holds and who signed it (no capture: the statement is refused)', async () => {
    const out = join(dir, 'bundle.zip');
    const r = await egressIn(['export', id, '-o', out, ...d]);
    const files = Object.keys(unzipSync(readFileSync(out)));
    const records = readFileSync(join(dir, 'sessions', id, 'events.ndjson'), 'utf8')
      .trimEnd()
      .split('\n').length;
    expect(r).toEqual({
      code: 0,
      stdout: `exported ${id} to ${out}: ${files.length} files, ${records} records, signed by ${fingerprint}; statement: no egress observed (refused)\n`,
      stderr: '',
    });
  });

  it('verify: intact with and without the gateway key', async () => {
    const out = join(dir, 'bundle.zip');
    const withKey = await egressIn(['verify', out, '--pubkey', pem]);
    expect([withKey.code, withKey.stderr]).toEqual([0, '']);
    expect(withKey.stdout).toMatch(/^[^\n]*intact[^\n]*\n$/i);
    expect(withKey.stdout).not.toContain('compare this fingerprint');
    const bare = await egressIn(['verify', out]);
    expect(bare).toEqual({
      code: 0,
      stdout: `${withKey.stdout.trimEnd()} (the key in the bundle: compare this fingerprint with the gateway's, or give --pubkey)\n`,
      stderr: '',
    });
  });

  it('verify: one problem and several, each on stdout, counted on stderr (exit 1)', async () => {
    const files = unzipSync(readFileSync(join(dir, 'bundle.zip')));
    const write = (name: string, change: (f: Record<string, Uint8Array>) => void) => {
      const copy: Record<string, Uint8Array> = {};
      for (const [k, v] of Object.entries(files)) copy[k] = new Uint8Array(v);
      change(copy);
      const file = join(dir, name);
      writeFileSync(file, zipSync(copy));
      return file;
    };
    const one = write('one.zip', (f) => {
      flip(f['flows.csv']);
    });
    const r1 = await egressIn(['verify', one, '--pubkey', pem]);
    expect(r1).toEqual({
      code: 1,
      stdout: 'altered: flows.csv (sha256 differs from the manifest)\n',
      stderr: `egress: EGRESS_BUNDLE_TAMPERED of ${one}: 1 problem\n`,
    });
    const two = write('two.zip', (f) => {
      flip(f['flows.csv']);
      flip(f['report.html']);
    });
    const r2 = await egressIn(['verify', two, '--pubkey', pem]);
    expect(r2.code).toBe(1);
    const shown = r2.stdout.trimEnd().split('\n');
    expect(shown).toEqual(
      expect.arrayContaining([
        'altered: flows.csv (sha256 differs from the manifest)',
        'altered: report.html (sha256 differs from the manifest)',
      ]),
    );
    expect(r2.stderr).toBe(`egress: EGRESS_BUNDLE_TAMPERED of ${two}: ${shown.length} problems\n`);
  });

  it('verify: not a bundle is EGRESS_BUNDLE_INVALID, exit 2, nothing on stdout', async () => {
    const junk = join(dir, 'junk.zip');
    writeFileSync(junk, 'not a zip at all');
    const r = await egressIn(['verify', junk]);
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toMatch(new RegExp(`^egress: EGRESS_BUNDLE_INVALID of ${junk}: not a bundle: [^\\n]+\\n$`));
  });

  it('the data directory comes from EGRESS_DATA_DIR when --data-dir is not given', async () => {
    const saved = process.env.EGRESS_DATA_DIR;
    process.env.EGRESS_DATA_DIR = dir;
    try {
      const list = await egressIn(['session', 'list']);
      expect(list.stdout.startsWith(`${id}  closed`)).toBe(true);
      const out = join(dir, 'env.zip');
      expect((await egressIn(['export', id, '--out', out])).code).toBe(0);
      expect((await egressIn(['key', 'export'])).stderr).toContain(fingerprint);
    } finally {
      if (saved === undefined) delete process.env.EGRESS_DATA_DIR;
      else process.env.EGRESS_DATA_DIR = saved;
    }
  });
});

describe('an export whose flight saw egress carries no "no egress" statement', () => {
  it('one connection recorded: the line ends after the fingerprint', async () => {
    const { recordFlight } = await import('../evidence/flight.js');
    const f = recordFlight('with egress');
    const out = join(f.dataDir, 'b.zip');
    const r = await egressIn(['export', f.id, '--out', out, '--data-dir', f.dataDir]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(
      new RegExp(`^exported ${f.id} to ${out}: \\d+ files, \\d+ records, signed by [0-9a-f]{64}\\n$`),
    );
  }, 60_000);
});

/** A running agent, as `egress session` sees one: a live process holding DATA_DIR/spool/lock, and its broker. */
describe('start and end sent to a running agent over MQTT', () => {
  const token = `tok-${randomBytes(8).toString('hex')}`;
  const broker = new Mosquitto({ users: { [VIEWER_USER]: token, 'test-agent': 'agent-pw' } });
  const agentDir = mkdtempSync(join(tmpdir(), 'egress-evidence-in-agent-'));
  const gw = 'gw-cmd';
  let holder: ChildProcess;
  let agent: MqttClient;
  /** What the test answers next: ok, or a refusal; `silent` answers nothing. */
  let answer: { ok: boolean; message: string } | 'silent' = { ok: true, message: '' };
  const received: {
    topic: string;
    qos: number;
    id: string;
    verb: string;
    token: string;
    args: Record<string, string>;
  }[] = [];
  const a = () => ['--data-dir', agentDir, '--gateway', gw, '--broker', broker.url];

  beforeAll(async () => {
    await broker.start();
    holder = spawn('sleep', ['120'], { stdio: 'ignore' });
    mkdirSync(join(agentDir, 'spool'), { recursive: true });
    writeFileSync(join(agentDir, 'spool', 'lock'), String(holder.pid));
    writeFileSync(join(agentDir, 'secrets.json'), JSON.stringify({ dashboard: token }));
    agent = connect(broker.url, { username: 'test-agent', password: 'agent-pw', reconnectPeriod: 0 });
    await new Promise<void>((resolve, reject) => {
      agent.once('connect', () =>
        agent.subscribe(`egress/v1/${gw}/cmd/+`, { qos: 1 }, (err) => (err ? reject(err) : resolve())),
      );
      agent.once('error', reject);
    });
    agent.on('message', (topic, payload, packet) => {
      const c = decodeCommand(payload);
      received.push({ topic, qos: packet.qos, id: c.id, verb: c.verb, token: c.token, args: { ...c.args } });
      if (answer === 'silent') return;
      const reply = `egress/v1/${gw}/reply/${c.verb}`;
      // Another client's reply first: the command must wait for its own id.
      agent.publish(reply, encodeCommandReply({ id: 'someone-else', ok: false, code: 'X', message: 'not yours' }), {
        qos: 1,
      });
      agent.publish(
        reply,
        encodeCommandReply({
          id: c.id,
          ok: answer.ok,
          code: answer.ok ? '' : 'EGRESS_SESSION_STATE',
          message: answer.message,
        }),
        { qos: 1 },
      );
    });
  }, 30_000);

  afterAll(async () => {
    agent?.end(true);
    holder?.kill('SIGKILL');
    await broker.stop();
  });

  it('start: the command carries the token, the name and only the operator fields given; the agent’s answer is printed', async () => {
    answer = { ok: true, message: 'flight gw-cmd-1 started' };
    received.length = 0;
    const r = await egressIn(['session', 'start', '--name', 'night', '--unit', 'U1', '--mission-ref', 'M9', ...a()]);
    expect(r).toEqual({ code: 0, stdout: 'flight gw-cmd-1 started\n', stderr: '' });
    expect(received).toEqual([
      {
        topic: `egress/v1/${gw}/cmd/start_flight`,
        qos: 1, // sent at least once: the agent must not miss a flight start
        id: expect.stringMatching(/^[0-9a-f]{12}$/),
        verb: 'start_flight',
        token,
        args: { name: 'night', unit: 'U1', mission_ref: 'M9' },
      },
    ]);
  });

  it('start without a name sends an empty one, and every operator field when all are given', async () => {
    answer = { ok: true, message: 'started' };
    received.length = 0;
    const r = await egressIn([
      'session',
      'start',
      '--drone-serial',
      'D',
      '--controller-serial',
      'C',
      '--unit',
      'U',
      '--mission-ref',
      'M',
      ...a(),
    ]);
    expect(r.code).toBe(0);
    expect(received.map((m) => m.args)).toEqual([
      { name: '', unit: 'U', drone_serial: 'D', controller_serial: 'C', mission_ref: 'M' },
    ]);
  });

  it('end: end_flight, and the data directory is left alone (the agent owns it)', async () => {
    answer = { ok: true, message: 'flight gw-cmd-1 ended' };
    received.length = 0;
    const r = await egressIn(['session', 'end', ...a()]);
    expect(r).toEqual({ code: 0, stdout: 'flight gw-cmd-1 ended\n', stderr: '' });
    expect(received.map((m) => [m.topic, m.verb, m.args])).toEqual([
      [`egress/v1/${gw}/cmd/end_flight`, 'end_flight', { name: '' }],
    ]);
    expect((await egressIn(['session', 'list', '--data-dir', agentDir])).stdout).toBe('');
  });

  it('a refusal is EGRESS_SESSION_STATE with the agent’s reason, exit 1', async () => {
    answer = { ok: false, message: 'no flight is open' };
    const r = await egressIn(['session', 'end', ...a()]);
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr: 'egress: EGRESS_SESSION_STATE: the agent refused end_flight: no flight is open\n',
    });
  });

  it('a broker that refuses the token, or none listening: EGRESS_BROKER_UNAVAILABLE, exit 1', async () => {
    const wrong = mkdtempSync(join(tmpdir(), 'egress-evidence-in-wrong-'));
    mkdirSync(join(wrong, 'spool'));
    writeFileSync(join(wrong, 'spool', 'lock'), String(holder.pid));
    writeFileSync(join(wrong, 'secrets.json'), JSON.stringify({ dashboard: `${token.slice(0, -1)}x` }));
    const r = await egressIn(['session', 'start', '--data-dir', wrong, '--gateway', gw, '--broker', broker.url]);
    expect([r.code, r.stdout]).toEqual([1, '']);
    expect(r.stderr).toBe(
      `egress: EGRESS_BROKER_UNAVAILABLE: cannot reach the agent's broker at ${broker.url}: Connection refused: Not authorized\n`,
    );
    const port = await freePort();
    const none = await egressIn([
      'session',
      'start',
      '--data-dir',
      agentDir,
      '--gateway',
      gw,
      '--broker',
      `mqtt://127.0.0.1:${port}`,
    ]);
    expect(none.stderr).toBe(
      `egress: EGRESS_BROKER_UNAVAILABLE: cannot reach the agent's broker at mqtt://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`,
    );
  });

  it('a lock held by no live process, or by this process itself, means no agent: the data directory is used', async () => {
    const cases: [string, string][] = [
      ['a pid that is gone', String(await deadPid())],
      ['this process', String(process.pid)],
      ['not a pid', 'garbage'],
    ];
    for (const [what, lock] of cases) {
      const own = mkdtempSync(join(tmpdir(), 'egress-evidence-in-lock-'));
      mkdirSync(join(own, 'spool'));
      writeFileSync(join(own, 'spool', 'lock'), lock);
      received.length = 0;
      const r = await egressIn(['session', 'start', '--data-dir', own, '--gateway', gw, '--broker', broker.url]);
      expect(
        [r.code, r.stdout.endsWith('started (no agent running: it resumes this flight when it starts)\n')],
        what,
      ).toEqual([0, true]);
      expect(received, what).toEqual([]);
      // No --name: the flight has an empty one, not a made-up one.
      const listed = await egressIn(['session', 'list', '--json', '--data-dir', own]);
      expect(JSON.parse(listed.stdout).name, what).toBe('');
    }
  });

  it('without --broker: the broker on this host at 1883 is asked', async () => {
    const r = await egressIn(['session', 'end', '--data-dir', agentDir, '--gateway', gw]);
    expect(r.code).toBe(1);
    // Whatever answers there (nothing, in a test), the message names where it asked.
    expect(r.stderr).toMatch(
      /^egress: EGRESS_BROKER_UNAVAILABLE: (cannot reach the agent's broker|no answer to end_flight from gateway gw-cmd) at mqtt:\/\/127\.0\.0\.1:1883/,
    );
  }, 20_000);

  it('a data directory without a token sends an empty one (the broker decides)', async () => {
    const open = new Mosquitto();
    await open.start();
    const listener = connect(open.url, { reconnectPeriod: 0 });
    const tokens: string[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        listener.once('connect', () =>
          listener.subscribe(`egress/v1/${gw}/cmd/+`, { qos: 1 }, (e) => (e ? reject(e) : resolve())),
        );
        listener.once('error', reject);
      });
      listener.on('message', (_t, payload) => {
        const c = decodeCommand(payload);
        tokens.push(c.token);
        listener.publish(
          `egress/v1/${gw}/reply/${c.verb}`,
          encodeCommandReply({ id: c.id, ok: true, code: '', message: 'ok' }),
          { qos: 1 },
        );
      });
      const bare = mkdtempSync(join(tmpdir(), 'egress-evidence-in-bare-'));
      mkdirSync(join(bare, 'spool'));
      writeFileSync(join(bare, 'spool', 'lock'), String(holder.pid));
      const saved = process.env.EGRESS_DASHBOARD_TOKEN;
      delete process.env.EGRESS_DASHBOARD_TOKEN;
      const r = await egressIn(['session', 'start', '--data-dir', bare, '--gateway', gw, '--broker', open.url]);
      if (saved !== undefined) process.env.EGRESS_DASHBOARD_TOKEN = saved;
      expect(r).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
      expect(tokens).toEqual(['']);
    } finally {
      listener.end(true);
      await open.stop();
    }
  }, 30_000);

  it('no answer within 10 s: EGRESS_BROKER_UNAVAILABLE naming the command, the gateway and the broker', async () => {
    answer = 'silent';
    const r = await egressIn(['session', 'start', ...a()]);
    expect([r.code, r.stderr]).toEqual([
      1,
      `egress: EGRESS_BROKER_UNAVAILABLE: no answer to start_flight from gateway ${gw} at ${broker.url} within 10 s\n`,
    ]);
  }, 20_000);
});

/** One byte in the middle changed to another printable one (the size stays). */
function flip(b: Uint8Array): void {
  const at = b.length >> 1;
  b[at] = b[at] === 0x41 ? 0x42 : 0x41;
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const p = spawn('true', { stdio: 'ignore' });
  await new Promise((r) => p.once('exit', r));
  return p.pid as number;
}
