// Live capture with a real tcpdump, supervised by TcpdumpCapture, in two
// network namespaces this test creates and joins with a veth pair: a
// "controller" namespace with real clients (dig, curl) and a "gateway"
// namespace with real servers (dnsmasq, python3 http.server) on
// documentation addresses, where tcpdump captures the veth end through
// `ip netns exec`. The packets go through a ScanPipeline and the test checks
// the flows it reports. tcpdump is killed with SIGKILL mid-run and must come
// back; a missing interface, a missing tcpdump and a tcpdump without
// permission must each give their stable code, not a crash. Nothing leaves
// the namespaces; every process is stopped by PID, the namespaces are deleted
// afterwards. Needs root (namespaces, capture), as CI has.

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EgressError } from '../../agent/src/errors.js';
import { ErrorCode } from '../../agent/src/errors.js';
import { TcpdumpCapture, type TcpdumpCaptureOptions } from '../../agent/src/live/tcpdump.js';
import type { FlowRecord } from '../../agent/src/output/flow-record.js';
import { ScanPipeline } from '../../agent/src/pipeline.js';
import { loadPolicy } from '../../agent/src/policy/load.js';
import { FIXTURES_DIR } from '../support/fixtures.js';
import { deleteNamespace, inNs, makeNamespacePair, startDnsmasq, startInNs, stop, waitFor } from '../support/netns.js';

const NS_CTL = `egress-ctl-${process.pid}`;
const NS_GW = `egress-gw-${process.pid}`;
const CLIENT = '192.0.2.2';
const GATEWAY = '192.0.2.1';
const RESOLVER = '198.51.100.53';
const SERVER = '203.0.113.10';
const NAME = 'flysafe-api.dji.com';
const IF_GW = 'veth-gw';
const BROKER_PORT = 1883;
const dir = mkdtempSync(join(tmpdir(), 'egress-capture-'));
const started: ChildProcess[] = [];
const captures: TcpdumpCapture[] = [];

/** A capture in the gateway namespace, feeding a pipeline whose flows land in `flows`. */
function gatewayCapture(options: Partial<TcpdumpCaptureOptions> = {}) {
  const flows: FlowRecord[] = [];
  const errors: EgressError[] = [];
  const pipeline = new ScanPipeline(
    { flow: (f) => flows.push(f) },
    {
      policy: loadPolicy({ file: join(FIXTURES_DIR, 'names/policy.yaml') }),
      timeouts: { udp: 1, tcpClosed: 1 },
    },
  );
  const capture = new TcpdumpCapture(pipeline, {
    command: ['ip', 'netns', 'exec', NS_GW, 'tcpdump'],
    interface: IF_GW,
    anomalies: pipeline.anomalies,
    statsIntervalMs: 200,
    onTick: (nowUs) => pipeline.flows.expireIdle(nowUs),
    tickMs: 100,
    onError: (e) => errors.push(e),
    ...options,
  });
  captures.push(capture);
  return { capture, pipeline, flows, errors };
}

function curl(url: string, extra: string[] = []): string {
  return inNs(NS_CTL, 'curl', ['-sS', '--max-time', '5', '--interface', CLIENT, ...extra, url]);
}

beforeAll(async () => {
  makeNamespacePair({
    ctl: NS_CTL,
    ifCtl: 'veth-ctl',
    gw: NS_GW,
    ifGw: IF_GW,
    client: CLIENT,
    gateway: GATEWAY,
    internet: [RESOLVER, SERVER],
  });
  await startDnsmasq(started, NS_GW, dir, RESOLVER, { [NAME]: SERVER });
  writeFileSync(join(dir, 'index.html'), 'hello\n');
  const http = (addr: string, port: number) =>
    startInNs(
      started,
      NS_GW,
      'python3',
      ['-u', '-m', 'http.server', String(port), '--bind', addr, '--directory', dir],
      /Serving HTTP/,
    );
  await http(SERVER, 80);
  // Port 1883 twice: the gateway's own broker endpoint, and a server the controller reaches on the same port.
  await http(GATEWAY, BROKER_PORT);
  await http(SERVER, BROKER_PORT);
}, 60_000);

afterAll(async () => {
  for (const c of captures) await c.stop();
  for (const child of started.reverse()) await stop(child);
  for (const ns of [NS_CTL, NS_GW]) deleteNamespace(ns);
}, 30_000);

