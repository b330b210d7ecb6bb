// Flows between packets (names/at-rest.ts): what the names, enrich and
// policy stages know is recorded beside the flow table, and names, networks
// and verdicts are shared between the flows that have the same ones. The
// shared tables hold no more values than there are open flows, and a value
// goes when the last flow holding it ends.

import { describe, expect, it } from 'vitest';
import { CaptureReader } from '../../agent/src/capture/reader.js';
import { SharedValues } from '../../agent/src/names/at-rest.js';
import type { AlertRecord, FlowRecord } from '../../agent/src/output/flow-record.js';
import { ScanPipeline } from '../../agent/src/pipeline.js';
import { ethernet, ipPacket, pcapFile, type Rec, tcpSegment } from '../support/builders.js';
import { clientHello, records } from '../support/tls-hello.js';

const T0 = 1_767_225_600_000_000;
const SYN = 2;
const ACK = 16;
const PSH = 8;

/** SYN, then the whole ClientHello for `sni` in one segment, from 10.0.0.2:`port`. */
function hello(port: number, sni: string, t: number): Rec[] {
  const src = '10.0.0.2';
  const dst = '203.0.113.10';
  const seg = (flags: number, seq: number, payload?: Buffer) =>
    ethernet(ipPacket({ src, dst }, tcpSegment({ src, dst, sport: port, dport: 443, flags, seq, payload })));
  return [
    { tsUs: t, data: seg(SYN, 100) },
    { tsUs: t + 1, data: seg(PSH | ACK, 101, records(clientHello({ sni }))) },
  ];
}

describe('flows at rest', () => {
  it('shares one names value between flows with the same names, and lets every value go when the flows end', async () => {
    const recs = [
      ...[40001, 40002, 40003, 40004].flatMap((port, i) => hello(port, 'same.example.org', T0 + i * 10)),
      ...hello(40005, 'other.example.org', T0 + 100),
    ];
    const flows: FlowRecord[] = [];
    const alerts: AlertRecord[] = [];
    const p = new ScanPipeline({ flow: (r) => flows.push(r), alert: (a) => alerts.push(a) });
    const reader = new CaptureReader(p, p.anomalies);
    reader.push(pcapFile(recs));
    expect(reader.end()).toBeNull();
    expect(p.atRest.names.size).toBe(2);
    expect(p.atRest.judgements.size).toBe(1);
    await p.finish();
    expect(flows.map((f) => [f.srcPort, f.names, f.verdict])).toEqual([
      [40001, ['same.example.org'], 'medium'],
      [40002, ['same.example.org'], 'medium'],
      [40003, ['same.example.org'], 'medium'],
      [40004, ['same.example.org'], 'medium'],
      [40005, ['other.example.org'], 'medium'],
    ]);
    // Alerted once each, when the name was read; not again at the flow's end.
    expect(alerts.map((a) => a.app.srcPort)).toEqual([40001, 40002, 40003, 40004, 40005]);
    expect([p.atRest.names.size, p.atRest.judgements.size, p.atRest.geos.size]).toEqual([0, 0, 0]);
  });

  it('counts references: a value stays while any holder does', () => {
    const t = new SharedValues<{ v: string }>();
    const a = t.add('k', { v: 'x' });
    expect(t.find('k')).toBe(a);
    t.hold(a);
    t.release(a);
    expect(t.size).toBe(1);
    expect(t.get(a)).toEqual({ v: 'x' });
    t.release(a);
    expect([t.size, t.find('k')]).toEqual([0, -1]);
    // A freed id is used again.
    expect(t.add('j', { v: 'y' })).toBe(a);
  });
});
