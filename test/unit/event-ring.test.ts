// The scan's event lines made on a second thread (output/event-ring.ts,
// event-producer.ts, event-consumer.ts, event-thread.ts): every kind of
// record, and every odd string in one, comes out as the bytes the pipeline's
// own writers make; the ring wraps, the pipeline waits when the thread is
// held up by its reader and loses nothing; a thread that fails is reported,
// never waited for. The whole scan with and without the thread:
// test/unit/event-thread-scan.test.ts.

import { spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { Anomalies } from '../../agent/src/decode/anomaly.js';
import { parseDnsMessage } from '../../agent/src/names/dns.js';
import { FlowApp } from '../../agent/src/names/flow-app.js';
import { drainEvents, EventConsumer } from '../../agent/src/output/event-consumer.js';
import { EventProducer } from '../../agent/src/output/event-producer.js';
import { Ctl, EventRing, MAX_RECORD_BYTES, RING_BYTES } from '../../agent/src/output/event-ring.js';
import { EventThread } from '../../agent/src/output/event-thread.js';
import type { AlertRecord, AppEventRecord, FlowRecord } from '../../agent/src/output/flow-record.js';
import { JsonBytes } from '../../agent/src/output/json-bytes.js';
import { writeAlertEvent, writeAppEvent, writeFlowEvent } from '../../agent/src/output/ndjson.js';
import { ROOT } from '../support/cli.js';
import { A_RESPONSE, AAAA_RESPONSE, CNAME_CHAIN, QUERY } from '../support/dns-vectors.js';
import { FIXTURES_DIR } from '../support/fixtures.js';
import { WORKER as AHEAD_WORKER, scan, workerAhead } from '../support/quic-ahead.js';

/** The built worker: the sources run under vitest, the worker runs as plain JavaScript. */
const WORKER = pathToFileURL(join(ROOT, 'agent/dist/output/event-worker.js'));

const dir = mkdtempSync(join(tmpdir(), 'egress-events-'));
/** The built modules, for a helper thread that plays the pipeline. */
const BUILT = (m: string) => pathToFileURL(join(ROOT, 'agent/dist/output', m)).href;

async function mkfifo(path: string): Promise<void> {
  const mk = spawn('mkfifo', [path]);
  await new Promise((r) => mk.on('exit', r));
}
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Rec = { flow: FlowRecord } | { alert: AlertRecord } | { app: AppEventRecord } | { line: string };

function v4(id: number, sport: number | null, dport: number | null, proto: FlowRecord['proto'] = 'TCP'): FlowApp {
  return new FlowApp(id, sport, dport, proto, false, 0x0a000002, 0, 0, 0, 0xcb00710a | 0, 0, 0, 0);
}

function v6(id: number): FlowApp {
  // 2001:db8::1 to ::ffff:192.0.2.7 (an IPv4-mapped destination keeps its dotted tail)
  return new FlowApp(id, 51000, 443, 'UDP', true, 0x20010db8, 0, 0, 1, 0, 0, 0xffff, 0xc0000207 | 0);
}

function flowRecord(app: FlowApp, names: string[], extra: Partial<FlowRecord> = {}): FlowRecord {
  return {
    app,
    flowId: app.flowId,
    srcIp: app.srcIp,
    srcPort: app.srcPort,
    destIp: app.destIp,
    destPort: app.destPort,
    proto: app.proto,
    internet: true,
    names,
    verdict: 'medium',
    reasons: ['not_allowlisted'],
    pktsToServer: 7,
    pktsToClient: 5,
    bytesToServer: 1_234,
    bytesToClient: 2 ** 40 + 3, // beyond 32 bits
    startUs: 1_767_225_600_000_001,
    endUs: 1_767_225_601_999_999,
    tcpState: 'closed',
    endReason: 'closed',
    tunnel: null,
    ...extra,
  };
}

function dnsEvent(app: FlowApp, tsUs: number, wire: Buffer, at = 0): AppEventRecord {
  // The message inside a larger buffer, as a packet holds it.
  const buf = Buffer.concat([Buffer.alloc(at, 0xee), wire, Buffer.alloc(5, 0xee)]);
  const message = parseDnsMessage(buf, at, wire.length, new Anomalies());
  if (message === null) throw new Error('test vector does not parse');
  return { tsUs, app, type: 'dns', body: null, dns: { message, buf, off: at, len: wire.length } };
}

/** Every kind of record, with the values that are easy to get wrong. */
function variety(): Rec[] {
  const plain = v4(1, 40000, 443);
  const odd = v4(2, 40001, 443);
  odd.appProto = 'tls';
  odd.country = 'CN';
  odd.asn = 4_294_967_295; // the largest 32-bit ASN
  odd.asOrg = 'Société "Générale" \\ ✓ \u0001 tab\t end';
  odd.asCountry = 'FR';
  odd.ech = true;
  odd.encryptedDns = 'doh';
  const icmp = v4(3, null, null, 'ICMP');
  const six = v6(4);
  six.appProto = 'quic';
  six.encryptedDns = 'doq';
  // Port 0 and AS 0 are numbers, not absent.
  const zero = v4(8, 0, 0, 'UDP');
  zero.asn = 0;
  zero.country = 'NL';
  const tunnel = { type: 'vxlan' as const, outerSrcIp: '198.51.100.1', outerDestIp: '2001:db8::9' };
  return [
    { flow: flowRecord(plain, []) },
    { flow: flowRecord(odd, ['a.example', 'ünïcode.example', 'emoji-😀.example'], { verdict: 'high' }) },
    {
      flow: flowRecord(icmp, [], {
        verdict: 'allowed',
        reasons: [],
        tcpState: null,
        endReason: 'timeout',
        tunnel,
      }),
    },
    {
      flow: flowRecord(six, ['x.example'], {
        reasons: ['deny_country', 'deny_as_country', 'deny_asn', 'deny_domain'],
        endReason: 'end_of_input',
        tcpState: null,
      }),
    },
    {
      alert: {
        tsUs: 1_767_225_600_123_456,
        app: odd,
        names: ['a.example'],
        severity: 'high',
        reasons: ['deny_country'],
        text: 'Connects to 203.0.113.10: “quoted” \\ and a lone surrogate \ud800 and 😀.',
        tunnel,
      },
    },
    {
      alert: {
        tsUs: 0,
        app: plain,
        names: [],
        severity: 'medium',
        reasons: ['not_allowlisted'],
        text: '',
        tunnel: undefined,
      },
    },
    {
      app: {
        tsUs: 5,
        app: odd,
        type: 'tls',
        body: { sni: 'a.example', alpn: ['h2', 'http/1.1'], ech: true, version: 'TLS 1.3' },
        dns: null,
      },
    },
    {
      app: {
        tsUs: 6,
        app: six,
        type: 'quic',
        body: { version: '0x00000001', sni: null, alpn: [], ech: false },
        dns: null,
      },
    },
    {
      app: {
        tsUs: 7,
        app: plain,
        type: 'http',
        // Members left out when undefined, null in arrays; numbers of every kind; nested values.
        body: {
          hostname: 'h.example',
          http_method: 'GET',
          url: '/ä?q="1"',
          protocol: undefined,
          http_user_agent: null,
          n: [0, -1, 1.5, 2 ** 53, Number.NaN, undefined, { deep: [true, false] }],
          f: () => 1,
        },
        dns: null,
      },
    },
    { flow: flowRecord(zero, [], { verdict: 'allowed', reasons: [], tcpState: null, endReason: 'timeout' }) },
    { app: dnsEvent(v4(5, 53000, 53, 'UDP'), 8, QUERY) },
    { app: dnsEvent(v4(5, 53000, 53, 'UDP'), 9, A_RESPONSE, 17) },
    { app: dnsEvent(v6(6), 10, AAAA_RESPONSE, 3) },
    { app: dnsEvent(v4(7, 53001, 53, 'TCP'), 11, CNAME_CHAIN) },
    { line: '{"timestamp":"2026-01-01T00:00:00.000000Z","event_type":"capture_gap","note":"é"}' },
  ];
}

/** The lines as the pipeline's own writers make them. */
function direct(records: Rec[]): Buffer {
  const out = new JsonBytes(Buffer.alloc(1 << 16), (o, need) => {
    const bigger = Buffer.alloc(Math.max(2 * o.buf.length, o.pos + need));
    o.buf.copy(bigger, 0, 0, o.pos);
    o.buf = bigger;
  });
  for (const r of records) {
    if ('flow' in r) writeFlowEvent(out, r.flow);
    else if ('alert' in r) writeAlertEvent(out, r.alert);
    else if ('app' in r) writeAppEvent(out, r.app);
    else {
      out.room(3 * r.line.length);
      out.pos += out.buf.write(r.line, out.pos, 'utf8');
    }
    out.byte(0x0a);
  }
  return Buffer.from(out.buf.subarray(0, out.pos));
}

function give(p: EventProducer, records: Rec[]): void {
  for (const r of records) {
    if ('flow' in r) p.flow(r.flow);
    else if ('alert' in r) p.alert(r.alert);
    else if ('app' in r) p.app(r.app);
    else p.line(r.line);
  }
}

/** Records through a ring and drainEvents on this thread (all of them must fit in the ring). */
function throughRing(records: Rec[]): Buffer {
  const ring = EventRing.create();
  const p = new EventProducer(ring);
  give(p, records);
  p.finish();
  const file = join(dir, `ring-${Math.random()}.ndjson`);
  const fd = openSync(file, 'w');
  try {
    drainEvents(ring, fd);
  } finally {
    closeSync(fd);
  }
  return readFileSync(file);
}

/** Many records of every kind, in a different order each round: several times the ring. */
function many(rounds: number): Rec[] {
  const out: Rec[] = [];
  for (let i = 0; i < rounds; i++) {
    const v = variety();
    for (let k = 0; k < v.length; k++) out.push(v[(k + i) % v.length]);
  }
  return out;
}

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

describe("the thread's side, on this thread", () => {
  it('poll() takes what was handed over and gives the room back, without waiting for more', () => {
    const ring = EventRing.create();
    const p = new EventProducer(ring);
    const file = join(dir, 'poll.ndjson');
    const fd = openSync(file, 'w');
    const c = new EventConsumer(ring, fd);
    c.poll(); // nothing yet: returns at once
    expect(Atomics.load(ring.ctl, Ctl.TAIL)).toBe(0);
    p.line('first');
    p.flush();
    c.poll();
    expect(Atomics.load(ring.ctl, Ctl.TAIL)).toBe(Atomics.load(ring.ctl, Ctl.HEAD));
    expect(Atomics.load(ring.ctl, Ctl.TAIL)).toBeGreaterThan(0);
    p.line('second');
    p.finish();
    c.run();
    closeSync(fd);
    expect(readFileSync(file, 'utf8')).toBe('first\nsecond\n');
  });

  it('fed by a pipeline on another thread in bursts: waits for each, follows the ring round, ends at DONE', async () => {
    // Lines of many lengths, so batches end anywhere and the ring's end needs padding.
    const lines = Array.from({ length: 97 }, (_, i) => `${i}:${'x'.repeat((i * 331) % 3000)}`);
    const n = 3000;
    const expected = Array.from({ length: n }, (_, i) => `${lines[i % lines.length]}\n`).join('');
    expect(expected.length).toBeGreaterThan(3 * RING_BYTES);
    const ring = EventRing.create();
    const helper = new Worker(
      `const { workerData: w } = require('node:worker_threads');
      (async () => {
        const { EventRing } = await import(w.ring);
        const { EventProducer } = await import(w.producer);
        const p = new EventProducer(new EventRing(w.sab));
        for (let i = 0; i < w.n; i++) {
          p.line(w.lines[i % w.lines.length]);
          if (i % 400 === 399) { p.flush(); await new Promise((r) => setTimeout(r, 15)); }
        }
        p.finish();
      })();`,
      {
        eval: true,
        workerData: { ring: BUILT('event-ring.js'), producer: BUILT('event-producer.js'), sab: ring.sab, lines, n },
      },
    );
    const exited = new Promise((r) => helper.on('exit', r));
    const file = join(dir, 'bursts.ndjson');
    const fd = openSync(file, 'w');
    drainEvents(ring, fd); // here, while the helper hands over its bursts
    closeSync(fd);
    await exited;
    expect(readFileSync(file, 'utf8')).toBe(expected);
  }, 30_000);

  it('an output that is not ready (non-blocking, full): partial writes and waits, every byte in order', async () => {
    const records = many(120);
    const expected = direct(records);
    expect(expected.length).toBeLessThan(RING_BYTES); // all handed over first, then drained here
    expect(expected.length).toBeGreaterThan(4 * 65_536); // more than a pipe holds
    const fifo = join(dir, 'nonblocking.fifo');
    const out = join(dir, 'nonblocking.ndjson');
    await mkfifo(fifo);
    const fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
    const reader = spawn('sh', ['-c', `sleep 0.3; cat "${fifo}" > "${out}"`], { stdio: 'ignore' });
    const readerDone = new Promise((r) => reader.on('exit', r));
    const ring = EventRing.create();
    const p = new EventProducer(ring);
    give(p, records);
    p.finish();
    drainEvents(ring, fd);
    closeSync(fd);
    await readerDone;
    expect(readFileSync(out).equals(expected)).toBe(true);
  }, 30_000);

  it('a reader that goes away (EPIPE): what is left is dropped and the drain ends', async () => {
    const fifo = join(dir, 'epipe.fifo');
    await mkfifo(fifo);
    const reader = spawn('head', ['-c', '10', fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
    let got = '';
    reader.stdout.on('data', (b: Buffer) => {
      got += b.toString();
    });
    const readerDone = new Promise((r) => reader.on('exit', r));
    const fd = openSync(fifo, 'w'); // once head has opened it
    const records = many(120);
    const ring = EventRing.create();
    const p = new EventProducer(ring);
    // Enough for one written piece (64 KiB, which the empty pipe holds): head reads its 10 bytes and goes.
    const first = 14 * 20;
    expect(direct(records.slice(0, first)).length).toBeGreaterThan(70_000);
    give(p, records.slice(0, first));
    p.flush();
    const c = new EventConsumer(ring, fd);
    c.poll();
    await readerDone;
    give(p, records.slice(first));
    p.finish();
    c.run(); // writes into a pipe with no reader: EPIPE, then drops the rest
    closeSync(fd);
    expect(got).toBe(direct(records).subarray(0, 10).toString());
    expect(Atomics.load(ring.ctl, Ctl.TAIL)).toBe(Atomics.load(ring.ctl, Ctl.HEAD));
  }, 30_000);

  it('an output that cannot be written (EBADF) is an error, not a wait', () => {
    const file = join(dir, 'read-only-here.ndjson');
    closeSync(openSync(file, 'w'));
    const fd = openSync(file, 'r');
    const ring = EventRing.create();
    const p = new EventProducer(ring);
    p.line('x');
    p.finish();
    expect(() => drainEvents(ring, fd)).toThrow(/EBADF/);
    closeSync(fd);
  });

  it('a DNS record whose bytes do not parse is an error, not a line', () => {
    const ring = EventRing.create();
    const p = new EventProducer(ring);
    const e = dnsEvent(v4(9, 53002, 53, 'UDP'), 1, QUERY);
    const junk = Buffer.from([1, 2, 3]);
    p.app({ ...e, dns: { ...(e.dns as NonNullable<AppEventRecord['dns']>), buf: junk, off: 0, len: junk.length } });
    p.finish();
    const fd = openSync(join(dir, 'junk.ndjson'), 'w');
    expect(() => drainEvents(ring, fd)).toThrow(/does not parse again/);
    closeSync(fd);
    expect(Atomics.load(ring.ctl, Ctl.FAILED)).toBe(1);
  });
});

describe('the event thread', () => {
  it('with the QUIC look-ahead in the same worker: the pipeline takes every first Initial from it', async () => {
    const input = join(FIXTURES_DIR, 'names/quic-chromium', 'input.pcap');
    const plain = await scan(input, undefined);
    const fd = openSync(join(dir, 'ahead.ndjson'), 'w');
    const t = EventThread.start(fd, undefined, input, WORKER);
    expect(await t.ready()).toBe(true);
    const ahead = t.quicAhead;
    if (ahead === undefined) throw new Error('no look-ahead');
    await workerAhead(ahead);
    const withAhead = await scan(input, undefined, ahead);
    await ahead.stop();
    await t.close(); // the lines go on after the look-ahead stops
    closeSync(fd);
    expect(withAhead.lines).toEqual(plain.lines);
    expect(ahead.counters).toEqual({ taken: plain.quicEvents, missed: 0 });
    expect(AHEAD_WORKER.href).toContain('quic-ahead-worker.js'); // the other worker is not the one used here
  });

  it('several times the ring through the worker: wrapped, every line, in order', async () => {
    const records = many(4000);
    const expected = direct(records);
    expect(expected.length).toBeGreaterThan(3 * RING_BYTES);
    const file = join(dir, 'worker.ndjson');
    const fd = openSync(file, 'w');
    let settled = 0;
    const t = EventThread.start(fd, () => settled++, undefined, WORKER);
    expect(await t.ready()).toBe(true);
    give(t.events, records);
    await t.close();
    closeSync(fd);
    expect(readFileSync(file).equals(expected)).toBe(true);
    expect(t.quicAhead).toBeUndefined();
    expect(settled).toBe(2); // up, and ended
  });

  it('held up by a reader that does not read: the pipeline waits for room, and nothing is lost', async () => {
    const records = many(3000);
    const expected = direct(records);
    const fifo = join(dir, 'slow.fifo');
    const out = join(dir, 'slow.ndjson');
    const mk = spawn('mkfifo', [fifo]);
    await new Promise((r) => mk.on('exit', r));
    // Read-write: opening does not wait for a reader, and writes block once the pipe is full.
    const fd = openSync(fifo, 'r+');
    // The reader starts only after the pipeline has filled the pipe and the ring.
    const reader = spawn('sh', ['-c', `sleep 1; cat "${fifo}" > "${out}"`], { stdio: 'ignore' });
    const readerDone = new Promise((r) => reader.on('exit', r));
    const t = EventThread.start(fd, undefined, undefined, WORKER);
    await t.ready();
    give(t.events, records);
    await t.close();
    expect(t.events.waits).toBeGreaterThan(0);
    closeSync(fd); // the reader sees the end
    await readerDone;
    expect(readFileSync(out).equals(expected)).toBe(true);
  }, 30_000);

  it('a reader that goes away: the rest is dropped quietly and the thread ends', async () => {
    const fifo = join(dir, 'gone.fifo');
    const mk = spawn('mkfifo', [fifo]);
    await new Promise((r) => mk.on('exit', r));
    const reader = spawn('head', ['-c', '100', fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
    let got = '';
    reader.stdout.on('data', (b: Buffer) => {
      got += b.toString();
    });
    const fd = openSync(fifo, 'w'); // waits for head to open it
    const readerDone = new Promise((r) => reader.on('exit', r));
    const t = EventThread.start(fd, undefined, undefined, WORKER);
    await t.ready();
    give(t.events, many(200));
    t.events.flush();
    await readerDone;
    give(t.events, many(2000));
    await t.close(); // no EPIPE thrown: ended quietly
    closeSync(fd);
    expect(got).toBe(direct(many(200)).subarray(0, 100).toString());
  }, 30_000);

  it('abandoned after the pipeline failed: what it was given is written, and it ends', async () => {
    const records = variety();
    const file = join(dir, 'abandoned.ndjson');
    const fd = openSync(file, 'w');
    const t = EventThread.start(fd, undefined, undefined, WORKER);
    await t.ready();
    give(t.events, records);
    await t.abandon();
    await t.abandon(); // twice is harmless
    closeSync(fd);
    expect(readFileSync(file).equals(direct(records))).toBe(true);
  });

  it('a worker that cannot start is not ready: the caller writes the lines itself', async () => {
    const t = EventThread.start(1, undefined, undefined, pathToFileURL(join(dir, 'no-such-worker.js')));
    expect(await t.ready()).toBe(false);
    await t.abandon(); // ends at once
  });

  it('a thread that fails is reported by close()', async () => {
    const file = join(dir, 'read-only.ndjson');
    closeSync(openSync(file, 'w'));
    // A descriptor open for reading only: the thread's first write fails with EBADF (not EPIPE).
    const fd = openSync(file, 'r');
    const t = EventThread.start(fd, undefined, undefined, WORKER);
    await t.ready();
    t.events.line('first');
    await expect(t.close()).rejects.toThrow(/EBADF/);
    closeSync(fd);
  });
});
