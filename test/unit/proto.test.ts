// MQTT payloads (schema egress.v1): every flow and alert of real captures
// says, after encode and decode, exactly what its NDJSON line says; ICMP's
// missing ports stay missing; an older reader skips fields a newer schema
// added; the generated code compiles no strings and is what the schema gives.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureReader } from '../../agent/src/capture/reader.js';
import { Enricher } from '../../agent/src/enrich/enricher.js';
import { DEFAULT_GEO_PATH, GeoDb } from '../../agent/src/enrich/geo.js';
import { EgressError } from '../../agent/src/errors.js';
import {
  alertId,
  egress,
  encodeAlert,
  encodeFlow,
  encodeStats,
  type MessageContext,
  u64,
} from '../../agent/src/mqtt/codec.js';
import { encodeCommand, encodeCommandReply, encodeSession, encodeStatus } from '../../agent/src/mqtt/codec-control.js';
import { decodeAlert, decodeCommand, decodeForTopic, decodeStats } from '../../agent/src/mqtt/codec-decode.js';
import { commandTopic, parseTopic, replyTopic, topicFor } from '../../agent/src/mqtt/topics.js';
import { FlowApp } from '../../agent/src/names/flow-app.js';
import type { AlertRecord, FlowRecord } from '../../agent/src/output/flow-record.js';
import { alertEventLine, flowEventLine, statsEvent } from '../../agent/src/output/ndjson.js';
import { collectStats } from '../../agent/src/output/stats.js';
import { isoMicros } from '../../agent/src/output/time.js';
import { ScanPipeline } from '../../agent/src/pipeline.js';
import { loadPolicy } from '../../agent/src/policy/load.js';
import { ROOT } from '../support/cli.js';
import { FIXTURES_DIR, listFixtures } from '../support/fixtures.js';
import { Rng } from '../support/fuzz.js';

/** Full protobufjs (reflection), the agent's dependency: only tests build a schema at run time. */
const protobuf = createRequire(join(ROOT, 'agent/package.json'))('protobufjs');

const CTX: MessageContext = { gateway: 'gw-test.1', session: 'flight-7', run: 'r1' };
const POLICY = loadPolicy({ file: join(FIXTURES_DIR, 'names/policy.yaml') });
const ENRICHER = new Enricher(GeoDb.load(DEFAULT_GEO_PATH), POLICY.geoOverrides);

async function scan(input: string) {
  const flows: FlowRecord[] = [];
  const alerts: AlertRecord[] = [];
  const p = new ScanPipeline(
    { flow: (r) => flows.push(r), alert: (a) => alerts.push(a) },
    { policy: POLICY, enricher: ENRICHER },
  );
  const reader = new CaptureReader(p, p.anomalies, input);
  reader.push(readFileSync(input));
  const error = reader.end();
  await p.finish();
  return { flows, alerts, stats: collectStats(p, reader, error, POLICY.source, ENRICHER.versions()) };
}

/** A decoded message (plain) in NDJSON's form: unset optional fields are null, `_us` times are ISO strings. */
function asNdjson(m: Record<string, any>) {
  const dest = m.dest ?? {};
  return {
    flow_id: m.flow_id,
    src_ip: m.src_ip,
    src_port: m.src_port ?? null,
    dest_ip: m.dest_ip,
    dest_port: m.dest_port ?? null,
    proto: m.proto,
    app_proto: m.app_proto ?? null,
    dest: {
      names: dest.names ?? [],
      country: dest.country ?? null,
      asn: dest.asn ?? null,
      as_org: dest.as_org ?? null,
      as_country: dest.as_country ?? null,
    },
    names_hidden_by: m.names_hidden_by,
  };
}

const NAMES_CAPTURES = listFixtures().filter((f) => f.name.startsWith('names/') || f.name.startsWith('icmp/'));

