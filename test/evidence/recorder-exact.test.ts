// The evidence recorder in process (agent/src/evidence/recorder.ts), fed as
// the live agent feeds it: the demo flight (real clients' traffic, see
// scripts/demo-data/README.md) read through a real ScanPipeline with the demo
// policy. The log holds every internet flow, alert and lookup the pipeline
// reports (counted against a second, plain pipeline over the same capture),
// commands and capture gaps; the session's end carries the counts;
// flagged.pcapng holds the flagged flows' packets with their comments and
// the DNS packets that named them; nothing is recorded outside a session; a
// suspend and resume records the time away as a gap; the pcap bound and the
// flagged-flow table bound hold.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CaptureReader, fileChunks, readCapture } from '../../agent/src/capture/reader.js';
import { type ChainRecord, checkChain } from '../../agent/src/evidence/chain.js';
import { loadOrCreateKey } from '../../agent/src/evidence/keys.js';
import { dnsWireName, type EvidenceOptions, EvidenceRecorder } from '../../agent/src/evidence/recorder.js';
import { listSessions, type RecorderContext } from '../../agent/src/evidence/session-store.js';
import type { AlertRecord, FlowRecord } from '../../agent/src/output/flow-record.js';
import { ScanPipeline } from '../../agent/src/pipeline.js';
import { loadPolicy } from '../../agent/src/policy/load.js';
import type { LookupRecord } from '../../agent/src/policy/lookups.js';
import { ethernet, ipPacket, tcpSegment, udpDatagram } from '../support/builders.js';
import { ROOT } from '../support/cli.js';

const FLIGHT = join(ROOT, 'scripts/demo-data/flight.pcap');
// The demo policy with its resolver allowed (as in pcap.test.ts): DNS packets then reach flagged.pcapng only
// because they named a flagged flow.
const POLICY_DIR = mkdtempSync(join(tmpdir(), 'egress-recorder-policy-'));
const POLICY = join(POLICY_DIR, 'policy.yaml');
writeFileSync(
  POLICY,
  readFileSync(join(ROOT, 'scripts/demo-data/policy.yaml'), 'utf8').replace(
    'domains: [maps.example.nl]',
    'domains: [maps.example.nl]\n  cidrs: [198.51.100.53/32]',
  ),
);
afterAll(() => rmSync(POLICY_DIR, { recursive: true, force: true }));

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Rig {
  data: string;
  ctx: RecorderContext;
  rec: EvidenceRecorder;
  pipeline: ScanPipeline;
  alerts: AlertRecord[];
  lines: string[];
  clock: { us: number };
}

function rig(
  options: EvidenceOptions = {},
  data = mkdtempSync(join(tmpdir(), 'egress-recorder-')),
  /** true: no `now` in the context, the recorder's own clock (the system's). */
  systemClock = false,
): Rig {
  dirs.push(data);
  const clock = { us: Date.parse('2026-05-01T10:00:00Z') * 1000 };
  const ctx: RecorderContext = {
    gateway: 'gw-rec',
    version: '7.7.7',
    policy: { source: 'policy.yaml', sha256: '0'.repeat(64) },
    databases: {},
    key: loadOrCreateKey(data),
    clock: () => ({ synchronized: true, source: 'test' }),
    ...(systemClock ? {} : { now: () => clock.us }),
  };
  const alerts: AlertRecord[] = [];
  const lines: string[] = [];
  let rec: EvidenceRecorder | null = null;
  const pipeline = new ScanPipeline(
    {
      flow: (r) => rec?.flow(r),
      alert: (a) => {
        alerts.push(a);
        rec?.alert(a);
      },
      lookup: (l) => rec?.lookup(l),
    },
    { policy: loadPolicy({ file: POLICY }) },
  );
  rec = new EvidenceRecorder(data, ctx, pipeline, { log: (l) => lines.push(l), ...options });
  return { data, ctx, rec, pipeline, alerts, lines, clock };
}

