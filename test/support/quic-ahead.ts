// Shared by the look-ahead tests (test/unit/quic-ahead*.test.ts): the built
// worker, a scan of a capture file with or without a ring, and waiting for a
// worker to get ahead.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'vitest';
import { CaptureReader } from '../../agent/src/capture/reader.js';
import { Ctl, type QuicAhead, SLOTS } from '../../agent/src/names/quic-ahead.js';
import { alertEventLine, appEventLine, flowEventLine } from '../../agent/src/output/ndjson.js';
import { ScanPipeline } from '../../agent/src/pipeline.js';
import type { Policy } from '../../agent/src/policy/policy.js';
import { ROOT } from './cli.js';

/** The built worker: the sources run under vitest, the worker runs as plain JavaScript. */
export const WORKER = pathToFileURL(join(ROOT, 'agent/dist/names/quic-ahead-worker.js'));

export interface Scan {
  lines: string[];
  quicEvents: number;
}

export function scan(file: string, policy: Policy | undefined, quicAhead?: QuicAhead): Promise<Scan> {
  const lines: string[] = [];
  let quicEvents = 0;
  const p = new ScanPipeline(
    {
      flow: (r) => lines.push(flowEventLine(r)),
      alert: (a) => lines.push(alertEventLine(a)),
      app: (e) => {
        if (e.type === 'quic') quicEvents++;
        lines.push(appEventLine(e));
      },
    },
    { policy, quicAhead },
  );
  const capture = readFileSync(file);
  const reader = new CaptureReader(p, p.anomalies);
  // Chunks unlike the worker's (1 MiB): packets are numbered the same however the file is cut.
  for (let off = 0; off < capture.length; off += 65_536) reader.push(capture.subarray(off, off + 65_536));
  expect(reader.end()).toBeNull();
  return p.finish().then(() => ({ lines, quicEvents }));
}

/** Until the worker has read its whole file, or filled every slot. */
export async function workerAhead(ahead: QuicAhead): Promise<void> {
  const ctl = ahead.ring.ctl;
  for (let i = 0; i < 4000; i++) {
    if (Atomics.load(ctl, Ctl.DONE) !== 0) return;
    if (((Atomics.load(ctl, Ctl.WRITTEN) - Atomics.load(ctl, Ctl.TAKEN)) | 0) >= SLOTS) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('the worker neither finished nor filled the ring in 20 s');
}