describe('egress.v1 payloads from real captures', () => {
  it('uses captures that hold alerts, ICMP and IPv6 flows', () => {
    expect(NAMES_CAPTURES.length).toBeGreaterThanOrEqual(20);
  });

  it.each(NAMES_CAPTURES.map((f) => [f.name, f.input]))(
    '%s: flows and alerts say what their NDJSON lines say',
    async (_, input) => {
      const { flows, alerts } = await scan(input);
      const internet = flows.filter((r) => r.internet);
      expect(internet.length).toBeGreaterThan(0);
      for (const r of internet) {
        const line = JSON.parse(flowEventLine(r));
        const payload = encodeFlow(r, CTX);
        const got = decodeForTopic(topicFor(CTX.gateway, 'flow'), payload)!;
        expect(got.topic).toEqual({ gateway: CTX.gateway, kind: 'flow', verb: null });
        const m = got.message as Record<string, any>;
        const { timestamp, event_type, ...want } = line;
        expect(event_type).toBe('flow');
        expect({
          ...asNdjson(m),
          verdict: m.verdict,
          reasons: m.reasons,
          pkts_toserver: m.pkts_toserver ?? 0,
          pkts_toclient: m.pkts_toclient ?? 0,
          bytes_toserver: m.bytes_toserver ?? 0,
          bytes_toclient: m.bytes_toclient ?? 0,
          start: isoMicros(m.start_us),
          end: isoMicros(m.end_us),
          tcp_state: m.tcp_state ?? null,
          end_reason: m.end_reason,
        }).toEqual(want);
        expect(timestamp).toBe(isoMicros(m.end_us));
        expect([m.gateway, m.session]).toEqual([CTX.gateway, CTX.session]);
      }
      for (const a of alerts) {
        const line = JSON.parse(alertEventLine(a));
        const m = decodeAlert(encodeAlert(a, CTX));
        const plain = decodeForTopic(topicFor(CTX.gateway, 'alert'), encodeAlert(a, CTX))!.message as Record<
          string,
          any
        >;
        const { timestamp, event_type, alert, ...want } = line;
        expect(asNdjson(plain)).toEqual(want);
        expect({ severity: plain.severity, reasons: plain.reasons, text: plain.text }).toEqual(alert);
        expect(isoMicros(u64(m.ts_us))).toBe(timestamp);
        expect(m.id).toBe(alertId(CTX, a));
        expect(m.id).toBe(`gw-test.1/r1/${a.app.flowId}/${a.severity}`);
      }
    },
  );

  it('alert ids are unique across a capture with a severity rise', async () => {
    const all: string[] = [];
    for (const f of NAMES_CAPTURES) {
      const { alerts } = await scan(f.input);
      all.push(...alerts.map((a) => `${f.name}:${decodeAlert(encodeAlert(a, CTX)).id}`));
    }
    expect(all.length).toBeGreaterThan(10);
    expect(new Set(all).size).toBe(all.length);
  });

  it('stats carry every NDJSON stats counter under the same names', async () => {
    const { stats } = await scan(join(FIXTURES_DIR, 'names/dns-then-https/input.pcap'));
    const ndjson = statsEvent(stats) as Record<string, any>;
    const capture = { packets: 12, kernelDrops: 3, restarts: 1, lastPacketAgeMs: 250 };
    const m = decodeStats(
      encodeStats(stats, CTX, { tsUs: 1_767_225_600_000_000, counters: { 'spool.dropped_flow': 2 }, capture }),
    );
    const map = (o: Record<string, any>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, u64(v)]));
    expect([u64(m.packets), u64(m.bytes), u64(m.flows), u64(m.alerts)]).toEqual([
      ndjson.packets,
      ndjson.bytes,
      ndjson.flows,
      ndjson.alerts,
    ]);
    expect([u64(m.flows_internet), u64(m.flows_local)]).toEqual([ndjson.flows_internet, ndjson.flows_local]);
    expect(map(m.decoder)).toEqual(ndjson.decoder);
    expect(map(m.flow_table)).toEqual(ndjson.flow_table);
    expect(map(m.names)).toEqual(ndjson.names);
    expect(map(m.anomalies)).toEqual(ndjson.anomalies);
    expect(map(m.counters)).toEqual({ 'spool.dropped_flow': 2 });
    const c = m.capture!;
    expect([c.packets, c.kernel_drops, c.restarts, c.last_packet_age_ms].map(u64)).toEqual([12, 3, 1, 250]);
  });
});

/** 10.0.0.2 and 203.0.113.9 as the flow table stores IPv4 addresses: one 32-bit word. */
const CLIENT = 0x0a000002 | 0;
const SERVER = 0xcb007109 | 0;

