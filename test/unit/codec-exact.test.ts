// MQTT payloads field by field (agent/src/mqtt/codec.ts, lookup-alert.ts;
// schema agent/proto/egress/v1/egress.proto): every encoder's every field,
// set and unset, read back through decodeForTopic exactly as `egress tail`
// prints it; the enum names; the error of a damaged payload. In-process and
// fast, so mutation testing (issue 19) can run it for every mutant.

import { describe, expect, it } from 'vitest';
import { EgressError } from '../../agent/src/errors.js';
import {
  alertId,
  alertMessage,
  egress,
  encodeAlert,
  encodeFlow,
  encodeStats,
  flowMessage,
  gapMessage,
  type MessageContext,
  protoNameOf,
  statsMessage,
  u64,
  verdictName,
} from '../../agent/src/mqtt/codec.js';
import {
  encodeCommand,
  encodeCommandReply,
  encodeSession,
  encodeStatus,
  type StatusInfo,
} from '../../agent/src/mqtt/codec-control.js';
import {
  decodeAlert,
  decodeCommandReply,
  decodeFlow,
  decodeForTopic,
  decodeSession,
  decodeStats,
  decodeStatus,
} from '../../agent/src/mqtt/codec-decode.js';
import { encodeLookupAlert, lookupAlertId, lookupAlertMessage } from '../../agent/src/mqtt/lookup-alert.js';
import { topicFor } from '../../agent/src/mqtt/topics.js';
import { FlowApp } from '../../agent/src/names/flow-app.js';
import type { AlertRecord, FlowRecord } from '../../agent/src/output/flow-record.js';
import type { ScanStats } from '../../agent/src/output/ndjson.js';
import type { LookupRecord } from '../../agent/src/policy/lookups.js';

const pb = egress.v1;
const CTX: MessageContext = { gateway: 'gw-7', session: 'flight-3', run: 'run9' };
/** 10.0.0.2 and 203.0.113.9 as the flow table stores IPv4 addresses. */
const CLIENT = 0x0a000002 | 0;
const SERVER = 0xcb007109 | 0;

function app(opts: { geo?: boolean; hidden?: boolean; proto?: 'TCP' | 'UDP' | 'ICMP' | 'ICMPv6' } = {}): FlowApp {
  const proto = opts.proto ?? 'TCP';
  const ports = proto === 'ICMP' || proto === 'ICMPv6' ? null : 1;
  const a = new FlowApp(42, ports && 40000, ports && 443, proto, false, CLIENT, 0, 0, 0, SERVER, 0, 0, 0);
  if (opts.geo) {
    a.country = 'CN';
    a.asn = 37963;
    a.asOrg = 'Hangzhou Alibaba';
    a.asCountry = 'CN';
    a.appProto = 'tls';
  }
  if (opts.hidden) {
    a.ech = true;
    a.encryptedDns = 'doh';
  }
  return a;
}

/** What decodeForTopic gives for a payload on the gateway's topic of `kind`. */
function tail(kind: 'alert' | 'flow' | 'stats' | 'status' | 'session', payload: Uint8Array): Record<string, unknown> {
  const got = decodeForTopic(topicFor(CTX.gateway, kind), payload);
  expect(got?.topic).toEqual({ gateway: CTX.gateway, kind, verb: null });
  return got!.message as Record<string, unknown>;
}

