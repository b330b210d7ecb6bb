// The pipeline's records through the event ring, on this thread, against the
// pipeline's own writers: a scan's output with the event thread hands on
// ended flows where they lie (flowAt), alerts without their text
// (alertFacts), app bodies as values and DNS messages as bytes, and gets
// back the very lines the writers make of flow(), alert() and app() records.
// On every capture fixture and on a gateway-shaped capture.

import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureReader } from '../../agent/src/capture/reader.js';
import { EventConsumer } from '../../agent/src/output/event-consumer.js';
import { EventProducer } from '../../agent/src/output/event-producer.js';
import { EventRing } from '../../agent/src/output/event-ring.js';
import { JsonBytes } from '../../agent/src/output/json-bytes.js';
import { writeAlertEvent, writeAppEvent, writeFlowEvent } from '../../agent/src/output/ndjson.js';
import { ScanPipeline } from '../../agent/src/pipeline.js';
import type { Policy } from '../../agent/src/policy/policy.js';
import { dir } from '../support/event-records.js';
import { listFixtures } from '../support/fixtures.js';
import { gatewayCapture } from '../support/gateway-capture.js';

const CHUNK = 16_384;

async function feed(p: ScanPipeline, capture: Buffer, between: () => void): Promise<void> {
  const reader = new CaptureReader(p, p.anomalies);
  for (let off = 0; off < capture.length; off += CHUNK) {
    reader.push(capture.subarray(off, off + CHUNK));
    between();
  }
  reader.end();
  await p.finish();
}

/** The lines through the ring: the records the scan's event output makes, taken as they come. */
async function throughRing(capture: Buffer, policy?: Policy): Promise<{ lines: string; kinds: Set<string> }> {
  const ring = EventRing.create();
  const events = new EventProducer(ring);
  const file = join(dir, `pipeline-${Math.random()}.ndjson`);
  const fd = openSync(file, 'w');
  const consumer = new EventConsumer(ring, fd);
  const kinds = new Set<string>();
  const p = new ScanPipeline(
    {
      flowAt: (t, slot, reason, app, tunnel) => {
        kinds.add('flowAt');
        if (app.internet) events.flowAt(t, slot, reason, app, tunnel);
      },
      alertFacts: (a) => {
        kinds.add('alertFacts');
        events.alertFacts(a);
      },
      app: (e) => {
        kinds.add(e.type);
        events.app(e);
      },
      internetFlowsOnly: true,
      keepsNoRecord: true,
    },
    { policy },
  );
  try {
    await feed(p, capture, () => {
      events.flush();
      consumer.poll();
    });
    events.finish();
    consumer.run();
  } finally {
    closeSync(fd);
  }
  return { lines: readFileSync(file, 'utf8'), kinds };
}

/** The lines the pipeline's writers make of its records, in the same run of the same capture. */
async function written(capture: Buffer, policy?: Policy): Promise<string> {
  const out = new JsonBytes(Buffer.alloc(1 << 16), (o, need) => {
    const bigger = Buffer.alloc(Math.max(2 * o.buf.length, o.pos + need));
    o.buf.copy(bigger, 0, 0, o.pos);
    o.buf = bigger;
  });
  const p = new ScanPipeline(
    {
      flow: (r) => {
        if (!r.internet) return;
        writeFlowEvent(out, r);
        out.byte(0x0a);
      },
      alert: (a) => {
        writeAlertEvent(out, a);
        out.byte(0x0a);
      },
      app: (e) => {
        writeAppEvent(out, e);
        out.byte(0x0a);
      },
      internetFlowsOnly: true,
    },
    { policy },
  );
  await feed(p, capture, () => {});
  return out.buf.toString('utf8', 0, out.pos);
}

describe('the scan records through the ring make the lines the writers make', () => {
  const fixtures = listFixtures().filter((f) => !f.bad);

  it.each(fixtures.map((f) => [f.name, f.input]))('%s', async (_name, input) => {
    const capture = readFileSync(input);
    const ring = await throughRing(capture);
    expect(ring.lines).toBe(await written(capture));
  });

  it('on a gateway-shaped capture: flows, alerts, DNS, TLS, QUIC and HTTP events', async () => {
    const { pcap, policy } = gatewayCapture(30_000, 150);
    const capture = readFileSync(pcap);
    const ring = await throughRing(capture, policy);
    const lines = await written(capture, policy);
    expect(ring.lines).toBe(lines);
    // Every kind of record went through, and many lines of each.
    expect([...ring.kinds].sort()).toEqual(['alertFacts', 'dns', 'flowAt', 'http', 'quic', 'tls']);
    const types = new Map<string, number>();
    for (const l of lines.split('\n').slice(0, -1)) {
      const t = (JSON.parse(l) as { event_type: string }).event_type;
      types.set(t, (types.get(t) ?? 0) + 1);
    }
    for (const t of ['flow', 'alert', 'dns', 'tls', 'quic', 'http']) expect(types.get(t) ?? 0).toBeGreaterThan(10);
  }, 120_000);
});