describe('optional fields', () => {
  function record(proto: 'TCP' | 'ICMP', port: number | null): AlertRecord {
    const app = new FlowApp(9, port, port, proto, false, CLIENT, 0, 0, 0, SERVER, 0, 0, 0);
    return { tsUs: 1, app, names: [], severity: 'high', reasons: ['deny_country'], text: 't' };
  }

  it('ICMP has no ports; TCP port 0 stays 0', () => {
    const icmp = decodeAlert(encodeAlert(record('ICMP', null), CTX));
    expect([icmp.src_port, icmp.dest_port, icmp.proto]).toEqual([null, null, egress.v1.Transport.ICMP]);
    const zero = decodeAlert(encodeAlert(record('TCP', 0), CTX));
    expect([zero.src_port, zero.dest_port]).toEqual([0, 0]);
    // Unknown country and AS: unset, not "" or 0.
    expect([icmp.dest.country, icmp.dest.asn, icmp.dest.as_org]).toEqual([null, null, null]);
  });

  it('the ICMP capture decodes with null ports', async () => {
    const { flows } = await scan(join(FIXTURES_DIR, 'icmp/ping/input.pcap'));
    const m = decodeForTopic('egress/v1/gw/flow', encodeFlow(flows[0], CTX))!.message as Record<string, any>;
    expect(m.proto).toBe('ICMP');
    expect('src_port' in m || 'dest_port' in m).toBe(false);
  });
});

describe('schema evolution', () => {
  /** The schema as a later egress.v1 may extend it: a new field in Alert and in Destination, a new severity. */
  function newerSchema() {
    const text = readFileSync(join(ROOT, 'agent/proto/egress/v1/egress.proto'), 'utf8')
      .replace('  HIGH = 3;\n', '  HIGH = 3;\n  CRITICAL = 4;\n')
      .replace('  string lookup_name = 18;\n}', '  string lookup_name = 18;\n  string operator_note = 19;\n}')
      .replace(
        '  optional string as_country = 5;\n',
        '  optional string as_country = 5;\n  repeated uint32 rtt_ms = 6;\n',
      );
    return protobuf.parse(text, { keepCase: true }).root;
  }

  it('an older reader decodes a newer message, skipping the fields it does not know', () => {
    const root = newerSchema();
    const Alert = root.lookupType('egress.v1.Alert');
    const bytes = Alert.encode(
      Alert.fromObject({
        id: 'x',
        src_port: 443,
        dest: { names: ['a.example'], rtt_ms: [3, 4] },
        severity: 4,
        reasons: ['deny_domain'],
        operator_note: 'checked',
      }),
    ).finish();
    const old = decodeAlert(bytes);
    expect([old.id, old.src_port, old.dest.names, old.reasons]).toEqual(['x', 443, ['a.example'], ['deny_domain']]);
    // A severity this reader does not know stays a number, never read as ALLOWED.
    expect(old.severity).toBe(4);
    expect((decodeForTopic('egress/v1/g/alert', bytes)!.message as any).severity).toBe(4);
  });

  it('a newer reader decodes an older message', () => {
    const Alert = newerSchema().lookupType('egress.v1.Alert');
    const a = Alert.toObject(Alert.decode(encodeAlert(optionalRecord(), CTX)), { defaults: true }) as Record<
      string,
      any
    >;
    expect([a.src_ip, a.operator_note]).toEqual(['10.0.0.2', '']);
  });
});

function optionalRecord(): AlertRecord {
  const app = new FlowApp(1, 40000, 443, 'TCP', false, CLIENT, 0, 0, 0, SERVER, 0, 0, 0);
  return { tsUs: 1, app, names: [], severity: 'medium', reasons: ['not_allowlisted'], text: 't' };
}

