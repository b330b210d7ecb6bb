// The names stage's own memory bound: flows whose ClientHello spans segments
// need a reassembly buffer; no more than maxReassemblyStates hold one at a
// time. Beyond that a flow is judged without a name (counted), buffers are
// released when naming ends or the flow ends, and nothing is lost.

import { describe, expect, it } from 'vitest';
import { CaptureReader } from '../../agent/src/capture/reader.js';
import type { FlowRecord } from '../../agent/src/output/flow-record.js';
import { ScanPipeline } from '../../agent/src/pipeline.js';
import { ethernet, ipPacket, pcapFile, type Rec, tcpSegment } from '../support/builders.js';
import { clientHello, records } from '../support/tls-hello.js';

const T0 = 1_767_225_600_000_000;
const SYN = 2;
const ACK = 16;
const PSH = 8;

/** A client that sends the SYN and the first half of a post-quantum ClientHello for `sni`; the rest later if `finish`. */
function halfHello(port: number, sni: string, t: number): { first: Rec[]; rest: Rec } {
  const src = '10.0.0.2';
  const dst = '203.0.113.10';
  const hello = records(clientHello({ sni, postQuantum: true }));
  const cut = 1000;
  const seg = (flags: number, seq: number, payload?: Buffer) =>
    ethernet(ipPacket({ src, dst }, tcpSegment({ src, dst, sport: port, dport: 443, flags, seq, payload })));
  return {
    first: [
      { tsUs: t, data: seg(SYN, 100) },
      { tsUs: t + 1, data: seg(PSH | ACK, 101, hello.subarray(0, cut)) },
    ],
    rest: { tsUs: t + 1_000, data: seg(PSH | ACK, 101 + cut, hello.subarray(cut)) },
  };
}

async function scan(recs: Rec[], maxReassemblyStates: number) {
  const flows: FlowRecord[] = [];
  const p = new ScanPipeline({ flow: (r) => flows.push(r) }, { maxReassemblyStates });
  const reader = new CaptureReader(p, p.anomalies);
  reader.push(pcapFile(recs));
  expect(reader.end()).toBeNull();
  const during = p.names.reassemblyStates;
  await p.finish();
  return { flows, p, during };
}

describe('names stage bound on reassembly buffers', () => {
  it('names every flow while the bound holds, and releases each buffer when its name is known', async () => {
    const a = halfHello(40001, 'a.example.org', T0);
    const b = halfHello(40002, 'b.example.org', T0 + 10);
    const { flows, p, during } = await scan([...a.first, ...b.first, a.rest, b.rest], 2);
    expect(flows.map((f) => f.names)).toEqual([['a.example.org'], ['b.example.org']]);
    expect(during).toBe(0);
    expect(p.names.counters.reassemblyLimit).toBe(0);
  });

  it('judges a flow without a name, and counts it, when the bound is reached; no flow is lost', async () => {
    const hs = [40001, 40002, 40003].map((port, i) => halfHello(port, `${'abc'[i]}.example.org`, T0 + i * 10));
    const recs = [...hs.flatMap((h) => h.first), ...hs.map((h) => h.rest)];
    const { flows, p } = await scan(recs, 2);
    expect(flows.map((f) => f.names)).toEqual([['a.example.org'], ['b.example.org'], []]);
    expect(flows[2].verdict).toBe('medium');
    expect(p.names.counters.reassemblyLimit).toBe(1);
    expect(p.names.reassemblyStates).toBe(0);
  });

  it('releases the buffers of flows that end before their ClientHello is whole', async () => {
    const hs = [40001, 40002, 40003, 40004].map((port, i) => halfHello(port, 'x.example.org', T0 + i));
    const { flows, p, during } = await scan(
      hs.flatMap((h) => h.first),
      8,
    );
    expect(during).toBe(4);
    expect(flows).toHaveLength(4);
    expect(p.names.reassemblyStates).toBe(0);
  });
});
