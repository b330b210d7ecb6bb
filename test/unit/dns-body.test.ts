// A DNS event's body written straight into the line (writeDnsBody,
// output/ndjson.ts) is the very text JSON.stringify makes of dnsEventBody():
// for every DNS message of every capture fixture and of a gateway-shaped
// capture, and for messages made here with what captures seldom hold
// (no question, unknown types and response codes, names that need escaping).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CaptureReader } from '../../agent/src/capture/reader.js';
import { dnsEventBody } from '../../agent/src/names/app-events.js';
import type { DnsMessage } from '../../agent/src/names/dns.js';
import { FlowApp } from '../../agent/src/names/flow-app.js';
import { appEventBody } from '../../agent/src/output/flow-record.js';
import { jsonText } from '../../agent/src/output/json-bytes.js';
import { writeAppEvent, writeDnsBody } from '../../agent/src/output/ndjson.js';
import { ScanPipeline } from '../../agent/src/pipeline.js';
import type { Policy } from '../../agent/src/policy/policy.js';
import { listFixtures } from '../support/fixtures.js';
import { gatewayCapture } from '../support/gateway-capture.js';

const written = (m: DnsMessage) => jsonText((out) => writeDnsBody(out, m));
const stringified = (m: DnsMessage) => JSON.stringify(dnsEventBody(m));

/** Each DNS message of a capture compared as the pipeline hands it on; returns how many. */
async function compareAll(capture: Buffer, policy?: Policy): Promise<number> {
  let n = 0;
  const p = new ScanPipeline(
    {
      flow: () => {},
      app: (e) => {
        if (e.dns === null) return;
        n++;
        expect(written(e.dns.message)).toBe(stringified(e.dns.message));
      },
    },
    { policy },
  );
  const reader = new CaptureReader(p, p.anomalies);
  reader.push(capture);
  reader.end();
  await p.finish();
  return n;
}

const message = (over: Partial<DnsMessage>): DnsMessage => ({
  id: 4660,
  response: true,
  opcode: 0,
  rcode: 0,
  truncated: false,
  questions: [{ name: 'www.example.org', type: 1 }],
  answers: [],
  partial: false,
  ...over,
});

describe('writeDnsBody', () => {
  it('writes every DNS message of the capture fixtures as JSON.stringify writes its body', async () => {
    let n = 0;
    for (const f of listFixtures().filter((x) => !x.bad)) n += await compareAll(readFileSync(f.input));
    expect(n).toBeGreaterThan(50);
  });

  it('writes every DNS message of a gateway-shaped capture as JSON.stringify writes its body', async () => {
    const { pcap, policy } = gatewayCapture(20_000, 100);
    expect(await compareAll(readFileSync(pcap), policy)).toBeGreaterThan(1000);
  }, 120_000);

  it.each([
    ['a query', message({ response: false })],
    ['a query with no question', message({ response: false, questions: [] })],
    ['an answer with no question', message({ questions: [] })],
    ['an answer with no records', message({})],
    ['an unknown response code and type', message({ rcode: 9, questions: [{ name: 'x.example', type: 999 }] })],
    ['NXDOMAIN', message({ rcode: 3 })],
    [
      'A, AAAA, CNAME and other records',
      message({
        answers: [
          { name: 'www.example.org', type: 5, ttl: 300, target: 'cdn.example.net' },
          { name: 'cdn.example.net', type: 1, ttl: 0, address: '192.0.2.7' },
          { name: 'cdn.example.net', type: 28, ttl: 2147483647, address: '2001:db8::7' },
          { name: 'cdn.example.net', type: 65, ttl: 60 },
        ],
      }),
    ],
    [
      'names that need escaping or are not ASCII',
      message({
        questions: [{ name: 'a"b\\c\u0001.example', type: 16 }],
        answers: [{ name: 'bücher.example\u007f', type: 5, ttl: 1, target: '日本.example' }],
      }),
    ],
  ])('writes %s as JSON.stringify writes its body', (_what, m) => {
    expect(written(m)).toBe(stringified(m));
  });
});

describe('writeAppEvent', () => {
  const app = new FlowApp(3, 53000, 53, 'UDP', false, 0x0a000002, 0, 0, 0, 0xcb00710a | 0, 0, 0, 0);
  const m = message({ answers: [{ name: 'www.example.org', type: 1, ttl: 60, address: '192.0.2.9' }] });
  const dns = { message: m, buf: new Uint8Array(0), off: 0, len: 0 };
  const body = (e: { body: Record<string, unknown> | null; dns: typeof dns | null }) =>
    (JSON.parse(jsonText((out) => writeAppEvent(out, { tsUs: 1, app, type: 'dns', ...e }))) as { dns: unknown }).dns;

  it('writes the body appEventBody() gives: made from the DNS message, or the body when the record has one', () => {
    expect(body({ body: null, dns })).toEqual(dnsEventBody(m));
    const given = { type: 'answer', id: 1, note: 'given' };
    expect(body({ body: given, dns })).toEqual(given);
    expect(body({ body: given, dns })).toEqual(appEventBody({ body: given, dns }));
    expect(body({ body: given, dns: null })).toEqual(given);
  });
});
