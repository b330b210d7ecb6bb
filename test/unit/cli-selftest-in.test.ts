// `egress selftest` through main() in process, so mutation testing sees how
// cli/selftest.ts hands its options to the checks (test/cli/selftest.test.ts
// runs the built binary inside network namespaces for the capture checks):
// --tcpdump, --geo-db, --mqtt-port, --data-dir, an external --broker with its
// user and EGRESS_BROKER_PASSWORD against a real mosquitto with logins, TLS
// files, --gpio, the text and JSON forms with their exit statuses, and the
// usage errors. The interface is one that does not exist, so the capture
// checks fail at once and the rest is what is looked at.

import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SELFTEST_USAGE } from '../../agent/src/cli/selftest.js';
import { DEFAULT_GEO_PATH } from '../../agent/src/enrich/geo.js';
import { egressIn } from '../support/cli-in.js';
import { freePort, Mosquitto } from '../support/mosquitto.js';

const NO_IF = 'egress-none0';
const dir = mkdtempSync(join(tmpdir(), 'egress-selftest-in-'));
const broker = new Mosquitto({ tls: true, users: { 'gw-user': 'right-password' } });
const TCPDUMP = execFileSync('sh', ['-c', 'command -v tcpdump'], { encoding: 'utf8' }).trim();
let taken: Server;
let takenPort = 0;
const saved = { gpio: process.env.EGRESS_GPIO, password: process.env.EGRESS_BROKER_PASSWORD };

beforeAll(async () => {
  delete process.env.EGRESS_GPIO;
  await broker.start();
  taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
  takenPort = (taken.address() as { port: number }).port;
}, 30_000);

