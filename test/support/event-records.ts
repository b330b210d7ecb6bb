// Shared by the event ring tests (test/unit/event-*.test.ts): records of
// every kind with the values that are easy to get wrong, the lines the
// pipeline's own writers make of them, a ring drained on the test's thread,
// the built worker and modules, and FIFOs for outputs that block.

import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Anomalies } from '../../agent/src/decode/anomaly.js';
import { parseDnsMessage } from '../../agent/src/names/dns.js';
import { FlowApp } from '../../agent/src/names/flow-app.js';
import { describeJudgement } from '../../agent/src/output/describe.js';
import { drainEvents } from '../../agent/src/output/event-consumer.js';
import { EventProducer } from '../../agent/src/output/event-producer.js';
import { EventRing } from '../../agent/src/output/event-ring.js';
import type { AlertFactsRecord, AlertRecord, AppEventRecord, FlowRecord } from '../../agent/src/output/flow-record.js';
import { JsonBytes } from '../../agent/src/output/json-bytes.js';
import { writeAlertEvent, writeAppEvent, writeFlowEvent } from '../../agent/src/output/ndjson.js';
import { ROOT } from './cli.js';
import { A_RESPONSE, AAAA_RESPONSE, CNAME_CHAIN, QUERY } from './dns-vectors.js';

/** The built worker: the sources run under vitest, the worker runs as plain JavaScript. */
export const WORKER = pathToFileURL(join(ROOT, 'agent/dist/output/event-worker.js'));

/** A temporary directory, removed when the test process exits. */
export const dir = mkdtempSync(join(tmpdir(), 'egress-events-'));
process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
/** The built modules, for a helper thread that plays the pipeline. */
export const BUILT = (m: string) => pathToFileURL(join(ROOT, 'agent/dist/output', m)).href;

export async function mkfifo(path: string): Promise<void> {
  const mk = spawn('mkfifo', [path]);
  await new Promise((r) => mk.on('exit', r));
}