describe('alert payloads', () => {
  const alert = (a: FlowApp, severity: 'medium' | 'high'): AlertRecord => ({
    tsUs: 1_767_225_600_123_456,
    app: a,
    names: ['b.example', 'a.example'],
    severity,
    reasons: ['deny_country', 'not_allowlisted'],
    text: 'Connects to a.example',
  });

  it.each([
    [
      'geo known, names hidden, high',
      alert(app({ geo: true, hidden: true }), 'high'),
      {
        app_proto: 'tls',
        dest: {
          names: ['b.example', 'a.example'],
          country: 'CN',
          asn: 37963,
          as_org: 'Hangzhou Alibaba',
          as_country: 'CN',
        },
        severity: 'high',
        names_hidden_by: ['ech', 'doh'],
      },
    ],
    [
      'nothing known, medium',
      alert(app(), 'medium'),
      { dest: { names: ['b.example', 'a.example'] }, severity: 'medium', names_hidden_by: [] },
    ],
  ])('%s: every field as tail prints it', (_, a, extra) => {
    const m = tail('alert', encodeAlert(a, CTX));
    expect(m).toEqual({
      id: `gw-7/run9/42/${a.severity}`,
      gateway: 'gw-7',
      session: 'flight-3',
      ts_us: 1_767_225_600_123_456,
      flow_id: 42,
      src_ip: '10.0.0.2',
      src_port: 40000,
      dest_ip: '203.0.113.9',
      dest_port: 443,
      proto: 'TCP',
      reasons: ['deny_country', 'not_allowlisted'],
      text: 'Connects to a.example',
      kind: 'connection',
      lookup_name: '',
      ...extra,
    });
    expect(alertId(CTX, a)).toBe(m.id);
    expect(alertMessage(a, CTX).kind).toBe(pb.AlertKind.CONNECTION);
  });

  it.each([
    ['UDP', pb.Transport.UDP],
    ['ICMP', pb.Transport.ICMP],
    ['ICMPv6', pb.Transport.ICMPV6],
  ] as const)('%s alerts carry their transport and, for ICMP, no ports', (proto, wire) => {
    const a = alert(app({ proto }), 'high');
    const m = decodeAlert(encodeAlert(a, CTX));
    expect(m.proto).toBe(wire);
    const plain = tail('alert', encodeAlert(a, CTX));
    expect(plain.proto).toBe(proto);
    expect('src_port' in plain).toBe(proto === 'UDP');
  });

  it('is a Buffer with the encoded bytes', () => {
    const a = alert(app({ geo: true }), 'high');
    const b = encodeAlert(a, CTX);
    expect(Buffer.isBuffer(b)).toBe(true);
    expect(b.equals(Buffer.from(pb.Alert.encode(alertMessage(a, CTX)).finish()))).toBe(true);
  });
});

describe('lookup alerts (kind LOOKUP)', () => {
  const lookup = (a: FlowApp): LookupRecord => ({
    tsUs: 77,
    app: a,
    name: 'mydrone.dji.com',
    rule: 'dji.com',
    severity: 'high',
    reasons: ['deny_domain'],
    text: 'Looked up mydrone.dji.com',
  });

  it.each([
    [
      'geo known',
      app({ geo: true, hidden: true }),
      { country: 'CN', asn: 37963, as_org: 'Hangzhou Alibaba', as_country: 'CN' },
    ],
    ['nothing known', app({ proto: 'UDP' }), {}],
  ])('%s: every field as tail prints it', (_, a, geo) => {
    const l = lookup(a);
    const payload = encodeLookupAlert(l, CTX);
    expect(Buffer.isBuffer(payload)).toBe(true);
    const m = tail('alert', payload);
    expect(m).toEqual({
      id: 'gw-7/run9/lookup/10.0.0.2/mydrone.dji.com',
      gateway: 'gw-7',
      session: 'flight-3',
      ts_us: 77,
      flow_id: 42,
      src_ip: '10.0.0.2',
      src_port: 40000,
      dest_ip: '203.0.113.9',
      dest_port: 443,
      proto: a.proto,
      app_proto: 'dns',
      dest: { names: ['mydrone.dji.com'], ...geo },
      severity: 'high',
      reasons: ['deny_domain'],
      text: 'Looked up mydrone.dji.com',
      // ECH or encrypted DNS on the flow does not hide the name a lookup alert is about.
      names_hidden_by: [],
      kind: 'lookup',
      lookup_name: 'mydrone.dji.com',
    });
    expect(lookupAlertId(CTX, l)).toBe(m.id);
    const msg = lookupAlertMessage(l, CTX);
    expect(msg.reasons).not.toBe(l.reasons);
    expect(msg.kind).toBe(pb.AlertKind.LOOKUP);
  });

  it('an alert of kind unspecified reads as a connection', () => {
    const m = tail(
      'alert',
      Buffer.from(pb.Alert.encode({ id: 'x', kind: pb.AlertKind.ALERT_KIND_UNSPECIFIED }).finish()),
    );
    expect([m.kind, m.severity, m.proto]).toEqual(['connection', 0, 0]);
  });
});

