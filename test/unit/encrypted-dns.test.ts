// What hides names: DNS over TLS (TCP 853), DNS over QUIC (UDP 853) and DNS
// over HTTPS to well-known resolvers are flagged on the flow and in its alert.

import { describe, expect, it } from 'vitest';
import { CaptureReader } from '../../agent/src/capture/reader.js';
import type { AlertRecord, FlowRecord } from '../../agent/src/output/flow-record.js';
import { ScanPipeline } from '../../agent/src/pipeline.js';
import { ethernet, ipPacket, pcapFile, type Rec, tcpSegment, udpDatagram } from '../support/builders.js';
import { clientHello, records } from '../support/tls-hello.js';

const T0 = 1_767_225_600_000_000;
const C = '10.0.0.2';

function tlsFlow(dst: string, dport: number, sni: string | null, t: number): Rec[] {
  const hello = records(clientHello({ sni }));
  const seg = (flags: number, seq: number, payload?: Buffer) =>
    ethernet(ipPacket({ src: C, dst }, tcpSegment({ src: C, dst, sport: 40000 + dport, dport, flags, seq, payload })));
  return [
    { tsUs: t, data: seg(2, 100) },
    { tsUs: t + 1, data: seg(8 | 16, 101, hello) },
  ];
}

async function scan(recs: Rec[]) {
  const flows: FlowRecord[] = [];
  const alerts: AlertRecord[] = [];
  const p = new ScanPipeline({ flow: (r) => flows.push(r), alert: (a) => alerts.push(a) });
  const reader = new CaptureReader(p, p.anomalies);
  reader.push(pcapFile(recs));
  expect(reader.end()).toBeNull();
  await p.finish();
  return { flows, alerts, p };
}

describe('encrypted DNS', () => {
  it('flags DoT, DoQ and DoH (by resolver name or address), and nothing else', async () => {
    const quic = {
      tsUs: T0 + 40,
      data: ethernet(
        ipPacket(
          { src: C, dst: '192.0.2.9' },
          udpDatagram({ src: C, dst: '192.0.2.9', sport: 5000, dport: 853, payload: Buffer.from([0xc3, 0, 0, 0, 1]) }),
        ),
      ),
    };
    const { flows, alerts, p } = await scan([
      ...tlsFlow('192.0.2.8', 853, 'dns.example.net', T0),
      ...tlsFlow('203.0.113.7', 443, 'dns.google', T0 + 10),
      ...tlsFlow('1.1.1.1', 443, null, T0 + 20),
      ...tlsFlow('203.0.113.8', 443, 'maps.example.nl', T0 + 30),
      quic,
    ]);
    expect(flows.map((f) => [f.destIp, f.app.hiddenBy()])).toEqual([
      ['192.0.2.8', ['dot']],
      ['203.0.113.7', ['doh']],
      ['1.1.1.1', ['doh']],
      ['203.0.113.8', []],
      ['192.0.2.9', ['doq']],
    ]);
    expect(p.names.counters.encryptedDns).toBe(4);
    expect(alerts.find((a) => a.app.destIp === '203.0.113.7')?.text).toContain(
      'it speaks DNS over HTTPS to a public resolver, so the names it looks up are hidden',
    );
  });
});