async function replay(sink: EvidenceRecorder | ScanPipeline, pipeline: ScanPipeline): Promise<void> {
  const err = await readCapture(new CaptureReader(sink, pipeline.anomalies), fileChunks(FLIGHT));
  expect(err).toBeNull();
  await pipeline.finish();
}

/** The demo flight's records as a plain pipeline reports them: the oracle for what the log must hold. */
async function reported(): Promise<{
  flows: FlowRecord[];
  alerts: AlertRecord[];
  lookups: LookupRecord[];
  packets: number;
}> {
  const flows: FlowRecord[] = [];
  const alerts: AlertRecord[] = [];
  const lookups: LookupRecord[] = [];
  const p = new ScanPipeline(
    { flow: (r) => flows.push(r), alert: (a) => alerts.push(a), lookup: (l) => lookups.push(l) },
    { policy: loadPolicy({ file: POLICY }) },
  );
  await replay(p, p);
  return { flows, alerts, lookups, packets: p.packets };
}

async function plain(): Promise<{ internet: number; local: number; alerts: number; lookups: number; packets: number }> {
  const r = await reported();
  return {
    internet: r.flows.filter((f) => f.internet).length,
    local: r.flows.filter((f) => !f.internet).length,
    alerts: r.alerts.length,
    lookups: r.lookups.length,
    packets: r.packets,
  };
}

function log(r: Rig, id: string): ChainRecord[] {
  const c = checkChain(readFileSync(join(r.data, 'sessions', id, 'events.ndjson')), r.ctx.key.publicKey);
  expect(c.error).toBeNull();
  return c.records;
}

const count = (records: ChainRecord[], type: string) => records.filter((x) => x.type === type).length;

function tsharkComments(file: string): string[] {
  return execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.comment'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  })
    .split('\n')
    .filter((l) => l !== '');
}