describe('flow payloads', () => {
  const record = (a: FlowApp, tcpState: FlowRecord['tcpState']): FlowRecord => ({
    app: a,
    flowId: 42,
    srcIp: '10.0.0.2',
    srcPort: a.srcPort,
    destIp: '203.0.113.9',
    destPort: a.destPort,
    proto: a.proto,
    internet: true,
    names: ['a.example'],
    verdict: 'allowed',
    reasons: [],
    pktsToServer: 3,
    pktsToClient: 4,
    bytesToServer: 5_000_000_000,
    bytesToClient: 6,
    startUs: 100,
    endUs: 200,
    tcpState,
    endReason: 'timeout',
  });

  it.each([
    [
      'TCP with geo and hidden names',
      record(app({ geo: true, hidden: true }), 'established'),
      {
        src_port: 40000,
        dest_port: 443,
        proto: 'TCP',
        app_proto: 'tls',
        dest: { names: ['a.example'], country: 'CN', asn: 37963, as_org: 'Hangzhou Alibaba', as_country: 'CN' },
        tcp_state: 'established',
        names_hidden_by: ['ech', 'doh'],
      },
    ],
    [
      'ICMP, nothing known',
      record(app({ proto: 'ICMP' }), null),
      { proto: 'ICMP', dest: { names: ['a.example'] }, names_hidden_by: [] },
    ],
  ])('%s: every field as tail prints it', (_, r, extra) => {
    expect(tail('flow', encodeFlow(r, CTX))).toEqual({
      gateway: 'gw-7',
      session: 'flight-3',
      flow_id: 42,
      src_ip: '10.0.0.2',
      dest_ip: '203.0.113.9',
      verdict: 'allowed',
      reasons: [],
      pkts_toserver: 3,
      pkts_toclient: 4,
      bytes_toserver: 5_000_000_000,
      bytes_toclient: 6,
      start_us: 100,
      end_us: 200,
      end_reason: 'timeout',
      ...extra,
    });
    expect(flowMessage(r, CTX).verdict).toBe(pb.Severity.ALLOWED);
    expect(decodeFlow(encodeFlow(r, CTX)).flow_id).toBeTruthy();
  });
});

const STATS: ScanStats = {
  packets: 10,
  bytes: 2000,
  firstUs: 1,
  lastUs: 2,
  format: 'pcap',
  linkTypes: [1],
  decoded: { transport: 7, ip_only: 1, not_ip: 1, malformed: 1 },
  flows: 4,
  flowsInternet: 3,
  flowsLocal: 1,
  flowTable: { evicted: 2 },
  alerts: 1,
  names: { sni: 2 },
  policy: 'p.yaml',
  databases: {},
  anomalies: { bad_checksum: 1 },
  error: null,
};

describe('stats payloads', () => {
  const base = {
    gateway: 'gw-7',
    session: 'flight-3',
    ts_us: 99,
    packets: 10,
    bytes: 2000,
    flows: 4,
    flows_internet: 3,
    flows_local: 1,
    alerts: 1,
    decoder: { transport: 7, ip_only: 1, not_ip: 1, malformed: 1 },
    flow_table: { evicted: 2 },
    names: { sni: 2 },
    anomalies: { bad_checksum: 1 },
  };

  it('without counters or capture health: empty counters, no capture', () => {
    expect(statsMessage(STATS, CTX, { tsUs: 99 }).capture).toBeUndefined();
    expect(tail('stats', encodeStats(STATS, CTX, { tsUs: 99, capture: null }))).toEqual({
      ...base,
      counters: {},
      capture: null,
    });
  });

  it.each([
    [
      'capture health without the optional parts',
      { packets: 5, kernelDrops: 1, restarts: 2, lastPacketAgeMs: null },
      { packets: 5, kernel_drops: 1, restarts: 2, interface_drops: 0, gaps: [] },
    ],
    [
      'capture health with interface drops and a gap',
      {
        packets: 5,
        kernelDrops: 1,
        restarts: 2,
        lastPacketAgeMs: 30,
        interfaceDrops: 8,
        gaps: [{ startUs: 1, endUs: 2, cause: 'kernel_drop' as const, packetsDropped: null }],
      },
      {
        packets: 5,
        kernel_drops: 1,
        restarts: 2,
        last_packet_age_ms: 30,
        interface_drops: 8,
        gaps: [{ start_us: 1, end_us: 2, cause: 'kernel_drop' }],
      },
    ],
  ])('%s', (_, capture, want) => {
    const payload = encodeStats(STATS, CTX, { tsUs: 99, counters: { 'spool.dropped_flow': 3 }, capture });
    expect(tail('stats', payload)).toEqual({ ...base, counters: { 'spool.dropped_flow': 3 }, capture: want });
    expect(u64(decodeStats(payload).packets)).toBe(10);
  });
});

