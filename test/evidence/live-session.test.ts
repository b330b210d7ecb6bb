// Flight sessions on a live gateway: `egress run` capturing the loopback
// interface of a network namespace the test creates, `egress session
// start|end` reaching it over MQTT (the token from the data directory), real
// curl requests to a python3 http.server on 127.0.0.1 in that namespace —
// local traffic only, so nothing reaches the internet. The first flight is
// clean: its bundle carries the signed "no egress observed" statement. In the
// second, tcpdump is killed mid-flight (the agent restarts it): the gap is
// recorded and the statement is weakened in the report, in both languages.
// Every process is stopped by PID; the namespace is deleted afterwards.

import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { egress as egressPb } from '../../agent/src/mqtt/codec.js';
import { decodeSession, decodeStatus } from '../../agent/src/mqtt/codec-decode.js';
import { EGRESS_BIN, egress } from '../support/cli.js';
import { freePort } from '../support/mosquitto.js';
import { deleteNamespace, inNs, spawnInNs, startInNs, stop, waitFor, waitListen } from '../support/netns.js';

const NS = `egress-ev-${process.pid}`;
const GW = 'gw-live';
const dataDir = mkdtempSync(join(tmpdir(), 'egress-live-session-'));
const started: ChildProcess[] = [];
let agent: ChildProcess;
let agentOut: () => string;
let mqttPort: number;
let httpPort: number;

function session(...args: string[]): string {
  return inNs(NS, process.execPath, [
    EGRESS_BIN,
    'session',
    ...args,
    '--data-dir',
    dataDir,
    '--broker',
    `mqtt://127.0.0.1:${mqttPort}`,
    '--gateway',
    GW,
  ]);
}

/** The retained message on egress/v1/<gw>/<kind>, read with mosquitto_sub inside the namespace. */
function retained(kind: string): Buffer {
  const token = JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')).dashboard;
  const hex = inNs(NS, 'mosquitto_sub', [
    '-h',
    '127.0.0.1',
    '-p',
    String(mqttPort),
    '-u',
    'egress-viewer',
    '-P',
    token,
    '-t',
    `egress/v1/${GW}/${kind}`,
    '-C',
    '1',
    '-W',
    '5',
    '-F',
    '%x',
  ]);
  return Buffer.from(hex.trim(), 'hex');
}

function curl(n: number): void {
  for (let i = 0; i < n; i++) inNs(NS, 'curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${httpPort}/`]);
}

function exportAndRead(id: string): { verify: string; manifest: Record<string, any>; html: string } {
  const bundle = join(dataDir, `${id}.zip`);
  const e = egress(['export', id, '--out', bundle, '--data-dir', dataDir]);
  expect(e.code, e.stderr).toBe(0);
  const v = egress(['verify', bundle]);
  expect(v.code, v.stdout).toBe(0);
  const files = unzipSync(readFileSync(bundle));
  return {
    verify: v.stdout,
    manifest: JSON.parse(Buffer.from(files['manifest.json']).toString()),
    html: Buffer.from(files['report.html']).toString(),
  };
}

beforeAll(async () => {
  execFileSync('ip', ['netns', 'add', NS]);
  inNs(NS, 'ip', ['link', 'set', 'lo', 'up']);
  [mqttPort, httpPort] = [await freePort(), await freePort()];
  await startInNs(started, NS, 'python3', [
    '-m',
    'http.server',
    String(httpPort),
    '--bind',
    '127.0.0.1',
    '--directory',
    dataDir,
  ]);
  await waitListen(NS, 'tcp', '127.0.0.1', httpPort);
  const a = spawnInNs(started, NS, process.execPath, [
    EGRESS_BIN,
    'run',
    '--interface',
    'lo',
    '--data-dir',
    dataDir,
    '--mqtt-port',
    String(mqttPort),
    '--no-http',
    '--gateway',
    GW,
    '--quiet',
  ]);
  agent = a.child;
  agentOut = a.output;
  await waitFor('the capture to start', () => /capturing on lo/.test(agentOut()), 20_000);
});

afterAll(async () => {
  for (const c of started.reverse()) await stop(c);
  deleteNamespace(NS);
});

describe('flight sessions on a live gateway', () => {
  let clean: string;
  let gapped: string;

  it('a clean flight, opened and closed with egress session over MQTT', async () => {
    const out = session(
      'start',
      '--name',
      'clean flight',
      '--unit',
      'Eenheid Noord',
      '--drone-serial',
      '1581F5FHD23',
      '--mission-ref',
      'M-42',
    );
    clean = out.match(/flight (\S+) started/)?.[1] ?? '';
    expect(clean).toMatch(new RegExp(`^${GW}-`));
    // Retained while open, with the operator fields and the signing key; the status names the key too.
    const open = decodeSession(retained('session'));
    expect([open.id, open.state, open.unit, open.drone_serial, open.mission_ref]).toEqual([
      clean,
      egressPb.v1.Session.State.OPEN,
      'Eenheid Noord',
      '1581F5FHD23',
      'M-42',
    ]);
    const fp = egress(['key', 'export', '--data-dir', dataDir]).stderr.match(/[0-9a-f]{64}/)?.[0];
    expect(open.key_fingerprint).toBe(fp);
    expect(decodeStatus(retained('status')).key_fingerprint).toBe(fp);
    curl(3);
    await new Promise((r) => setTimeout(r, 1500));
    expect(session('end')).toBe(`flight ${clean} ended\n`);
    const list = egress(['session', 'list', '--data-dir', dataDir]);
    expect(list.stdout).toMatch(new RegExp(`^${clean}  closed  .*  clean flight\\n$`));
  });

  it('a flight with a capture restart (tcpdump killed)', async () => {
    gapped = session('start', '--name', 'flight with a gap').match(/flight (\S+) started/)?.[1] ?? '';
    curl(2);
    const tcpdump = execFileSync('pgrep', ['-P', String(agent.pid), '-x', 'tcpdump'], { encoding: 'utf8' }).trim();
    expect(tcpdump).toMatch(/^\d+$/);
    process.kill(Number(tcpdump), 'SIGKILL');
    await waitFor('tcpdump restarted', () => (agentOut().match(/capturing on lo/g) ?? []).length >= 2, 20_000);
    await new Promise((r) => setTimeout(r, 2500));
    curl(2);
    expect(session('end')).toBe(`flight ${gapped} ended\n`);
    await stop(agent);
  });

  it('the clean flight exports a signed, plain "no egress observed" statement with the operator fields', () => {
    const b = exportAndRead(clean);
    expect(b.manifest.statement).toMatchObject({ kind: 'no_egress_observed', strength: 'plain', gaps: 0 });
    expect(b.manifest.operator).toEqual({ unit: 'Eenheid Noord', drone_serial: '1581F5FHD23', mission_ref: 'M-42' });
    expect(b.html).toContain('Geen uitgaand verkeer waargenomen: tussen');
    expect(b.html).toContain('No egress observed: between');
    expect(b.html).toContain('Geen onderbrekingen');
    expect(b.html).toContain('Eenheid Noord');
  });

  it('the flight with the restart says so: the gap in the report, the statement weakened', () => {
    const b = exportAndRead(gapped);
    expect(b.manifest.statement).toMatchObject({ kind: 'no_egress_observed', strength: 'weakened', gaps: 1 });
    expect(b.html).toContain('opname herstart');
    expect(b.html).toContain('capture restarted');
    expect(b.html).toContain('BEHALVE tijdens 1 onderbreking van de opname');
    expect(b.html).toContain('EXCEPT during 1 capture gap');
    expect(b.html).not.toContain('Geen onderbrekingen');
  });
});
