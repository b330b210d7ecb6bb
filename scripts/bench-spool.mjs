#!/usr/bin/env node
// Spool throughput: appends/s of alert-sized records with group commit (the
// default 20 ms fsync interval) and with an fsync on every append, then the
// drain rate (peek + ack) a publisher sees after reconnecting. Prints
// figures, asserts nothing. Needs the built agent (pnpm build).
//
//   node scripts/bench-spool.mjs [--records N] [--payload BYTES] [--dir DIR]
//
// DIR defaults to a fresh directory under the OS temp dir; point it at the
// SD card or SSD the gateway spools to for figures that mean something there.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Spool } from '../agent/dist/mqtt/spool.js';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '200000' },
    payload: { type: 'string', default: '300' },
    dir: { type: 'string' },
  },
});
const N = Number(values.records);
const PAYLOAD = Number(values.payload);
const base = values.dir ?? tmpdir();
const TOPIC = 'egress/v1/gateway-01/alert';
const payload = Buffer.alloc(PAYLOAD, 0x61);
const BATCH = 100;

/** Appends in batches with a turn of the event loop between them, so the group-commit timer fires as it would in the agent. */
async function run(name, options, count) {
  const dir = mkdtempSync(join(base, 'egress-bench-spool-'));
  try {
    const s = Spool.open(dir, options);
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < count; i++) {
      s.append('alert', TOPIC, payload);
      if (i % BATCH === BATCH - 1) await new Promise((resolve) => setImmediate(resolve));
    }
    s.sync();
    const dropped = s.counters.dropped_alert;
    const appendS = Number(process.hrtime.bigint() - t0) / 1e9;
    s.close();

    const r = Spool.open(dir, options);
    const recovered = r.pending;
    t0 = process.hrtime.bigint();
    let drained = 0;
    for (let batch = r.peek(256); batch.length > 0; batch = r.peek(256)) {
      for (const rec of batch) r.ack(rec.seq);
      drained += batch.length;
    }
    r.sync();
    const drainS = Number(process.hrtime.bigint() - t0) / 1e9;
    r.close();
    const mib = (count * (PAYLOAD + TOPIC.length + 24)) / 1048576;
    console.log(
      `${name.padEnd(28)} ${count} records of ${PAYLOAD} B: append ${Math.round(count / appendS).toLocaleString('en')}/s ` +
        `(${(mib / appendS).toFixed(1)} MiB/s), drain ${Math.round(drained / drainS).toLocaleString('en')}/s; ` +
        `recovered ${recovered}, dropped ${dropped}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`node ${process.version}, spool under ${base}`);
await run('group commit (20 ms)', { maxBytes: 256 * 1024 * 1024, syncIntervalMs: 20 }, N);
await run('fsync every append and ack', { maxBytes: 256 * 1024 * 1024, syncIntervalMs: 0 }, Math.min(N, 5000));
await run('full 64 MiB, dropping', { maxBytes: 64 * 1024 * 1024, syncIntervalMs: 20 }, N * 2);