afterAll(async () => {
  await broker.stop();
  taken?.close();
  for (const [k, v] of [
    ['EGRESS_GPIO', saved.gpio],
    ['EGRESS_BROKER_PASSWORD', saved.password],
  ] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

interface Check {
  id: string;
  status: string;
  summary: string;
  facts: Record<string, unknown>;
}

async function selftest(args: string[]) {
  const r = await egressIn(['selftest', '--json', '-i', NO_IF, '--wait', '1', '--data-dir', dir, ...args]);
  const report = JSON.parse(r.stdout) as { worst: string; checks: Check[] };
  return { ...r, report, check: (id: string) => report.checks.find((c) => c.id === id) as Check };
}

describe('options reach their checks', () => {
  it('--tcpdump, --geo-db and --data-dir', async () => {
    const r = await selftest([
      '--tcpdump',
      TCPDUMP,
      '--geo-db',
      DEFAULT_GEO_PATH,
      '--mqtt-port',
      String(await freePort()),
    ]);
    expect(r.check('tcpdump').facts.tcpdump).toBe(TCPDUMP);
    expect(r.check('geo').facts).toMatchObject({ path: DEFAULT_GEO_PATH, origin: 'option' });
    expect(r.check('disk').facts.path).toBe(dir);
    expect(r.check('interface')).toMatchObject({ status: 'fail', facts: { interface: NO_IF } });
    const missing = join(dir, 'no-tcpdump');
    const m = await selftest(['--tcpdump', missing]);
    expect(m.check('tcpdump')).toMatchObject({ status: 'fail', summary: `${missing} is not installed` });
  });

  it('--mqtt-port: the embedded broker’s port, free or taken; default 1883', async () => {
    const free = await freePort();
    expect((await selftest(['--mqtt-port', String(free)])).check('broker')).toMatchObject({
      status: 'pass',
      facts: { port: free },
    });
    expect((await selftest(['--mqtt-port', String(takenPort)])).check('broker')).toMatchObject({
      status: 'warn',
      facts: { port: takenPort, code: 'EADDRINUSE' },
    });
    expect((await selftest([])).check('broker').facts.port).toBe(1883);
  });

  it('--broker with --broker-user and EGRESS_BROKER_PASSWORD: the right password passes, a wrong one fails', async () => {
    process.env.EGRESS_BROKER_PASSWORD = 'right-password';
    const ok = await selftest(['--broker', broker.url, '--broker-user', 'gw-user']);
    expect(ok.check('broker')).toMatchObject({ status: 'pass', facts: { url: broker.url } });
    process.env.EGRESS_BROKER_PASSWORD = 'wrong-password';
    const bad = await selftest(['--broker', broker.url, '--broker-user', 'gw-user']);
    expect(bad.check('broker')).toMatchObject({ status: 'fail', summary: expect.stringContaining('Not authorized') });
    delete process.env.EGRESS_BROKER_PASSWORD;
    const none = await selftest(['--broker', broker.url]);
    expect(none.check('broker').status).toBe('fail');
  });

  it('--ca for a TLS broker: with it the connection is accepted, without it refused', async () => {
    process.env.EGRESS_BROKER_PASSWORD = 'right-password';
    const tls = ['--broker', broker.tlsUrl, '--broker-user', 'gw-user'];
    const ok = await selftest([...tls, '--ca', broker.tlsMaterial?.ca ?? '']);
    expect(ok.check('broker').status).toBe('pass');
    const without = await selftest(tls);
    expect(without.check('broker').status).toBe('fail');
    const withCert = await selftest([
      ...tls,
      '--ca',
      broker.tlsMaterial?.ca ?? '',
      '--cert',
      broker.tlsMaterial?.clientCert ?? '',
      '--key',
      broker.tlsMaterial?.clientKey ?? '',
    ]);
    expect(withCert.check('broker').status).toBe('pass');
    delete process.env.EGRESS_BROKER_PASSWORD;
  });

  it('--mqtt-port 65535 is a port like any other', async () => {
    const r = await selftest(['--mqtt-port', '65535']);
    expect([r.code === 2, r.check('broker').facts.port]).toEqual([false, 65535]);
  });

  it('--wait is in seconds: tcpdump on lo gets that long to see a packet', async () => {
    const r = await egressIn(['selftest', '--json', '-i', 'lo', '--wait', '1', '--data-dir', dir]);
    const capture = (JSON.parse(r.stdout) as { checks: Check[] }).checks.find((c) => c.id === 'capture') as Check;
    // Either a packet came (anything on loopback), or the wait of 1000 ms ran out after tcpdump listened.
    if (capture.status === 'pass') expect(capture.facts.first_packet_ms).toEqual(expect.any(Number));
    else expect(capture).toMatchObject({ status: 'warn', facts: { wait_ms: 1000, listening: true } });
  });

  it('--gpio sim passes; no driver is a skip', async () => {
    expect((await selftest(['--gpio', 'sim'])).check('gpio')).toMatchObject({
      status: 'pass',
      facts: { driver: 'sim' },
    });
    expect((await selftest([])).check('gpio').status).toBe('skip');
  });
});

describe('forms and exit status', () => {
  it('JSON: one object, worst of the checks; a failed check exits 1', async () => {
    const r = await selftest([]);
    expect(r.stdout.endsWith('}\n')).toBe(true);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(r.report.worst).toBe('fail');
    expect(r.code).toBe(1);
  });

  it('text: a line per check with its status in words, the fix under a failure, the result', async () => {
    const r = await egressIn(['selftest', '-i', NO_IF, '--wait', '1', '--data-dir', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^egress selftest on \S+ at \d{4}-\d\d-\d\dT/);
    expect(r.stdout).toMatch(new RegExp(`^FAIL {2}interface +.*${NO_IF}`, 'm'));
    expect(r.stdout).toMatch(/^ +fix: /m);
    expect(r.stdout.endsWith('result: FAIL\n')).toBe(true);
  });

  it('--help, and the usage errors', async () => {
    expect(await egressIn(['selftest', '--help'])).toEqual({ code: 0, stdout: `${SELFTEST_USAGE}\n`, stderr: '' });
    expect(await egressIn(['selftest', '-h'])).toEqual({ code: 0, stdout: `${SELFTEST_USAGE}\n`, stderr: '' });
    for (const [args, why] of [
      [['now'], 'selftest takes no arguments'],
      [['--mqtt-port', '70000'], '--mqtt-port must be 1-65535, got "70000"'],
      [['--mqtt-port', '0'], '--mqtt-port'],
      [['--wait', 'soon'], '--wait'],
    ] as const) {
      const r = await egressIn(['selftest', ...args]);
      expect([r.code, r.stdout], args.join(' ')).toEqual([2, '']);
      expect(r.stderr.startsWith(`egress: EGRESS_USAGE: ${why}`), r.stderr).toBe(true);
    }
    for (const f of ['ca', 'cert', 'key']) {
      const r = await egressIn(['selftest', '--broker', broker.url, `--${f}`, join(dir, 'none.pem')]);
      expect([r.code, r.stderr]).toEqual([
        1,
        `egress: EGRESS_BROKER_UNAVAILABLE: cannot read --${f} ${join(dir, 'none.pem')}: ENOENT: no such file or directory, open '${join(dir, 'none.pem')}'\n`,
      ]);
    }
    const ca = await egressIn(['selftest', '--broker', broker.url, '--ca', join(dir, 'none.pem')]);
    expect([ca.code, ca.stderr]).toEqual([
      1,
      expect.stringMatching(/^egress: EGRESS_BROKER_UNAVAILABLE: cannot read --ca /),
    ]);
  });
});