describe('status payloads', () => {
  const minimal: StatusInfo = {
    gateway: 'gw-7',
    tsUs: 5,
    state: 'online',
    agentVersion: '1.2.3',
    databases: { geo: 'g1' },
    startedAtUs: 2,
    text: 'ok',
    session: '',
  };
  const base = {
    gateway: 'gw-7',
    ts_us: 5,
    agent_version: '1.2.3',
    databases: { geo: 'g1' },
    started_at_us: 2,
    text: 'ok',
    session: '',
  };
  const defaults = {
    geo_data_date: '',
    geo_data_stale: false,
    key_fingerprint: '',
    evidence_records: 0,
    policy: '',
    allow_overlay: [],
    preflight: '',
    preflight_problems: [],
    preflight_checks: [],
    alert_latched: false,
    alerts_unacknowledged: 0,
    acknowledgements: 0,
    capture_incomplete: false,
    last_capture_gap: null,
    problems: [],
  };

  it.each([
    ['online', 'online'],
    ['offline', 'offline'],
    ['degraded', 'degraded'],
  ] as const)('minimal %s status: every unset field at its default', (state, want) => {
    expect(tail('status', encodeStatus({ ...minimal, state }))).toEqual({ ...base, state: want, ...defaults });
  });

  it('every optional part set', () => {
    const full: StatusInfo = {
      ...minimal,
      session: 'flight-3',
      geoData: { dataDate: '2026-06-17', ageDays: 3, stale: true },
      keyFingerprint: 'ab:cd',
      evidenceRecords: 12,
      policy: '/etc/egress/policy.yaml',
      allowOverlay: ['x.example'],
      clockSynchronised: false,
      captureIncomplete: true,
      lastCaptureGap: { startUs: 7, endUs: 8, cause: 'capture_down', packetsDropped: 9 },
      problems: [
        { id: 'capture_error', count: 0, detail: 'tcpdump: wlan0: No such device exists' },
        { id: 'spool_full', count: 12, detail: '' },
      ],
      signals: {
        preflight: 'warn',
        preflightProblems: ['no gps'],
        preflightChecks: [
          {
            id: 'interface',
            status: 'fail',
            summary: 'interface eth1 is down',
            fix: 'ip link set eth1 up (or check the network service)',
            fixId: 'interface_down',
            fixFacts: { interface: 'eth1' },
            summaryId: 'interface_down',
            summaryFacts: { interface: 'eth1' },
          },
          // A program's own message: no summary id.
          { id: 'geo', status: 'fail', summary: 'no geo data', fix: 'install', fixId: 'geo_missing', fixFacts: {} },
        ],
        alertLatched: true,
        alertsUnacknowledged: 2,
        acknowledgements: 1,
      },
    };
    expect(tail('status', encodeStatus(full))).toEqual({
      ...base,
      session: 'flight-3',
      state: 'online',
      geo_data_date: '2026-06-17',
      geo_data_age_days: 3,
      geo_data_stale: true,
      key_fingerprint: 'ab:cd',
      evidence_records: 12,
      policy: '/etc/egress/policy.yaml',
      allow_overlay: ['x.example'],
      clock_synchronised: false,
      preflight: 'warn',
      preflight_problems: ['no gps'],
      preflight_checks: [
        {
          id: 'interface',
          status: 'fail',
          summary: 'interface eth1 is down',
          fix: 'ip link set eth1 up (or check the network service)',
          fix_id: 'interface_down',
          fix_facts: { interface: 'eth1' },
          summary_id: 'interface_down',
          summary_facts: { interface: 'eth1' },
        },
        {
          id: 'geo',
          status: 'fail',
          summary: 'no geo data',
          fix: 'install',
          fix_id: 'geo_missing',
          fix_facts: {},
          summary_id: '',
          summary_facts: {},
        },
      ],
      alert_latched: true,
      alerts_unacknowledged: 2,
      acknowledgements: 1,
      capture_incomplete: true,
      last_capture_gap: { start_us: 7, end_us: 8, cause: 'capture_down', packets_dropped: 9 },
      problems: [
        { id: 'capture_error', count: 0, detail: 'tcpdump: wlan0: No such device exists' },
        { id: 'spool_full', count: 12, detail: '' },
      ],
    });
  });

  it('geo data known to be unknown: no date, no age, not stale', () => {
    const m = tail('status', encodeStatus({ ...minimal, geoData: { dataDate: null, ageDays: null, stale: false } }));
    expect([m.geo_data_date, 'geo_data_age_days' in m, m.geo_data_stale]).toEqual(['', false, false]);
    const sync = tail('status', encodeStatus({ ...minimal, clockSynchronised: true }));
    expect(sync.clock_synchronised).toBe(true);
  });

  it('a state number this reader does not know stays a number', () => {
    const m = tail(
      'status',
      Buffer.from(pb.Status.encode({ gateway: 'g', state: 9 as typeof pb.Status.State.ONLINE }).finish()),
    );
    expect(m.state).toBe(9);
    expect(decodeStatus(encodeStatus(minimal)).state).toBe(pb.Status.State.ONLINE);
  });
});

