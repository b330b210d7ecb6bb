#!/usr/bin/env node
// Evidence benchmark: how fast the pre-trigger ring takes packets (the
// per-packet cost the recorder adds to capture), how many chained records a
// second the log writes with its signed, fsync'd checkpoints, and how long a
// large session takes to export and to verify. Prints figures; asserts
// nothing. Needs `pnpm build` first.
//
//   node scripts/bench-evidence.mjs [--dir DIR]   (DIR: on the gateway's disk; default a temp dir)

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ChainWriter } from '../agent/dist/evidence/chain.js';
import { exportSession } from '../agent/dist/evidence/export.js';
import { loadOrCreateKey } from '../agent/dist/evidence/keys.js';
import { PacketRing } from '../agent/dist/evidence/ring.js';
import { endSession, startSession } from '../agent/dist/evidence/session-store.js';
import { verifyBundle } from '../agent/dist/evidence/verify.js';

const { values } = parseArgs({ options: { dir: { type: 'string' } } });
const dir = mkdtempSync(join(values.dir ?? tmpdir(), 'egress-bench-evidence-'));
const key = loadOrCreateKey(dir);

// 1. Ring: 2 M packets of 60..1500 bytes into an 8 MiB / 30 s ring.
{
  const ring = new PacketRing({ maxBytes: 8 * 1024 * 1024, maxSeconds: 30 });
  const buf = Buffer.alloc(65536, 7);
  const n = 2_000_000;
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const len = 60 + ((i * 7919) % 1441);
    ring.push(buf, i & 1023, len, len, i * 10, 1, i >> 4);
    bytes += len;
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(
    `ring: ${(n / s / 1e6).toFixed(2)} M packets/s, ${(bytes / s / 1e9).toFixed(2)} GB/s copied; ${ring.size} packets kept, ${ring.counters.evicted} evicted`,
  );
}

// 2. Chained log: 100 000 flow-sized records, a signed fsync'd checkpoint every 256.
{
  const w = new ChainWriter(join(dir, 'chain.ndjson'), key, 'bench');
  const data = JSON.stringify({
    event_type: 'flow',
    flow_id: 1,
    src_ip: '10.0.0.2',
    src_port: 40000,
    dest_ip: '203.0.113.10',
    dest_port: 443,
    proto: 'TCP',
    dest: { names: ['flysafe-api.dji.com'], country: 'CN', asn: 4134, as_org: 'China Telecom', as_country: 'CN' },
    verdict: 'high',
    reasons: ['deny_country'],
    pkts_toserver: 10,
    pkts_toclient: 12,
    bytes_toserver: 1394,
    bytes_toclient: 7430,
  });
  const n = 100_000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) w.append('flow', data);
  w.close();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`chain: ${Math.round(n / s)} records/s appended (${data.length} B each, checkpoint + fsync every 256)`);
}

// 3. Export and verify a session of 20 000 flows, 2 000 of them flagged.
{
  const ctx = {
    gateway: 'bench',
    version: 'bench',
    policy: { source: 'bench', sha256: '0'.repeat(64) },
    databases: {},
    key,
    clock: () => ({ synchronized: null, source: 'bench' }),
  };
  const s = startSession(dir, ctx, 'bench flight');
  for (let i = 0; i < 20_000; i++) {
    const flagged = i % 10 === 0;
    s.log.append(
      'flow',
      JSON.stringify({
        timestamp: '2026-12-01T10:00:00.000000Z',
        event_type: 'flow',
        flow_id: i,
        src_ip: '10.0.0.2',
        src_port: 40000 + (i % 20000),
        dest_ip: `203.0.113.${i % 250}`,
        dest_port: 443,
        proto: 'TCP',
        app_proto: 'tls',
        dest: {
          names: [`host${i % 250}.example.com`],
          country: flagged ? 'CN' : 'NL',
          asn: 64500,
          as_org: 'Test',
          as_country: 'NL',
        },
        verdict: flagged ? 'high' : 'allowed',
        reasons: flagged ? ['deny_country'] : [],
        pkts_toserver: 10,
        pkts_toclient: 12,
        bytes_toserver: 1394,
        bytes_toclient: 7430,
        start: '2026-12-01T10:00:00.000000Z',
        end: '2026-12-01T10:00:01.000000Z',
      }),
    );
  }
  endSession(s, ctx, { packets: 440_000 });
  const out = join(dir, 'bundle.zip');
  let t0 = process.hrtime.bigint();
  exportSession(dir, s.meta.id, out);
  const exportS = Number(process.hrtime.bigint() - t0) / 1e9;
  const zip = readFileSync(out);
  t0 = process.hrtime.bigint();
  const v = verifyBundle(zip);
  const verifyS = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(
    `export: 20000 flows (2000 flagged) in ${exportS.toFixed(2)} s, bundle ${(zip.length / 1024 / 1024).toFixed(1)} MiB; verify ${verifyS.toFixed(2)} s (${v.lines[0].slice(0, 40)}…)`,
  );
}
rmSync(dir, { recursive: true, force: true });
