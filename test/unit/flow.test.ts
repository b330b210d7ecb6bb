// The flow table through the real pipeline: who is the client, per-direction
// counts, TCP end states, timeouts, port reuse, ICMP echo ids, and the bound.

import { describe, expect, it } from 'vitest';
import { CaptureReader } from '../../agent/src/capture/reader.js';
import type { FlowRecord } from '../../agent/src/output/flow-record.js';
import { type PipelineOptions, ScanPipeline } from '../../agent/src/pipeline.js';
import {
  ethernet,
  icmpEcho,
  ipPacket,
  pcapFile,
  type Rec,
  tcpConversation,
  tcpSegment,
  udpDatagram,
} from '../support/builders.js';

const T0 = 1_767_225_600_000_000;
const C = '10.0.0.2';
const S = '198.51.100.10';

async function scan(recs: Rec[], options: PipelineOptions = {}) {
  const flows: FlowRecord[] = [];
  const pipeline = new ScanPipeline({ flow: (r) => flows.push(r) }, options);
  const reader = new CaptureReader(pipeline, pipeline.anomalies);
  reader.push(pcapFile(recs));
  expect(reader.end()).toBeNull();
  await pipeline.finish();
  return { flows, pipeline };
}

function udp(src: string, dst: string, sport: number, dport: number, tsUs: number): Rec {
  return {
    tsUs,
    data: ethernet(ipPacket({ src, dst }, udpDatagram({ src, dst, sport, dport, payload: Buffer.alloc(10) }))),
  };
}