describe('live capture: tcpdump in the gateway namespace', () => {
  it('sees a real client resolve and fetch, names the flow, and survives SIGKILL', async () => {
    const { capture, flows, pipeline } = gatewayCapture();
    const listening: number[] = [];
    capture.start();
    await waitFor('tcpdump listening', () => capture.health().running);
    expect(capture.health()).toMatchObject({ state: 'running', restarts: 0, linkType: 'EN10MB', error: null });

    const answer = inNs(NS_CTL, 'dig', ['+short', '+tries=1', '-b', CLIENT, `@${RESOLVER}`, NAME]).trim();
    expect(answer).toBe(SERVER);
    expect(curl(`http://${NAME}/index.html`, ['--resolve', `${NAME}:80:${SERVER}`])).toBe('hello\n');

    // The clock tick ends the DNS flow after its 1 s UDP timeout, with no packet to drive the flow table.
    await waitFor('the DNS flow, ended by the tick', () => flows.some((f) => f.destPort === 53));
    const dns = flows.find((f) => f.destPort === 53);
    expect(dns).toMatchObject({ srcIp: CLIENT, destIp: RESOLVER, proto: 'UDP', endReason: 'timeout' });
    await waitFor('the HTTP flow', () => flows.some((f) => f.destIp === SERVER && f.destPort === 80));
    const web = flows.find((f) => f.destIp === SERVER && f.destPort === 80);
    expect(web).toMatchObject({
      srcIp: CLIENT,
      proto: 'TCP',
      names: [NAME],
      verdict: 'high',
      reasons: ['deny_domain'],
    });
    expect(web?.pktsToServer).toBeGreaterThanOrEqual(4);
    expect(web?.pktsToClient).toBeGreaterThanOrEqual(4);

    // SIGUSR1 statistics arrive while tcpdump runs.
    await waitFor('tcpdump statistics', () => capture.health().receivedByFilter > 0);
    expect(capture.health().kernelDrops).toBe(0);

    // Kill tcpdump outright: the capture restarts it and goes on capturing.
    const pid = capture.health().pid as number;
    const killedAt = performance.now();
    process.kill(pid, 'SIGKILL');
    await waitFor('the restart', () => capture.health().restarts === 1 && capture.health().running);
    listening.push(performance.now() - killedAt);
    const h = capture.health();
    expect(h.pid).not.toBe(pid);
    expect(h.error).toBeNull();
    const before = pipeline.packets;
    expect(curl(`http://${SERVER}/index.html`)).toBe('hello\n');
    await waitFor('the HTTP flow after the restart', () => flows.filter((f) => f.destPort === 80).length === 2);
    expect(pipeline.packets).toBeGreaterThan(before);
    console.log(`tcpdump restart latency after SIGKILL: ${listening[0].toFixed(0)} ms`);

    await capture.stop();
    expect(capture.health()).toMatchObject({ state: 'stopped', running: false, pid: null, restarts: 1 });
    expect(() => process.kill(h.pid as number, 0)).toThrow(); // the process is gone
    expect(capture.health().packets).toBe(pipeline.packets);
  });

  it("leaves out the gateway's own broker endpoint, not the controller's traffic on the same port", async () => {
    const { capture, flows, pipeline } = gatewayCapture({ exclude: [{ host: GATEWAY, port: BROKER_PORT }] });
    capture.start();
    await waitFor('tcpdump listening', () => capture.health().running);
    expect(curl(`http://${GATEWAY}:${BROKER_PORT}/index.html`)).toBe('hello\n');
    expect(curl(`http://${SERVER}:${BROKER_PORT}/index.html`)).toBe('hello\n');
    await waitFor('the flow to port 1883', () => flows.some((f) => f.destPort === BROKER_PORT));
    await capture.stop();
    await pipeline.finish();
    const to1883 = flows.filter((f) => f.destPort === BROKER_PORT);
    expect(to1883.map((f) => f.destIp)).toEqual([SERVER]);
  });

  it('reports a missing interface with its code, keeps retrying, and stops cleanly', async () => {
    const { capture, errors } = gatewayCapture({ interface: 'nosuch0', backoff: { initialMs: 100 } });
    capture.start();
    await waitFor('two failures', () => errors.length >= 2);
    const h = capture.health();
    expect(h.error?.code).toBe(ErrorCode.CAPTURE_NO_INTERFACE);
    expect(h.running).toBe(false);
    expect(h.lastErrorLine).toContain('nosuch0');
    expect(errors.every((e) => e.code === ErrorCode.CAPTURE_NO_INTERFACE)).toBe(true);
    expect(h.restarts).toBeGreaterThanOrEqual(1);
    await capture.stop();
    expect(capture.health().state).toBe('stopped');
  });

  it('reports a missing tcpdump, spawned directly or behind ip netns exec', async () => {
    for (const command of [[join(dir, 'no-such-tcpdump')], ['ip', 'netns', 'exec', NS_GW, 'no-such-tcpdump']]) {
      const { capture, errors } = gatewayCapture({ command });
      capture.start();
      await waitFor('the failure', () => errors.length >= 1);
      expect(capture.health().error?.code, command.join(' ')).toBe(ErrorCode.CAPTURE_TOOL_MISSING);
      await capture.stop();
    }
  });

  it('reports a tcpdump that may not capture', async () => {
    const { capture, errors } = gatewayCapture({
      command: [
        'ip',
        'netns',
        'exec',
        NS_GW,
        'setpriv',
        '--reuid=nobody',
        '--regid=nogroup',
        '--clear-groups',
        'tcpdump',
      ],
    });
    capture.start();
    await waitFor('the failure', () => errors.length >= 1);
    expect(capture.health().error?.code).toBe(ErrorCode.CAPTURE_PERMISSION);
    await capture.stop();
  });

  it('reports a filter tcpdump cannot parse', async () => {
    const { capture, errors } = gatewayCapture({ filter: 'tcp port and' });
    capture.start();
    await waitFor('the failure', () => errors.length >= 1);
    expect(capture.health().error?.code).toBe(ErrorCode.CAPTURE_CONFIG_INVALID);
    await capture.stop();
  });
});
