// The evidence building blocks on their own: the pre-trigger packet ring is
// bounded by bytes, packets and age (wrapping without losing the newest
// packets), the chained log signs checkpoints that another key cannot make,
// and the "no egress observed" statement is plain, weakened or refused by
// the capture gaps.

import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChainWriter, checkChain } from '../../agent/src/evidence/chain.js';
import { fingerprintOf, loadOrCreateKey } from '../../agent/src/evidence/keys.js';
import { readModel } from '../../agent/src/evidence/model.js';
import { PacketRing } from '../../agent/src/evidence/ring.js';
import type { SessionMeta } from '../../agent/src/evidence/session-store.js';

/** Packets kept, oldest first, as [flow id, first byte, length]. */
function kept(ring: PacketRing): number[][] {
  const out: number[][] = [];
  ring.take(
    () => true,
    (p) => out.push([p.flowId, p.buf[p.off], p.caplen]),
  );
  return out;
}

describe('PacketRing', () => {
  it('keeps the newest packets within its byte bound, wrapping around', () => {
    const ring = new PacketRing({ maxBytes: 1000, maxSeconds: 3600 });
    const pkt = Buffer.alloc(300);
    for (let i = 0; i < 10; i++) {
      pkt.fill(i);
      ring.push(pkt, 0, 300 - i, 1500, i * 1000, 1, i);
    }
    // 1000 bytes hold three packets of about 300 bytes: the last three.
    expect(kept(ring)).toEqual([
      [7, 7, 293],
      [8, 8, 292],
      [9, 9, 291],
    ]);
    expect(ring.counters).toMatchObject({ pushed: 10, evicted: 7 });
  });

  it('forgets packets older than its age bound, and is bounded in packets', () => {
    const ring = new PacketRing({ maxBytes: 1 << 20, maxSeconds: 2, maxPackets: 5 });
    const pkt = Buffer.from([1, 2, 3, 4]);
    for (let i = 0; i < 4; i++) ring.push(pkt, 0, 4, 4, i * 1e6, 1, i);
    expect(kept(ring).map((p) => p[0])).toEqual([1, 2, 3]);
    const many = new PacketRing({ maxBytes: 1 << 20, maxSeconds: 60, maxPackets: 5 });
    for (let i = 0; i < 12; i++) many.push(pkt, 0, 4, 4, i, 1, i);
    expect(kept(many).map((p) => p[0])).toEqual([7, 8, 9, 10, 11]);
  });

  it('hands out a packet once, and only the ones picked', () => {
    const ring = new PacketRing({ maxBytes: 4096 });
    const pkt = Buffer.alloc(10);
    for (let i = 0; i < 6; i++) ring.push(pkt, 0, 10, 10, i, 1, i % 2);
    const odd: number[] = [];
    expect(
      ring.take(
        (p) => p.flowId === 1,
        (p) => odd.push(p.tsUs),
      ),
    ).toBe(3);
    expect(odd).toEqual([1, 3, 5]);
    expect(
      ring.take(
        (p) => p.flowId === 1,
        () => {},
      ),
    ).toBe(0);
    expect(kept(ring).map((p) => p[0])).toEqual([0, 0, 0]);
  });
});

describe('ChainWriter and checkChain', () => {
  it('signs checkpoints that verify with its key and not with another', () => {
    const dir = mkdtempSync(join(tmpdir(), 'egress-chain-'));
    const key = loadOrCreateKey(dir);
    const w = new ChainWriter(join(dir, 'log.ndjson'), key, 'sess-1', { checkpointEvery: 3 });
    for (let i = 0; i < 7; i++) w.append('note', JSON.stringify({ i }));
    w.close();
    const buf = readFileSync(join(dir, 'log.ndjson'));
    const good = checkChain(buf, key.publicKey);
    // 7 notes, a checkpoint after every 3 and one at close.
    expect(good.records.map((r) => r.type).join(',')).toBe(
      'note,note,note,checkpoint,note,note,note,checkpoint,note,checkpoint',
    );
    expect([good.error, good.signedUpTo]).toEqual([null, 9]);
    const other = generateKeyPairSync('ed25519').publicKey;
    expect(fingerprintOf(other)).not.toBe(key.fingerprint);
    expect(checkChain(buf, other).error).toBe(
      'checkpoint record 3 has a bad signature (records before it were altered, or another key signed it)',
    );
  });
});

describe('the "no egress observed" statement', () => {
  const meta = { start: '2026-12-01T10:00:00.000000Z', end: '2026-12-01T10:10:00.000000Z' } as SessionMeta;
  const rec = (type: string, data: Record<string, unknown>, seq: number) => ({
    seq,
    prev: '',
    ts: meta.start,
    type,
    data,
  });
  const gap = (start: string, end: string, seq: number) =>
    rec('capture_gap', { start, end, cause: 'kernel_drop', packets_dropped: 12 }, seq);
  const end = rec('session_end', { end: meta.end, packets: 500 }, 9);

  it('is plain without gaps, weakened by a short gap, refused by a long one or when nothing was captured', () => {
    expect(readModel(meta, [end]).statement).toMatchObject({ kind: 'no_egress_observed', strength: 'plain' });
    const short = readModel(meta, [gap('2026-12-01T10:01:00Z', '2026-12-01T10:01:30Z', 1), end]).statement;
    expect(short).toMatchObject({ strength: 'weakened', gaps: 1, gapSeconds: 30 });
    const long = readModel(meta, [gap('2026-12-01T10:01:00Z', '2026-12-01T10:07:00Z', 1), end]).statement;
    expect(long).toMatchObject({ strength: 'refused', gapSeconds: 360 });
    const blind = readModel(meta, [rec('session_end', { end: meta.end, packets: 0 }, 1)]).statement;
    expect(blind.strength).toBe('refused');
  });

  it('does not apply when a connection to the internet was seen', () => {
    const flow = rec('flow', { dest_ip: '203.0.113.1', dest: { names: [] }, verdict: 'allowed', reasons: [] }, 1);
    expect(readModel(meta, [flow, end]).statement).toMatchObject({
      kind: 'egress_observed',
      strength: 'not_applicable',
    });
  });
});
