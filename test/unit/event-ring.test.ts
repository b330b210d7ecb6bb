// The scan's event lines made on a second thread (output/event-ring.ts,
// event-producer.ts, event-consumer.ts, event-thread.ts): every kind of
// record, and every odd string in one, comes out as the bytes the pipeline's
// own writers make; what cannot be a record is refused. The thread's side on
// this thread: event-consumer.test.ts; the worker: event-thread.test.ts; the
// whole scan with and without it: event-thread-scan.test.ts.

import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { drainEvents } from '../../agent/src/output/event-consumer.js';
import { EventProducer } from '../../agent/src/output/event-producer.js';
import { Ctl, EventRing, MAX_RECORD_BYTES, RING_BYTES } from '../../agent/src/output/event-ring.js';
import { dir, direct, flowRecord, give, throughRing, v4, variety } from '../support/event-records.js';

describe('event records', () => {
  it('every kind of record, and every odd string in one, comes out as the pipeline writes it', () => {
    const records = variety();
    const expected = direct(records);
    expect(throughRing(records).toString('utf8')).toBe(expected.toString('utf8'));
    expect(throughRing(records).equals(expected)).toBe(true);
    // The strings that needed care are really there.
    const text = expected.toString('utf8');
    for (const s of [
      'Société \\"Générale\\" \\\\ ✓ \\u0001 tab\\t end',
      '\\ud800',
      '😀',
      ',"n":[0,-1,1.5,9007199254740992,null,null,{"deep":[true,false]}]',
    ]) {
      expect(text).toContain(s);
    }
    expect(text).toContain('"bytes_toclient":1099511627779');
    expect(text).toContain('"asn":4294967295');
    expect(text).toContain('"src_ip":"2001:db8::1","src_port":51000,"dest_ip":"::ffff:192.0.2.7"');
    expect(text).toContain('"src_port":null,"dest_ip":"203.0.113.10","dest_port":null,"proto":"ICMP"');
    expect(text).toContain('"tunnel":{"type":"vxlan","outer_src_ip":"198.51.100.1","outer_dest_ip":"2001:db8::9"}');
    expect(text).toContain('"names_hidden_by":["ech","doh"]');
    expect(text).toContain('"flow_id":8,"src_ip":"10.0.0.2","src_port":0,"dest_ip":"203.0.113.10","dest_port":0,');
    expect(text).toContain('"country":"NL","asn":0,');
    expect(text.split('\n').filter((l) => l.includes('"event_type":"dns"'))).toHaveLength(4);
  });

  it('a batch handed over at each flush goes out in order with the next', () => {
    const records = variety();
    const ring = EventRing.create();
    const p = new EventProducer(ring);
    give(p, records.slice(0, 3));
    p.flush();
    expect(Atomics.load(ring.ctl, Ctl.HEAD)).toBeGreaterThan(0);
    const handed = Atomics.load(ring.ctl, Ctl.HEAD);
    p.flush(); // nothing gathered: nothing handed
    expect(Atomics.load(ring.ctl, Ctl.HEAD)).toBe(handed);
    give(p, records.slice(3));
    p.finish();
    expect(Atomics.load(ring.ctl, Ctl.DONE)).toBe(1);
    const file = join(dir, 'flushed.ndjson');
    const fd = openSync(file, 'w');
    drainEvents(ring, fd);
    closeSync(fd);
    expect(readFileSync(file).equals(direct(records))).toBe(true);
    expect(Atomics.load(ring.ctl, Ctl.TAIL)).toBe(Atomics.load(ring.ctl, Ctl.HEAD));
  });

  it('a record larger than a record may be is refused with a clear error, before it reaches the ring', () => {
    const ring = EventRing.create();
    const p = new EventProducer(ring);
    expect(() => p.line('x'.repeat(MAX_RECORD_BYTES))).toThrow(/more than a record may hold/);
    expect(Atomics.load(ring.ctl, Ctl.HEAD)).toBe(0);
    // Just under the limit goes through whole.
    const line = 'y'.repeat(MAX_RECORD_BYTES - 16);
    expect(throughRing([{ line }]).toString()).toBe(`${line}\n`);
  });

  it('a value with no code (a verdict outside the contract) is refused, not written wrong', () => {
    const p = new EventProducer(EventRing.create());
    const bad = { ...flowRecord(v4(1, 1, 2), []), verdict: 'low' as unknown as 'high' };
    expect(() => p.flow(bad)).toThrow(/no code for low/);
  });

  it('a thread that meets a record it cannot read fails and says so; the pipeline then stops waiting for room', () => {
    const ring = EventRing.create();
    const p = new EventProducer(ring);
    p.line('fine');
    p.flush();
    // Spoil the kind byte of the first record.
    ring.bytes[4] = 0x7f;
    const fd = openSync(join(dir, 'spoiled.ndjson'), 'w');
    expect(() => drainEvents(ring, fd)).toThrow(/unknown kind 127/);
    closeSync(fd);
    expect(Atomics.load(ring.ctl, Ctl.FAILED)).toBe(1);
    // Fill the ring: the next batch that finds no room throws instead of waiting for ever.
    const big = 'z'.repeat(60_000);
    expect(() => {
      for (let i = 0; i < 2 * (RING_BYTES / 60_000); i++) p.line(big);
    }).toThrow(/the event thread failed/);
  });
});