/** A reader of `fifo` that takes its first `bytes` bytes and goes away: what it got, and its end. */
export function shortReader(fifo: string, bytes: number): { got: () => string; done: Promise<unknown> } {
  const reader = spawn('head', ['-c', String(bytes), fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
  let got = '';
  reader.stdout.on('data', (b: Buffer) => {
    got += b.toString();
  });
  return { got: () => got, done: new Promise((r) => reader.on('exit', r)) };
}

export type Rec =
  | { flow: FlowRecord }
  | { alert: AlertRecord }
  | { alertFacts: AlertFactsRecord }
  | { app: AppEventRecord }
  | { line: string };

export function v4(
  id: number,
  sport: number | null,
  dport: number | null,
  proto: FlowRecord['proto'] = 'TCP',
): FlowApp {
  return new FlowApp(id, sport, dport, proto, false, 0x0a000002, 0, 0, 0, 0xcb00710a | 0, 0, 0, 0);
}

export function v6(id: number): FlowApp {
  // 2001:db8::1 to ::ffff:192.0.2.7 (an IPv4-mapped destination keeps its dotted tail)
  return new FlowApp(id, 51000, 443, 'UDP', true, 0x20010db8, 0, 0, 1, 0, 0, 0xffff, 0xc0000207 | 0);
}

export function flowRecord(app: FlowApp, names: string[], extra: Partial<FlowRecord> = {}): FlowRecord {
  return {
    app,
    flowId: app.flowId,
    srcIp: app.srcIp,
    srcPort: app.srcPort,
    destIp: app.destIp,
    destPort: app.destPort,
    proto: app.proto,
    internet: true,
    names,
    verdict: 'medium',
    reasons: ['not_allowlisted'],
    pktsToServer: 7,
    pktsToClient: 5,
    bytesToServer: 1_234,
    bytesToClient: 2 ** 40 + 3, // beyond 32 bits
    startUs: 1_767_225_600_000_001,
    endUs: 1_767_225_601_999_999,
    tcpState: 'closed',
    endReason: 'closed',
    tunnel: null,
    ...extra,
  };
}

export function dnsEvent(app: FlowApp, tsUs: number, wire: Buffer, at = 0): AppEventRecord {
  // The message inside a larger buffer, as a packet holds it.
  const buf = Buffer.concat([Buffer.alloc(at, 0xee), wire, Buffer.alloc(5, 0xee)]);
  const message = parseDnsMessage(buf, at, wire.length, new Anomalies());
  if (message === null) throw new Error('test vector does not parse');
  return { tsUs, app, type: 'dns', body: null, dns: { message, buf, off: at, len: wire.length } };
}

/** Every kind of record, with the values that are easy to get wrong. */
export function variety(): Rec[] {
  const plain = v4(1, 40000, 443);
  const odd = v4(2, 40001, 443);
  odd.appProto = 'tls';
  odd.country = 'CN';
  odd.asn = 4_294_967_295; // the largest 32-bit ASN
  odd.asOrg = 'Société "Générale" \\ ✓ \u0001 tab\t end';
  odd.asCountry = 'FR';
  odd.ech = true;
  odd.encryptedDns = 'doh';
  const icmp = v4(3, null, null, 'ICMP');
  const six = v6(4);
  six.appProto = 'quic';
  six.encryptedDns = 'doq';
  // Port 0 and AS 0 are numbers, not absent.
  const zero = v4(8, 0, 0, 'UDP');
  zero.asn = 0;
  zero.country = 'NL';
  const tunnel = { type: 'vxlan' as const, outerSrcIp: '198.51.100.1', outerDestIp: '2001:db8::9' };
  // A flow named by its own ClientHello and Host header too.
  const named = v4(9, 40002, 443);
  named.appProto = 'tls';
  named.sni = 'www.dji.com';
  named.httpHost = 'h "quoted" ✓.example';
  named.country = 'CN';
  named.asn = 4_294_967_295;
  named.asOrg = 'Alibaba';
  named.asCountry = 'CN';
  return [
    { flow: flowRecord(plain, []) },
    { flow: flowRecord(odd, ['a.example', 'ünïcode.example', 'emoji-😀.example'], { verdict: 'high' }) },
    {
      flow: flowRecord(icmp, [], {
        verdict: 'allowed',
        reasons: [],
        tcpState: null,
        endReason: 'timeout',
        tunnel,
      }),
    },
    {
      flow: flowRecord(six, ['x.example'], {
        reasons: ['deny_country', 'deny_as_country', 'deny_asn', 'deny_domain'],
        endReason: 'end_of_input',
        tcpState: null,
      }),
    },
    {
      alert: {
        tsUs: 1_767_225_600_123_456,
        app: odd,
        names: ['a.example'],
        severity: 'high',
        reasons: ['deny_country'],
        text: 'Connects to 203.0.113.10: “quoted” \\ and a lone surrogate \ud800 and 😀.',
        tunnel,
      },
    },
    {
      alert: {
        tsUs: 0,
        app: plain,
        names: [],
        severity: 'medium',
        reasons: ['not_allowlisted'],
        text: '',
        tunnel: undefined,
      },
    },
    // Alerts whose text the thread makes: the flow's own names, every rule that can match, a tunnel.
    {
      alertFacts: {
        tsUs: 1_767_225_600_500_000,
        app: named,
        names: ['cdn.example', 'www.dji.com'],
        severity: 'high',
        judgement: {
          verdict: 'high',
          reasons: ['deny_country', 'deny_as_country', 'deny_asn', 'deny_domain'],
          matched: { deny_country: 'CN', deny_as_country: 'CN', deny_asn: 'AS4294967295', deny_domain: '*.dji.com' },
        },
        tunnel,
      },
    },
    {
      alertFacts: {
        tsUs: 3,
        app: odd,
        names: [],
        severity: 'medium',
        judgement: { verdict: 'medium', reasons: ['not_allowlisted'], matched: {} },
        tunnel: null,
      },
    },
    {
      alertFacts: {
        tsUs: 4,
        app: six,
        names: ['ünïcode.example', 'x.example'],
        severity: 'high',
        judgement: { verdict: 'high', reasons: ['deny_domain'], matched: { deny_domain: 'ünïcode.example' } },
        tunnel: null,
      },
    },
    {
      app: {
        tsUs: 5,
        app: odd,
        type: 'tls',
        body: { sni: 'a.example', alpn: ['h2', 'http/1.1'], ech: true, version: 'TLS 1.3' },
        dns: null,
      },
    },
    {
      app: {
        tsUs: 6,
        app: six,
        type: 'quic',
        body: { version: '0x00000001', sni: null, alpn: [], ech: false },
        dns: null,
      },
    },
    {
      app: {
        tsUs: 7,
        app: plain,
        type: 'http',
        // Members left out when undefined, null in arrays; numbers of every kind; nested values.
        body: {
          hostname: 'h.example',
          http_method: 'GET',
          url: '/ä?q="1"',
          protocol: undefined,
          http_user_agent: null,
          n: [0, -1, 1.5, 2 ** 53, Number.NaN, undefined, { deep: [true, false] }],
          f: () => 1,
        },
        dns: null,
      },
    },
    { flow: flowRecord(zero, [], { verdict: 'allowed', reasons: [], tcpState: null, endReason: 'timeout' }) },
    { app: dnsEvent(v4(5, 53000, 53, 'UDP'), 8, QUERY) },
    { app: dnsEvent(v4(5, 53000, 53, 'UDP'), 9, A_RESPONSE, 17) },
    { app: dnsEvent(v6(6), 10, AAAA_RESPONSE, 3) },
    { app: dnsEvent(v4(7, 53001, 53, 'TCP'), 11, CNAME_CHAIN) },
    { line: '{"timestamp":"2026-01-01T00:00:00.000000Z","event_type":"capture_gap","note":"é"}' },
  ];
}

/** The lines as the pipeline's own writers make them. */
export function direct(records: Rec[]): Buffer {
  const out = new JsonBytes(Buffer.alloc(1 << 16), (o, need) => {
    const bigger = Buffer.alloc(Math.max(2 * o.buf.length, o.pos + need));
    o.buf.copy(bigger, 0, 0, o.pos);
    o.buf = bigger;
  });
  for (const r of records) {
    if ('flow' in r) writeFlowEvent(out, r.flow);
    else if ('alert' in r) writeAlertEvent(out, r.alert);
    else if ('alertFacts' in r) {
      const a = r.alertFacts;
      const j = a.judgement;
      const text = describeJudgement(a.app, a.names, j, a.tunnel);
      writeAlertEvent(out, { ...a, reasons: j.reasons, text });
    } else if ('app' in r) writeAppEvent(out, r.app);
    else {
      out.room(3 * r.line.length);
      out.pos += out.buf.write(r.line, out.pos, 'utf8');
    }
    out.byte(0x0a);
  }
  return Buffer.from(out.buf.subarray(0, out.pos));
}

export function give(p: EventProducer, records: Rec[]): void {
  for (const r of records) {
    if ('flow' in r) p.flow(r.flow);
    else if ('alert' in r) p.alert(r.alert);
    else if ('alertFacts' in r) p.alertFacts(r.alertFacts);
    else if ('app' in r) p.app(r.app);
    else p.line(r.line);
  }
}

/** Records through a ring and drainEvents on this thread (all of them must fit in the ring). */
export function throughRing(records: Rec[]): Buffer {
  const ring = EventRing.create();
  const p = new EventProducer(ring);
  give(p, records);
  p.finish();
  const file = join(dir, `ring-${Math.random()}.ndjson`);
  const fd = openSync(file, 'w');
  try {
    drainEvents(ring, fd);
  } finally {
    closeSync(fd);
  }
  return readFileSync(file);
}

/** Many records of every kind, in a different order each round: several times the ring. */
export function many(rounds: number): Rec[] {
  const out: Rec[] = [];
  for (let i = 0; i < rounds; i++) {
    const v = variety();
    for (let k = 0; k < v.length; k++) out.push(v[(k + i) % v.length]);
  }
  return out;
}