describe('flow table', () => {
  it('makes one flow of a TCP conversation with the SYN sender as client and counts each direction', async () => {
    const conv = tcpConversation({ src: C, dst: S, sport: 40001, dport: 443, t0: T0 });
    const { flows } = await scan(conv);
    expect(flows).toHaveLength(1);
    const f = flows[0];
    expect([f.srcIp, f.srcPort, f.destIp, f.destPort, f.proto]).toEqual([C, 40001, S, 443, 'TCP']);
    expect([f.pktsToServer, f.pktsToClient]).toEqual([5, 3]);
    const bytes = (idx: number[]) => idx.reduce((n, i) => n + conv[i].data.length, 0);
    expect(f.bytesToServer).toBe(bytes([0, 2, 3, 5, 7]));
    expect(f.bytesToClient).toBe(bytes([1, 4, 6]));
    expect([f.startUs, f.endUs]).toEqual([T0, T0 + 7000]);
    expect(f.tcpState).toBe('closed');
    expect(f.internet).toBe(true);
  });

  it('takes the receiver of a SYN-ACK as client when the capture missed the SYN', async () => {
    const conv = tcpConversation({ src: C, dst: S, sport: 40002, dport: 443, t0: T0 }).slice(1);
    const { flows } = await scan(conv);
    expect([flows[0].srcIp, flows[0].destIp, flows[0].destPort]).toEqual([C, S, 443]);
  });

  it('takes the first sender as client for UDP, whichever address sorts first', async () => {
    const { flows } = await scan([udp(S, C, 53, 5353, T0), udp(C, S, 5353, 53, T0 + 10)]);
    expect([flows[0].srcIp, flows[0].srcPort, flows[0].destIp, flows[0].destPort]).toEqual([S, 53, C, 5353]);
    expect(flows[0].internet).toBe(false); // the destination is a LAN address
  });

  it('ends a closed TCP flow after the grace period, as closed', async () => {
    const conv = tcpConversation({ src: C, dst: S, sport: 40003, dport: 80, t0: T0 });
    const { flows, pipeline } = await scan([...conv, udp(C, S, 1, 2, T0 + 30_000_000)]);
    expect(flows[0].endReason).toBe('closed');
    expect(pipeline.flows.counters.endedClosed).toBe(1);
  });

  it('starts a new flow when a closed connection is reused with a new SYN', async () => {
    const a = tcpConversation({ src: C, dst: S, sport: 40004, dport: 80, t0: T0 });
    const b = tcpConversation({ src: C, dst: S, sport: 40004, dport: 80, t0: T0 + 100_000 });
    const { flows } = await scan([...a, ...b]);
    expect(flows.map((f) => [f.endReason, f.pktsToServer + f.pktsToClient])).toEqual([
      ['port_reuse', 8],
      ['end_of_input', 8],
    ]);
  });

  it('ends an idle UDP flow after its timeout and starts a fresh one', async () => {
    const recs = [
      udp(C, S, 5000, 53, T0),
      udp(C, S, 5000, 53, T0 + 121_000_000),
      udp(C, S, 5000, 53, T0 + 121_500_000),
    ];
    const { flows } = await scan(recs);
    expect(flows.map((f) => [f.endReason, f.pktsToServer])).toEqual([
      ['timeout', 1],
      ['end_of_input', 2],
    ]);
  });

  it('honours configured timeouts', async () => {
    const recs = [udp(C, S, 5000, 53, T0), udp(C, S, 5000, 53, T0 + 6_000_000)];
    const { flows } = await scan(recs, { timeouts: { udp: 5 } });
    expect(flows).toHaveLength(2);
  });

  it('keys ICMP echo by identifier and leaves ports out of the record', async () => {
    const echo = (id: number, reply: boolean, t: number): Rec => {
      const [src, dst] = reply ? [S, C] : [C, S];
      return { tsUs: t, data: ethernet(ipPacket({ src, dst }, icmpEcho({ v6: false, reply, id, seq: 1 }))) };
    };
    const { flows } = await scan([
      echo(7, false, T0),
      echo(7, true, T0 + 1),
      echo(8, false, T0 + 2),
      echo(8, true, T0 + 3),
    ]);
    expect(flows.map((f) => [f.proto, f.srcPort, f.destPort, f.pktsToServer, f.pktsToClient])).toEqual([
      ['ICMP', null, null, 1, 1],
      ['ICMP', null, null, 1, 1],
    ]);
  });

  it('tells IPv6 flows apart and prints addresses in RFC 5952 form', async () => {
    const seg = (src: string, dst: string, sport: number, dport: number, flags: number) =>
      ethernet(ipPacket({ src, dst }, tcpSegment({ src, dst, sport, dport, flags })));
    const { flows } = await scan([
      { tsUs: T0, data: seg('fd00::2', '2001:db8:0:0:1:0:0:10', 40000, 443, 2) },
      { tsUs: T0 + 1, data: seg('2001:db8:0:0:1:0:0:10', 'fd00::2', 443, 40000, 0x12) },
    ]);
    expect(flows).toHaveLength(1);
    expect([flows[0].srcIp, flows[0].destIp, flows[0].tcpState]).toEqual(['fd00::2', '2001:db8::1:0:0:10', 'syn_recv']);
  });

  it('never holds more than maxFlows: evicts the least recently active flow and counts it', async () => {
    const recs: Rec[] = [];
    for (let i = 0; i < 100; i++) {
      recs.push(udp(C, S, 10000 + i, 53, T0 + 2 * i));
      // Flow 0 stays active, so it is never the least recent one.
      if (i % 4 === 0) recs.push(udp(C, S, 10000, 53, T0 + 2 * i + 1));
    }
    const { flows, pipeline } = await scan(recs, { maxFlows: 8 });
    const c = pipeline.flows.counters;
    expect(c.activeMax).toBe(8);
    expect(c.created).toBe(100);
    expect(c.evictedLru).toBe(92);
    expect(flows).toHaveLength(100); // every flow still reported exactly once
    expect(new Set(flows.map((f) => f.flowId)).size).toBe(100);
    expect(flows.reduce((n, f) => n + f.pktsToServer, 0)).toBe(recs.length);
    expect(flows.find((f) => f.srcPort === 10000)?.endReason).toBe('end_of_input');
  });

  it('reports flows left open at the end in the order they began', async () => {
    const recs = [udp(C, S, 3, 53, T0 + 2), udp(C, S, 1, 53, T0), udp(C, S, 2, 53, T0 + 1), udp(C, S, 1, 53, T0 + 3)];
    recs.sort((a, b) => a.tsUs - b.tsUs);
    const { flows } = await scan(recs);
    expect(flows.map((f) => f.srcPort)).toEqual([1, 2, 3]);
    expect(flows.map((f) => f.flowId)).toEqual([1, 2, 3]);
  });

  it('rejects a nonsensical flow limit', () => {
    expect(() => new ScanPipeline({ flow() {} }, { maxFlows: 0 })).toThrow(RangeError);
  });
});
