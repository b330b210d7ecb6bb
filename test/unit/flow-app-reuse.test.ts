// A FlowApp made over for another flow (FlowApp.reuse, the pipeline's spare
// when its output keepsNoRecord) is the same as a new one, field for field,
// and a scan that reuses them writes the same events as one that does not:
// on every capture fixture and on a gateway-shaped capture.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CaptureReader } from '../../agent/src/capture/reader.js';
import { FlowApp } from '../../agent/src/names/flow-app.js';
import { alertEventLine, appEventLine, flowEventLine } from '../../agent/src/output/ndjson.js';
import { ScanPipeline } from '../../agent/src/pipeline.js';
import type { Policy } from '../../agent/src/policy/policy.js';
import { listFixtures } from '../support/fixtures.js';
import { gatewayCapture } from '../support/gateway-capture.js';

type Identity = ConstructorParameters<typeof FlowApp>;
const V4: Identity = [7, 40000, 443, 'TCP', false, 0x0a000002, 0, 0, 0, 0xcb00710a, 0, 0, 0];
const V6: Identity = [9, 5353, 53, 'UDP', true, 0x20010db8, 1, 2, 3, 0x20010db8, 4, 5, 6];

/** A FlowApp whose every own field holds a value no constructor gives. */
function used(): FlowApp {
  const app = new FlowApp(...V6);
  const record = app as unknown as Record<string, unknown>;
  for (const k of Object.keys(record)) record[k] = { was: k };
  return app;
}

describe('FlowApp.reuse', () => {
  it('makes an object over into what the constructor makes, every field and their order', () => {
    for (const args of [V4, V6]) {
      const made = used().reuse(...args);
      const fresh = new FlowApp(...args);
      expect(Object.keys(made)).toEqual(Object.keys(fresh));
      expect(made).toStrictEqual(fresh);
      expect(made.names()).toEqual([]);
      expect([made.srcIp, made.destIp]).toEqual([fresh.srcIp, fresh.destIp]);
    }
  });

  it('is checked on every field: each one differs between the used object and a new one', () => {
    const app = used() as unknown as Record<string, unknown>;
    const fresh = new FlowApp(...V6) as unknown as Record<string, unknown>;
    const keys = Object.keys(fresh);
    expect(Object.keys(app)).toEqual(keys);
    expect(keys.filter((k) => Object.is(app[k], fresh[k]))).toEqual([]);
    expect(keys.length).toBeGreaterThan(30);
  });
});

async function scan(capture: Buffer, keepsNoRecord: boolean, policy?: Policy) {
  const lines: string[] = [];
  const apps = new Set<object>();
  let flows = 0;
  const p = new ScanPipeline(
    {
      flow: (r) => {
        flows++;
        apps.add(r.app);
        lines.push(flowEventLine(r));
      },
      alert: (a) => lines.push(alertEventLine(a)),
      app: (e) => lines.push(appEventLine(e)),
      keepsNoRecord,
    },
    { policy },
  );
  const reader = new CaptureReader(p, p.anomalies);
  for (let off = 0; off < capture.length; off += 65_536) reader.push(capture.subarray(off, off + 65_536));
  reader.end();
  await p.finish();
  return { lines, flows, objects: apps.size, counts: [p.flowsInternet, p.flowsLocal, p.alerts] };
}

async function expectSame(capture: Buffer, policy?: Policy) {
  const kept = await scan(capture, false, policy);
  const reused = await scan(capture, true, policy);
  expect(reused.lines).toEqual(kept.lines);
  expect(reused.counts).toEqual(kept.counts);
  // Without keepsNoRecord every flow has an object of its own (with it, see the gateway capture below).
  expect(kept.objects).toBe(kept.flows);
  return reused;
}

describe('a scan that makes FlowApps over writes the same events', () => {
  const fixtures = listFixtures().filter((f) => !f.bad);

  it.each(fixtures.map((f) => [f.name, f.input]))('%s', async (_name, input) => {
    await expectSame(readFileSync(input));
  });

  it('on a gateway-shaped capture (LAN chatter, DNS, TLS, QUIC, HTTP)', async () => {
    const { pcap, policy } = gatewayCapture(40_000, 200);
    const r = await expectSame(readFileSync(pcap), policy);
    // Objects are made over: only flows that still hold reassembly state at their end keep their own.
    expect(r.flows).toBeGreaterThan(1000);
    expect(r.objects).toBeLessThan(r.flows / 10);
    expect(r.counts[2]).toBeGreaterThan(10);
  }, 120_000);
});