describe('other messages and topics', () => {
  it('status, session, command and reply round-trip through their topics', () => {
    const gw = CTX.gateway;
    const cases: [string, Buffer, object][] = [
      [
        topicFor(gw, 'status'),
        encodeStatus({
          gateway: gw,
          tsUs: 5,
          state: 'degraded',
          agentVersion: '0.1.0',
          databases: { geo: '2.3.2026061719' },
          startedAtUs: 2,
          text: 'capture stalled',
          session: '',
        }),
        { gateway: gw, ts_us: 5, state: 'degraded', agent_version: '0.1.0', databases: { geo: '2.3.2026061719' } },
      ],
      [
        topicFor(gw, 'session'),
        encodeSession({ id: 's1', gateway: gw, name: 'Flight 1', state: 'closed', startUs: 10, endUs: 20 }),
        { id: 's1', name: 'Flight 1', state: 'closed', start_us: 10, end_us: 20 },
      ],
      [
        commandTopic(gw, 'end_flight'),
        encodeCommand({ id: 'c1', verb: 'end_flight', token: 'tok', args: { reason: 'landed' } }),
        { id: 'c1', verb: 'end_flight', token: 'tok', args: { reason: 'landed' } },
      ],
      [
        replyTopic(gw, 'end_flight'),
        encodeCommandReply({ id: 'c1', ok: false, code: 'EGRESS_USAGE', message: 'no open session' }),
        { id: 'c1', ok: false, code: 'EGRESS_USAGE', message: 'no open session' },
      ],
    ];
    for (const [topic, payload, want] of cases) {
      expect(decodeForTopic(topic, payload)!.message).toMatchObject(want);
    }
    expect(decodeCommand(cases[2][1]).args).toEqual({ reason: 'landed' });
  });

  it('names the topics of DESIGN.md and refuses ids that cannot be a topic level', () => {
    expect(topicFor('gw1', 'alert')).toBe('egress/v1/gw1/alert');
    expect(commandTopic('gw1', 'start_flight')).toBe('egress/v1/gw1/cmd/start_flight');
    expect(parseTopic('egress/v1/gw1/cmd/start_flight')).toEqual({ gateway: 'gw1', kind: 'cmd', verb: 'start_flight' });
    expect(parseTopic('egress/v1/gw1/stats')).toEqual({ gateway: 'gw1', kind: 'stats', verb: null });
    for (const t of ['egress/v2/gw1/alert', 'egress/v1/gw1/other', 'egress/v1/gw1/alert/x', 'egress/v1/+/alert']) {
      expect(parseTopic(t)).toBeNull();
    }
    for (const bad of ['', 'a/b', 'gw+', '#', 'x'.repeat(65), '.hidden']) {
      expect(() => topicFor(bad, 'alert')).toThrow(EgressError);
    }
    expect(() => commandTopic('gw1', 'Start/x')).toThrow(/EGRESS_USAGE|command verb/);
  });

  it('a damaged payload is EGRESS_PAYLOAD_INVALID, never another exception (seeded)', () => {
    const seed = 0x9e3779b9;
    const rng = new Rng(seed);
    const good = encodeAlert(optionalRecord(), CTX);
    let invalid = 0;
    for (let i = 0; i < 2000; i++) {
      const buf = Buffer.from(good);
      const n = 1 + rng.below(4);
      for (let k = 0; k < n; k++) buf[rng.below(buf.length)] = rng.below(256);
      const cut = buf.subarray(0, rng.below(buf.length + 1));
      try {
        decodeForTopic('egress/v1/g/alert', cut);
      } catch (err) {
        expect(err, `seed ${seed} case ${i}`).toBeInstanceOf(EgressError);
        expect((err as EgressError).code).toBe('EGRESS_PAYLOAD_INVALID');
        invalid++;
      }
    }
    expect(invalid).toBeGreaterThan(0);
  });
});

describe('generated code', () => {
  it('contains no eval and no Function constructor', () => {
    const js = readFileSync(join(ROOT, 'agent/proto/gen/egress.js'), 'utf8');
    expect(js).toMatch(/^\/\/ Generated by agent\/scripts\/gen-proto\.mjs/);
    expect(js).not.toMatch(/\beval\s*\(|\bFunction\s*\(/);
    expect(js).toContain('import $protobuf from "protobufjs/minimal.js"');
  });

  it('runs with code generation from strings disabled (as under a strict CSP)', () => {
    const script = `
      import * as c from ${JSON.stringify(join(ROOT, 'agent/dist/mqtt/codec-control.js'))};
      import * as d from ${JSON.stringify(join(ROOT, 'agent/dist/mqtt/codec-decode.js'))};
      const cmd = c.encodeCommand({ id: '1', verb: 'export', token: 't', args: { a: 'b' } });
      const out = d.decodeForTopic('egress/v1/g/cmd/export', cmd);
      const st = d.decodeForTopic('egress/v1/g/session', c.encodeSession({ id: 's', gateway: 'g', name: 'n', state: 'open', startUs: 1, endUs: null }));
      let blocked = false;
      try { new Function('return 1'); } catch { blocked = true; }
      console.log(JSON.stringify({ out, st, blocked }));`;
    const r = spawnSync(
      process.execPath,
      ['--disallow-code-generation-from-strings', '--input-type=module', '-e', script],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout);
    expect(got.blocked).toBe(true);
    expect(got.out.message).toEqual({ id: '1', verb: 'export', token: 't', args: { a: 'b' } });
    expect(got.st.message.state).toBe('open');
  });

  it('is what the schema gives (regenerating changes nothing)', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'agent/scripts/gen-proto.mjs'), '--check'], { encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });
});