describe('evidence recorder', () => {
  it('records a flight: every internet flow, alert and lookup, commands, gaps, the counts at its end, the flagged packets', async () => {
    const want = await plain();
    expect(want.alerts).toBeGreaterThan(0);
    const r = rig();
    // Before a session: nothing is recorded.
    r.rec.command('start_flight', {});
    r.rec.captureGap({ startUs: 1, endUs: 2, cause: 'kernel_drop', packetsDropped: 1 });
    r.rec.tick();
    expect([r.rec.current, r.rec.records, r.rec.end()]).toEqual([null, 0, null]);
    r.rec.suspend();
    expect(listSessions(r.data)).toEqual([]);
    expect(r.rec.fingerprint).toBe(r.ctx.key.fingerprint);

    const meta = r.rec.start('Demo', { unit: 'U1' });
    expect(r.rec.current).toEqual(meta);
    await replay(r.rec, r.pipeline);
    r.rec.command('block', { ip: '203.0.113.53' });
    r.rec.captureGap({
      startUs: 1_777_000_000_000_000,
      endUs: 1_777_000_001_500_000,
      cause: 'kernel_drop',
      packetsDropped: 9,
    });
    expect(r.rec.gapCount).toBe(1);
    const c = r.rec.counters();
    expect(c['evidence.records']).toBe(r.rec.records);
    expect(c['evidence.flagged_flows']).toBe(new Set(r.alerts.map((a) => a.app.flowId)).size);
    expect(c['evidence.flagged_packets']).toBeGreaterThan(0);
    expect(c['evidence.flagged_dropped']).toBe(0);
    expect(c['evidence.ring_packets']).toBe(r.rec.ring.size);
    expect(c['evidence.ring_evicted']).toBe(r.rec.ring.counters.evicted);
    const flaggedPackets = c['evidence.flagged_packets'];
    const end = r.rec.end();
    expect(end?.state).toBe('closed');
    expect([r.rec.current, r.rec.records, r.rec.end()]).toEqual([null, 0, null]);
    expect(r.rec.counters()).toEqual({
      'evidence.records': 0,
      'evidence.ring_packets': r.rec.ring.size,
      'evidence.ring_evicted': r.rec.ring.counters.evicted,
      'evidence.flagged_flows': 0,
    });

    const records = log(r, meta.id);
    expect(count(records, 'flow')).toBe(want.internet);
    expect(count(records, 'alert')).toBe(want.alerts);
    expect(count(records, 'lookup')).toBe(want.lookups);
    expect(records.filter((x) => x.type === 'command').map((x) => x.data)).toEqual([
      { verb: 'block', args: { ip: '203.0.113.53' } },
    ]);
    expect(records.filter((x) => x.type === 'capture_gap').map((x) => x.data)).toEqual([
      {
        start: '2026-04-24T03:06:40.000000Z',
        end: '2026-04-24T03:06:41.500000Z',
        cause: 'kernel_drop',
        packets_dropped: 9,
      },
    ]);
    expect(records.map((x) => x.type).slice(-2)).toEqual(['session_end', 'checkpoint']);
    expect(records[records.length - 2].data).toMatchObject({
      packets: want.packets,
      flows_internet: want.internet,
      flows_local: want.local,
      alerts: want.alerts,
      capture_gaps: 1,
      flagged_packets: flaggedPackets,
      flagged_packets_dropped: 0,
    });

    // flagged.pcapng: each packet of a flagged flow with its comment, and the DNS packets that named them.
    const comments = tsharkComments(join(r.data, 'sessions', meta.id, 'flagged.pcapng'));
    expect(comments).toHaveLength(flaggedPackets);
    const byFlow = new Map(
      r.alerts.map((a) => [
        a.app.flowId,
        `flow ${a.app.flowId} ${a.severity} [${a.reasons.join(',')}] ${a.names[0] ?? a.app.destIp}`,
      ]),
    );
    const first = new Map<number, AlertRecord>();
    for (const a of r.alerts) if (!first.has(a.app.flowId)) first.set(a.app.flowId, a);
    const dnsComments = new Set(
      [...first.values()].map((a) => `dns naming flow ${a.app.flowId} (${a.names.join(', ')})`),
    );
    const flowComments = new Set(byFlow.values());
    for (const cm of comments) expect([...flowComments, ...dnsComments]).toContain(cm);
    expect(comments.some((cm) => cm.startsWith('dns naming flow '))).toBe(true);
    // Every flagged flow has packets there (the ring kept them from before the alert).
    for (const cm of flowComments) expect(comments).toContain(cm);
  });

  it('LAN flows are counted at the end, not logged; outside a session packets, flows, alerts and lookups leave no trace', async () => {
    const { flows, alerts, lookups } = await reported();
    const internet = flows.find((f) => f.internet) as FlowRecord;
    expect(internet).toBeDefined();
    expect(alerts.length).toBeGreaterThan(0);
    expect(lookups.length).toBeGreaterThan(0);

    const r = rig();
    const meta = r.rec.start('LAN');
    r.rec.flow({ ...internet, internet: false });
    r.rec.flow({ ...internet, internet: false });
    r.rec.flow(internet);
    r.rec.end();
    const records = log(r, meta.id);
    expect(count(records, 'flow')).toBe(1);
    expect(records.find((x) => x.type === 'session_end')?.data).toMatchObject({
      flows_internet: 1,
      flows_local: 2,
      packets: 0,
      alerts: 0,
    });

    // After the end: the whole flight again, and every kind of report.
    const ring = r.rec.ring.size;
    await replay(r.rec, r.pipeline);
    r.rec.flow(internet);
    r.rec.alert(alerts[0]);
    r.rec.lookup(lookups[0]);
    expect(r.rec.ring.size).toBe(ring);
    expect(r.rec.records).toBe(0);
    expect(r.rec.counters()['evidence.flagged_flows']).toBe(0);
    expect(log(r, meta.id)).toEqual(records);
    expect(listSessions(r.data).map((m) => m.id)).toEqual([meta.id]);
  });

  it('a flagged flow’s naming DNS packets come out of the ring with the flow’s names, each a DNS packet asking one of them', async () => {
    const r = rig();
    const meta = r.rec.start('Ring');
    await replay(r.rec, r.pipeline);
    const id = meta.id;
    r.rec.end();
    // Every DNS packet in flagged.pcapng carries the name of the flow it named, and was a DNS packet.
    const out = execFileSync(
      'tshark',
      [
        '-r',
        join(r.data, 'sessions', id, 'flagged.pcapng'),
        '-T',
        'fields',
        '-e',
        'frame.comment',
        '-e',
        'udp.port',
        '-e',
        'tcp.port',
        '-e',
        'dns.qry.name',
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    )
      .split('\n')
      .filter((l) => l !== '');
    const dns = out.filter((l) => l.startsWith('dns naming flow '));
    expect(dns.length).toBeGreaterThan(0);
    for (const l of dns) {
      const [comment, udp, tcp, qname] = l.split('\t');
      expect([...udp.split(','), ...tcp.split(',')], l).toContain('53');
      const names = /\((.*)\)$/.exec(comment)?.[1].split(', ') ?? [];
      expect(names).toContain(qname);
    }
  });

  it('checkpoints on tick once the interval has passed, not before', () => {
    const r = rig({ checkpointSeconds: 5 });
    const meta = r.rec.start('Ticks');
    const n0 = r.rec.records;
    r.rec.command('a', {});
    r.clock.us += 4_999_999;
    r.rec.tick();
    expect(r.rec.records).toBe(n0 + 1);
    r.clock.us += 1;
    r.rec.tick();
    expect(r.rec.records).toBe(n0 + 2); // the checkpoint
    r.rec.command('b', {});
    r.clock.us += 4_000_000;
    r.rec.tick();
    expect(r.rec.records).toBe(n0 + 3);
    r.rec.end();
    const types = log(r, meta.id).map((x) => x.type);
    expect(types.slice(0, 6)).toEqual([
      'session_start',
      'checkpoint',
      'command',
      'checkpoint',
      'command',
      'session_end',
    ]);
    // The default interval is 10 s.
    const d = rig();
    d.rec.start('Default');
    const m0 = d.rec.records;
    d.rec.command('a', {});
    d.clock.us += 9_999_999;
    d.rec.tick();
    expect(d.rec.records).toBe(m0 + 1);
    d.clock.us += 1;
    d.rec.tick();
    expect(d.rec.records).toBe(m0 + 2);
    d.rec.end();
  });

  it('a suspend and a later run: the session resumes, the time away is a capture gap, counted and logged', () => {
    const r = rig();
    expect(r.rec.resume()).toBeNull();
    const meta = r.rec.start('Away');
    r.rec.command('x', {});
    r.rec.suspend();
    expect(r.rec.current).toBeNull();
    r.rec.suspend(); // twice is harmless
    const later = rig({}, r.data);
    later.clock.us = r.clock.us + 60_000_000;
    const back = later.rec.resume();
    expect(back?.id).toBe(meta.id);
    expect(back?.resumed).toBe(1);
    expect(later.rec.gapCount).toBe(1);
    expect(later.lines).toEqual([`flight ${meta.id} resumed after a gap since 2026-05-01T10:00:00.000000Z`]);
    later.rec.end();
    const records = log(later, meta.id);
    const types = records.map((x) => x.type);
    const at = types.indexOf('suspend');
    expect(types.slice(at, at + 3)).toEqual(['suspend', 'checkpoint', 'resume']);
    expect(records[at].data).toEqual({ packets: 0 });
    expect(records[at + 2].data).toEqual({ torn_bytes_dropped: 0, run: 1 });
    expect(records.find((x) => x.type === 'capture_gap')?.data).toEqual({
      start: '2026-05-01T10:00:00.000000Z',
      end: '2026-05-01T10:01:00.000000Z',
      cause: 'capture_down',
      packets_dropped: null,
      note: 'the agent was not running (restart or power cut)',
    });
  });

  it('bounds flagged.pcapng: past the bound packets are dropped and the log says so once', async () => {
    const r = rig({ pcapBytes: 2000 });
    const meta = r.rec.start('Small');
    await replay(r.rec, r.pipeline);
    const c = r.rec.counters();
    expect(c['evidence.flagged_dropped']).toBeGreaterThan(0);
    r.rec.end();
    const records = log(r, meta.id);
    expect(records.filter((x) => x.type === 'pcap_truncated').map((x) => x.data)).toEqual([
      { file: 'flagged.pcapng', max_bytes: 2000 },
    ]);
    expect(records[records.length - 2].data).toMatchObject({ flagged_packets_dropped: c['evidence.flagged_dropped'] });
    expect(readFileSync(join(r.data, 'sessions', meta.id, 'flagged.pcapng')).length).toBeLessThanOrEqual(2000);
  });

  it('remembers at most 4096 flagged flows', async () => {
    const r = rig();
    const probe = rig();
    probe.rec.start('Probe');
    await replay(probe.rec, probe.pipeline);
    probe.rec.end();
    const a = probe.alerts[0];
    const meta = r.rec.start('Many');
    for (let i = 0; i < 4097; i++) {
      (a.app as { flowId: number }).flowId = 100_000 + i; // the same alert for ever new flows
      r.rec.alert(a);
      if (i === 4095) expect(r.rec.counters()['evidence.flagged_flows']).toBe(4096);
    }
    expect(r.rec.counters()['evidence.flagged_flows']).toBe(4096);
    r.rec.end();
    expect(count(log(r, meta.id), 'alert')).toBe(4097);
  });
});

/** A DNS message for `name` (RFC 1035 §4.1): a query, or a response without answers. */
function dnsMessage(name: string, response: boolean): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(0x1234, 0);
  h.writeUInt16BE(response ? 0x8180 : 0x0100, 2);
  h.writeUInt16BE(1, 4);
  return Buffer.concat([h, dnsWireName(name), Buffer.from([0, 1, 0, 1])]);
}

