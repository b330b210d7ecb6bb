// An output that takes internet flows only (`egress scan --format ndjson`)
// lets the pipeline end a LAN flow without making an object for it
// (pipeline.ts, EventOutput.internetFlowsOnly). Checked on every capture
// fixture and on a gateway-shaped capture with LAN chatter: the events, the
// internet flows and the counters are the same as when every flow is taken,
// and the shared tables are empty at the end either way.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CaptureReader } from '../../agent/src/capture/reader.js';
import { alertEventLine, appEventLine, flowEventLine } from '../../agent/src/output/ndjson.js';
import { ScanPipeline } from '../../agent/src/pipeline.js';
import type { Policy } from '../../agent/src/policy/policy.js';
import { listFixtures } from '../support/fixtures.js';
import { gatewayCapture } from '../support/gateway-capture.js';

async function scan(capture: Buffer, internetFlowsOnly: boolean, policy?: Policy) {
  const lines: string[] = [];
  let lanFlowsSeen = 0;
  const p = new ScanPipeline(
    {
      flow: (r) => {
        if (r.internet) lines.push(flowEventLine(r));
        else lanFlowsSeen++;
      },
      alert: (a) => lines.push(alertEventLine(a)),
      app: (e) => lines.push(appEventLine(e)),
      internetFlowsOnly,
    },
    { policy },
  );
  const reader = new CaptureReader(p, p.anomalies);
  for (let off = 0; off < capture.length; off += 65_536) reader.push(capture.subarray(off, off + 65_536));
  reader.end();
  await p.finish();
  const shared = [p.atRest.names.size, p.atRest.judgements.size, p.atRest.geos.size];
  return { lines, lanFlowsSeen, counts: [p.flowsInternet, p.flowsLocal, p.alerts], shared };
}

function expectSame(capture: Buffer, policy?: Policy) {
  return (async () => {
    const all = await scan(capture, false, policy);
    const only = await scan(capture, true, policy);
    expect(only.lines).toEqual(all.lines);
    expect(only.counts).toEqual(all.counts);
    expect(only.shared).toEqual([0, 0, 0]);
    expect(all.shared).toEqual([0, 0, 0]);
    // Every LAN flow reached the output when all were taken; none was made when only internet flows are.
    expect(all.lanFlowsSeen).toBe(all.counts[1]);
    expect(only.lanFlowsSeen).toBe(0);
    return all;
  })();
}

describe('a LAN flow ends without an object when only internet flows are taken', () => {
  const fixtures = listFixtures().filter((f) => !f.bad);

  it.each(fixtures.map((f) => [f.name, f.input]))('%s: same events, flows and counters', async (_name, input) => {
    await expectSame(readFileSync(input));
  });

  it('on a gateway-shaped capture (LAN chatter, DNS, TLS, QUIC, HTTP): same events, flows and counters', async () => {
    const { pcap, policy } = gatewayCapture(40_000, 200);
    const all = await expectSame(readFileSync(pcap), policy);
    // The capture has both kinds of flow, and alerts, so the comparison above covers them.
    expect(all.counts[0]).toBeGreaterThan(100);
    expect(all.counts[1]).toBeGreaterThan(100);
    expect(all.counts[2]).toBeGreaterThan(10);
  }, 120_000);
});