describe('session payloads', () => {
  it.each([
    [
      'open, no evidence',
      { id: 's1', gateway: 'gw-7', name: 'F1', state: 'open' as const, startUs: 10, endUs: null },
      {
        state: 'open',
        unit: '',
        drone_serial: '',
        controller_serial: '',
        mission_ref: '',
        key_fingerprint: '',
        records: 0,
        capture_gaps: 0,
        resumed: 0,
      },
    ],
    [
      'closed with evidence',
      {
        id: 's1',
        gateway: 'gw-7',
        name: 'F1',
        state: 'closed' as const,
        startUs: 10,
        endUs: 20,
        evidence: {
          unit: 'U1',
          droneSerial: 'D1',
          controllerSerial: 'C1',
          missionRef: 'M1',
          keyFingerprint: 'kf',
          records: 5,
          captureGaps: 2,
          resumed: 1,
        },
      },
      {
        state: 'closed',
        end_us: 20,
        unit: 'U1',
        drone_serial: 'D1',
        controller_serial: 'C1',
        mission_ref: 'M1',
        key_fingerprint: 'kf',
        records: 5,
        capture_gaps: 2,
        resumed: 1,
      },
    ],
    [
      'evidence without the optional facts',
      {
        id: 's1',
        gateway: 'gw-7',
        name: 'F1',
        state: 'open' as const,
        startUs: 10,
        endUs: null,
        evidence: { keyFingerprint: 'kf', records: 0, captureGaps: 0, resumed: 0 },
      },
      {
        state: 'open',
        unit: '',
        drone_serial: '',
        controller_serial: '',
        mission_ref: '',
        key_fingerprint: 'kf',
        records: 0,
        capture_gaps: 0,
        resumed: 0,
      },
    ],
  ])('%s', (_, s, want) => {
    const payload = encodeSession(s);
    expect(tail('session', payload)).toEqual({ id: 's1', gateway: 'gw-7', name: 'F1', start_us: 10, ...want });
    expect(decodeSession(payload).state).toBe(s.state === 'open' ? 1 : 2);
  });
});

describe('commands and replies', () => {
  it('round-trip through their topics', () => {
    const cmd = decodeForTopic(
      'egress/v1/gw-7/cmd/export',
      encodeCommand({ id: 'c', verb: 'export', token: 't', args: { a: 'b' } }),
    );
    expect(cmd).toEqual({
      topic: { gateway: 'gw-7', kind: 'cmd', verb: 'export' },
      message: { id: 'c', verb: 'export', token: 't', args: { a: 'b' } },
    });
    const reply = encodeCommandReply({ id: 'c', ok: true, code: '', message: 'done' });
    expect(Buffer.isBuffer(reply)).toBe(true);
    expect(decodeCommandReply(reply).ok).toBe(true);
  });
});

describe('enum names, u64, gaps', () => {
  it.each([
    [0, null, null],
    [1, 'allowed', 'TCP'],
    [2, 'medium', 'UDP'],
    [3, 'high', 'ICMP'],
    [4, null, 'ICMPv6'],
    [5, null, null],
  ])('enum value %i: verdict %s, transport %s', (v, verdict, proto) => {
    expect(verdictName(v)).toBe(verdict);
    expect(protoNameOf(v)).toBe(proto);
  });

  it.each([
    [null, 0],
    [undefined, 0],
    [0, 0],
    [7, 7],
    [{ toNumber: () => 2 ** 40 }, 2 ** 40],
  ])('u64(%o) is %d', (v, want) => {
    expect(u64(v)).toBe(want);
  });

  it('a gap with a known drop count', () => {
    expect(gapMessage({ startUs: 1, endUs: 2, cause: 'interface_drop', packetsDropped: 4 })).toEqual({
      start_us: 1,
      end_us: 2,
      cause: 'interface_drop',
      packets_dropped: 4,
    });
  });
});

describe('damaged payloads and other topics', () => {
  it('not an egress/v1 topic: null, the payload not read', () => {
    expect(decodeForTopic('egress/v2/gw-7/alert', Buffer.from([0xff]))).toBeNull();
  });

  it.each([
    ['alert', decodeAlert],
    ['status', decodeStatus],
  ] as const)('a truncated %s is EGRESS_PAYLOAD_INVALID with the kind and length', (kind, fn) => {
    const bad = Buffer.from([0x0a, 0x05, 0x61]);
    let err: unknown;
    try {
      fn(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EgressError);
    const e = err as EgressError;
    expect(e.code).toBe('EGRESS_PAYLOAD_INVALID');
    expect(e.message).toMatch(new RegExp(`^not an egress\\.v1 ${kind} payload \\(3 bytes\\): \\S`));
    expect(e.facts).toEqual({ kind, length: 3 });
  });
});