describe('evidence recorder: what a flagged flow takes from the ring', () => {
  it('its own packets and the DNS packets (either way) that named it; not a non-DNS packet holding the name, nor a ping with id 53, nor DNS for another name', async () => {
    const probe = rig();
    probe.rec.start('Probe');
    await replay(probe.rec, probe.pipeline);
    probe.rec.end();
    const template = probe.alerts[0];
    expect(template).toBeDefined();

    const r = rig();
    const meta = r.rec.start('Crafted');
    const client = '192.168.8.20';
    const resolver = '192.168.8.1';
    const server = '192.168.8.30';
    const wire = dnsWireName('evil.example');
    let t = Date.parse('2026-05-01T10:00:00Z') * 1000;
    const send = (ip: Buffer): number => {
      const f = ethernet(ip);
      t += 1000;
      r.rec.packet(f, 0, f.length, f.length, t, 1);
      return r.pipeline.lastFlowId;
    };
    const udp = (src: string, dst: string, sport: number, dport: number, payload: Buffer) =>
      send(ipPacket({ src, dst }, udpDatagram({ src, dst, sport, dport, payload })));
    const tcp = (src: string, dst: string, sport: number, dport: number, flags: number, payload?: Buffer) =>
      send(ipPacket({ src, dst }, tcpSegment({ src, dst, sport, dport, flags, payload })));

    udp(client, resolver, 40000, 53, dnsMessage('evil.example', false));
    udp(resolver, client, 53, 40000, dnsMessage('evil.example', true));
    udp(client, resolver, 40001, 9999, Buffer.concat([Buffer.from('not dns '), wire]));
    // An ICMP echo request with identifier 53, holding the name.
    const echo = Buffer.alloc(8);
    echo[0] = 8;
    echo.writeUInt16BE(53, 4);
    send(ipPacket({ src: client, dst: server }, { proto: 1, bytes: Buffer.concat([echo, wire]) }));
    udp(client, resolver, 40002, 53, dnsMessage('other.example', false));
    // DNS over TCP (RFC 7766): the answer from port 53, after its two-byte length.
    const overTcp = dnsMessage('evil.example', true);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(overTcp.length);
    tcp(resolver, client, 53, 40010, 0x18, Buffer.concat([len, overTcp]));
    const id = tcp(client, server, 50000, 443, 0x02);
    expect(tcp(server, client, 443, 50000, 0x12)).toBe(id);
    expect(id).toBeGreaterThan(0);
    expect(r.rec.ring.size).toBe(8);

    const alert: AlertRecord = { ...template, names: ['evil.example'] };
    (alert.app as { flowId: number }).flowId = id; // the probe's alert, for the crafted flow
    r.rec.alert(alert);
    // Later: the flow's packets go straight to the file; a new lookup of the name stays in the ring,
    // a second alert on the flow takes nothing more.
    expect(tcp(client, server, 50000, 443, 0x10)).toBe(id);
    udp(client, resolver, 40003, 53, dnsMessage('evil.example', false));
    r.rec.alert(alert);
    r.rec.end();

    const file = join(r.data, 'sessions', meta.id, 'flagged.pcapng');
    const rows = execFileSync(
      'tshark',
      ['-r', file, '-T', 'fields', '-e', 'frame.comment', '-e', 'udp.srcport', '-e', 'udp.dstport', '-e', 'tcp.flags'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    )
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split('\t'));
    const flowComment = `flow ${id} ${alert.severity} [${alert.reasons.join(',')}] evil.example`;
    const dnsComment = `dns naming flow ${id} (evil.example)`;
    expect(rows).toEqual([
      [dnsComment, '40000', '53', ''],
      [dnsComment, '53', '40000', ''],
      [dnsComment, '', '', '0x0018'],
      [flowComment, '', '', '0x0002'],
      [flowComment, '', '', '0x0012'],
      [flowComment, '', '', '0x0010'],
    ]);
    // The file says what wrote it.
    expect(execFileSync('capinfos', [file], { encoding: 'utf8' })).toContain('Egress Sentinel 7.7.7');
  });
});

