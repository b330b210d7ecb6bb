// `egress selftest` with real parts: two network namespaces this test creates
// joined by a veth pair, real ping traffic from the "controller" side, the
// real egress binary run inside the "gateway" namespace (`ip netns exec`),
// real tcpdump on the veth, a real mosquitto on the namespace's own loopback,
// and the simulated GPIO driver. Then a gateway that is not ready (interface
// down, tcpdump missing, nothing at the broker, no GPIO chip), and an agent
// without the capture capability (setpriv to nobody). Every process is
// stopped by PID and the namespaces deleted afterwards. Needs root, as CI has.

import { type ChildProcess, execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { geoDataHealth } from '../../agent/src/enrich/geo-age.js';
import { GeoSource } from '../../agent/src/enrich/geo-source.js';
import { EGRESS_BIN } from '../support/cli.js';
import { egressChild } from '../support/mutation/parent.js';
import { deleteNamespace, makeNamespacePair, spawnInNs, startInNs, stop } from '../support/netns.js';

const NS_CTL = `egress-stc-${process.pid}`;
const NS_GW = `egress-stg-${process.pid}`;
const IF_GW = 'veth-gw';
const dir = mkdtempSync(join(tmpdir(), 'egress-selftest-'));
const dataDir = join(dir, 'data');
const started: ChildProcess[] = [];

interface Check {
  id: string;
  status: string;
  summary: string;
  fix: string | null;
  fix_id: string | null;
  facts: Record<string, any>;
}

/** Run `egress selftest ARGS` inside the gateway namespace (optionally through a wrapper such as setpriv). */
function selftest(args: string[], wrapper: string[] = []) {
  const child = egressChild(EGRESS_BIN, { ...process.env, EGRESS_GPIO: '' });
  const r = spawnSync(
    'ip',
    ['netns', 'exec', NS_GW, ...wrapper, process.execPath, ...child.argv, 'selftest', ...args],
    {
      encoding: 'utf8',
      timeout: 60_000,
      killSignal: 'SIGKILL',
      env: child.env,
    },
  );
  child.done();
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function byId(stdout: string): Map<string, Check> {
  const report = JSON.parse(stdout) as { worst: string; checks: Check[] };
  return new Map(report.checks.map((c) => [c.id, c]));
}

beforeAll(async () => {
  makeNamespacePair({
    ctl: NS_CTL,
    gw: NS_GW,
    ifCtl: 'veth-ctl',
    ifGw: IF_GW,
    client: '192.0.2.2',
    gateway: '192.0.2.1',
    internet: [],
  });
  execFileSync('ip', ['-n', NS_GW, 'link', 'add', 'if-down', 'type', 'veth', 'peer', 'name', 'if-down-peer']);
  // A quiet link: up, carrier, no IPv6 address (so no neighbour discovery): nothing ever crosses it.
  execFileSync('ip', ['-n', NS_GW, 'link', 'add', 'quiet0', 'type', 'veth', 'peer', 'name', 'quiet1']);
  for (const q of ['quiet0', 'quiet1']) {
    execFileSync('ip', ['-n', NS_GW, 'link', 'set', q, 'addrgenmode', 'none']);
    execFileSync('ip', ['-n', NS_GW, 'link', 'set', q, 'up']);
  }
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, 'listener 1883 127.0.0.1\nallow_anonymous true\npersistence false\n');
  await startInNs(started, NS_GW, 'mosquitto', ['-c', conf], /running|Opening ipv4 listen socket/);
});

afterAll(async () => {
  for (const c of started) await stop(c);
  deleteNamespace(NS_CTL);
  deleteNamespace(NS_GW);
  rmSync(dir, { recursive: true, force: true });
});

describe('egress selftest', () => {
  it('a ready gateway: interface up, packets seen, broker reachable, GPIO simulated', async () => {
    const ping = spawnInNs(started, NS_CTL, 'ping', ['-i', '0.2', '192.0.2.1']);
    const r = selftest([
      '--json',
      '-i',
      IF_GW,
      '--wait',
      '8',
      '--data-dir',
      dataDir,
      '--broker',
      'mqtt://127.0.0.1:1883',
      '--gpio',
      'sim',
    ]);
    await stop(ping.child);
    expect(r.stderr).toBe('');
    const checks = byId(r.stdout);
    expect([...checks.keys()]).toEqual([
      'interface',
      'tcpdump',
      'capture',
      'clock',
      'geo',
      'disk',
      'broker',
      'evidence_key',
      'gpio',
    ]);
    expect(checks.get('interface')).toMatchObject({ status: 'pass', facts: { interface: IF_GW } });
    expect(checks.get('tcpdump')?.status).toBe('pass');
    expect(checks.get('capture')?.status).toBe('pass');
    expect(checks.get('capture')?.facts.first_packet_ms).toBeLessThan(8000);
    expect(checks.get('broker')).toMatchObject({ status: 'pass', facts: { url: 'mqtt://127.0.0.1:1883' } });
    expect(checks.get('gpio')).toMatchObject({ status: 'pass', facts: { driver: 'sim' } });
    // No agent has run on this data directory yet: no signing key, a warning with the fix.
    expect(checks.get('evidence_key')).toMatchObject({
      status: 'warn',
      summary: expect.stringMatching(/no evidence signing key yet/),
      facts: { present: false },
    });
    // geo: the same verdict as the agent's own health of the data it would load
    const geo = GeoSource.open({ dataDir, log: () => {} });
    const health = geoDataHealth(geo.database.header, Date.now());
    expect(checks.get('geo')).toMatchObject({
      status: health.stale ? 'warn' : 'pass',
      facts: { data_date: health.dataDate },
    });
    // disk: what statfs says of the nearest existing directory, within 64 MiB of churn
    const fs = statfsSync(dir);
    expect(Math.abs(checks.get('disk')?.facts.free_bytes - fs.bavail * fs.bsize)).toBeLessThan(64 * 1024 * 1024);
    // clock: this machine may have neither timedatectl (no systemd as init) nor chrony: then "unknown", a warning
    const clock = checks.get('clock')!;
    if (clock.facts.source === null)
      expect(clock).toMatchObject({ status: 'warn', summary: expect.stringMatching(/unknown/) });
    else expect(['pass', 'warn']).toContain(clock.status);
    const worst = JSON.parse(r.stdout).worst;
    expect(worst).toBe([...checks.values()].some((c) => c.status === 'warn') ? 'warn' : 'pass');
    expect(r.code).toBe(worst === 'warn' ? 4 : 0);
  });

  it('no packet within the wait is a warning, not a failure', () => {
    const r = selftest([
      '--json',
      '-i',
      'quiet0',
      '--wait',
      '1',
      '--data-dir',
      dataDir,
      '--broker',
      'mqtt://127.0.0.1:1883',
    ]);
    const capture = byId(r.stdout).get('capture')!;
    expect(capture.status).toBe('warn');
    expect(capture.summary).toMatch(/listens on quiet0 but saw no packet in 1 s/);
    expect(byId(r.stdout).get('gpio')?.status).toBe('skip');
    expect(r.code).toBe(4);
  });

  it('a gateway that is not ready: each failure named with its fix, exit 1', () => {
    const r = selftest([
      '--json',
      '-i',
      'if-down',
      '--wait',
      '2',
      '--tcpdump',
      join(dir, 'no-tcpdump'),
      '--data-dir',
      dataDir,
      '--broker',
      'mqtt://127.0.0.1:1',
      '--gpio',
      'libgpiod',
      '--gpio-chip',
      'gpiochip7',
    ]);
    const checks = byId(r.stdout);
    expect(checks.get('interface')).toMatchObject({
      status: 'fail',
      summary: 'interface if-down is down',
      fix: 'ip link set if-down up (or check the network service)',
      // the fix's stable id and facts, for the dashboard to say it in its own language
      fix_id: 'interface_down',
      facts: { interface: 'if-down' },
    });
    expect(checks.get('tcpdump')).toMatchObject({
      status: 'fail',
      fix: 'apt install tcpdump',
      fix_id: 'tcpdump_missing',
    });
    expect(checks.get('capture')?.status).toBe('fail');
    expect(checks.get('broker')).toMatchObject({
      status: 'fail',
      summary: expect.stringMatching(/not reachable/),
      fix_id: 'broker_unreachable',
      facts: { url: 'mqtt://127.0.0.1:1' },
    });
    expect(checks.get('gpio')).toMatchObject({ status: 'fail', facts: { code: 'EGRESS_GPIO_UNAVAILABLE' } });
    expect(checks.get('gpio')?.fix_id).toMatch(/^gpio_(chip_unopenable|libgpiod_missing)$/);
    expect(r.code).toBe(1);
    // the text form says the same in words, with the fix under each failure
    const text = selftest(['-i', 'if-down', '--wait', '1', '--data-dir', dataDir, '--broker', 'mqtt://127.0.0.1:1']);
    expect(text.stdout).toMatch(/^FAIL {2}interface +interface if-down is down$/m);
    expect(text.stdout).toMatch(/^ +fix: ip link set if-down up/m);
    expect(text.stdout).toMatch(/^result: FAIL$/m);
    expect(text.code).toBe(1);
  });

  it('an agent without the capture capability: tcpdump and capture fail with the setcap fix', () => {
    const open = join(dir, 'open');
    execFileSync('mkdir', ['-p', open]);
    chmodSync(dir, 0o755);
    chmodSync(open, 0o777);
    const r = selftest(
      ['--json', '-i', IF_GW, '--wait', '2', '--data-dir', join(open, 'data'), '--broker', 'mqtt://127.0.0.1:1883'],
      ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'],
    );
    const checks = byId(r.stdout);
    expect(checks.get('tcpdump')).toMatchObject({
      status: 'fail',
      fix: expect.stringMatching(/^setcap cap_net_raw,cap_net_admin\+eip /),
      fix_id: 'tcpdump_no_capability',
    });
    expect(checks.get('capture')).toMatchObject({ status: 'fail', facts: { code: 'EGRESS_CAPTURE_PERMISSION' } });
    expect(r.code).toBe(1);
  });

  it('an unknown GPIO driver is a usage error with a stable code', () => {
    const r = selftest(['--gpio', 'raspi']);
    expect(r.stderr).toMatch(/^egress: EGRESS_GPIO_CONFIG_INVALID: unknown GPIO driver "raspi"/);
    expect(r.code).toBe(2);
  });
});