describe('evidence recorder: a resumed session counts this run only', () => {
  it('flows, gaps and packets reported before the resume are not counted; the system clock dates the gap', async () => {
    const { flows } = await reported();
    const internet = flows.find((f) => f.internet) as FlowRecord;
    expect(internet).toBeDefined();
    const local = { ...internet, internet: false };
    const r = rig({}, undefined, true);
    const meta = r.rec.start('Away');
    r.rec.suspend();
    const later = rig({}, r.data, true);
    later.rec.flow(internet);
    later.rec.flow(local);
    later.rec.captureGap({ startUs: 1, endUs: 2, cause: 'kernel_drop', packetsDropped: 3 });
    expect(later.rec.gapCount).toBe(0);
    const before = Date.now();
    expect(later.rec.resume()?.id).toBe(meta.id);
    const after = Date.now();
    expect(later.rec.gapCount).toBe(1);
    later.rec.end();
    const records = log(later, meta.id);
    expect(records.filter((x) => x.type === 'capture_gap')).toHaveLength(1);
    const gap = records.find((x) => x.type === 'capture_gap')?.data as { end: string };
    const end = Date.parse(gap.end);
    expect(end).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(end).toBeLessThanOrEqual(after);
    expect(records.find((x) => x.type === 'session_end')?.data).toMatchObject({
      flows_internet: 0,
      flows_local: 0,
      capture_gaps: 1,
      packets: 0,
    });
  });
});

describe('dnsWireName', () => {
  it.each([
    ['a.example', '0161076578616d706c6500'],
    ['A.Example.', '0161076578616d706c6500'],
    ['x', '017800'],
  ])('%s', (name, hex) => {
    expect(dnsWireName(name).toString('hex')).toBe(hex);
  });
});
