// Exact behaviour of the two pieces in front of the broker's command path
// (issue 12), table by table, written for the mutants Stryker found alive
// (issue 19): the command gate's counters, reply codes and bounds, its rate
// refill, and the MQTT packet guard's header parse (MQTT 3.1.1 §2.2.3),
// backpressure and the stream plumbing both ways.

import { Duplex, PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../agent/src/errors.js';
import { encodeCommand } from '../../agent/src/mqtt/codec-control.js';
import { decodeCommandReply } from '../../agent/src/mqtt/codec-decode.js';
import { CommandGate, MAX_COMMAND_BYTES, MAX_REPLY_ID, MAX_REPLY_MESSAGE } from '../../agent/src/mqtt/commands.js';
import { PacketGuard } from '../../agent/src/mqtt/packet-guard.js';

const TOKEN = 'T0k3n-for-the-exact-gate-tests';
const topic = (verb = 'ping') => `egress/v1/gw1/cmd/${verb}`;

function gate(now = () => 0, perSecond = 2, burst = 2) {
  const replies: { topic: string; reply: ReturnType<typeof decodeCommandReply> }[] = [];
  const g = new CommandGate({
    gateway: 'gw1',
    token: TOKEN,
    verbs: ['ping', 'status'],
    publish: (t, p) => replies.push({ topic: t, reply: decodeCommandReply(p) }),
    perSecond,
    burst,
    now,
  });
  return { g, replies };
}
const cmd = (id: string, o: { token?: string; verb?: string; args?: Record<string, string> } = {}) =>
  encodeCommand({ id, verb: o.verb ?? 'ping', token: o.token ?? TOKEN, args: o.args ?? {} });

describe('command gate: every outcome, counted and answered exactly', () => {
  it.each([
    ['wrong token', cmd('a', { token: 'x'.repeat(TOKEN.length) }), 'a', 'wrong token'],
    [
      'payload verb differs from the topic',
      cmd('b', { verb: 'status' }),
      'b',
      'unknown command "ping" (known: ping, status)',
    ],
    ['malformed protobuf', Buffer.from([0x0a, 0xff, 0x01]), '', /^malformed command: /],
  ] as const)('%s: rejected with COMMAND_REJECTED, counted once, nothing run', (_what, payload, id, message) => {
    const { g, replies } = gate();
    expect(g.admit(topic(), payload, false)).toBeNull();
    expect(replies).toHaveLength(1);
    expect(replies[0].topic).toBe('egress/v1/gw1/reply/ping');
    expect(replies[0].reply).toMatchObject({ id, ok: false, code: ErrorCode.COMMAND_REJECTED });
    expect(replies[0].reply.message).toMatch(message);
    expect(g.counters).toEqual({ run: 0, rejected: 1, too_large: 0, ignored_retained: 0, rate_limited: 0 });
  });

  it('refuses a verb the agent does not know even when topic and payload agree', () => {
    const { g, replies } = gate();
    expect(g.admit(topic('reboot'), cmd('c', { verb: 'reboot' }), false)).toBeNull();
    expect(replies[0].reply.message).toBe('unknown command "reboot" (known: ping, status)');
    expect(replies[0].topic).toBe('egress/v1/gw1/reply/reboot');
  });

  it('refuses a well-formed right-token command over the size limit before decoding it', () => {
    const { g, replies } = gate();
    const big = cmd('d', { args: { pad: 'p'.repeat(MAX_COMMAND_BYTES) } });
    expect(big.length).toBeGreaterThan(MAX_COMMAND_BYTES);
    expect(g.admit(topic(), big, false)).toBeNull();
    expect(replies[0].reply).toMatchObject({
      id: '', // not decoded: no id to echo
      ok: false,
      message: `command too large: ${big.length} bytes (at most ${MAX_COMMAND_BYTES})`,
    });
    expect(g.counters).toMatchObject({ run: 0, rejected: 1, too_large: 1 });
    // At the limit exactly it is decoded (and run).
    let pad = MAX_COMMAND_BYTES - cmd('e', { args: { pad: '' } }).length - 2;
    let fit = cmd('e', { args: { pad: 'p'.repeat(pad) } });
    while (fit.length < MAX_COMMAND_BYTES) fit = cmd('e', { args: { pad: 'p'.repeat(++pad) } });
    expect(fit.length).toBe(MAX_COMMAND_BYTES);
    expect(g.admit(topic(), fit, false)?.args.pad).toBe('p'.repeat(pad));
  });

  it('admits an id of exactly the reply limit, and replies through the admitted command with its id and no code', () => {
    const { g, replies } = gate();
    const id = 'i'.repeat(MAX_REPLY_ID);
    const c = g.admit(topic(), cmd(id), false);
    expect(c).toMatchObject({ verb: 'ping', args: {} });
    expect(g.counters).toMatchObject({ run: 1, rejected: 0 });
    expect(replies).toEqual([]);
    c?.reply(true, 'pong');
    c?.reply(false, 'm'.repeat(MAX_REPLY_MESSAGE + 1));
    expect(replies.map(({ reply: r }) => ({ id: r.id, ok: r.ok, code: r.code, message: r.message }))).toEqual([
      { id, ok: true, code: '', message: 'pong' },
      { id, ok: false, code: ErrorCode.COMMAND_REJECTED, message: `${'m'.repeat(MAX_REPLY_MESSAGE - 1)}…` },
    ]);
    // A message of exactly the limit goes out whole.
    c?.reply(true, 'n'.repeat(MAX_REPLY_MESSAGE));
    expect(replies[2].reply.message).toBe('n'.repeat(MAX_REPLY_MESSAGE));
  });

  it('refills its tokens at perSecond, fractions kept, up to the burst', () => {
    let now = 1_000;
    const { g } = gate(() => now, 4, 2); // one token every 250 ms
    expect([g.admit(topic(), cmd('1'), false), g.admit(topic(), cmd('2'), false)].every((c) => c !== null)).toBe(true);
    expect(g.admit(topic(), cmd('3'), false)).toBeNull();
    now += 125; // half a token
    expect(g.admit(topic(), cmd('4'), false)).toBeNull();
    now += 125; // the other half: one whole token
    expect(g.admit(topic(), cmd('5'), false)).not.toBeNull();
    expect(g.admit(topic(), cmd('6'), false)).toBeNull();
    now += 10_000; // long idle: the burst, not 40 tokens
    for (const id of ['7', '8']) expect(g.admit(topic(), cmd(id), false)).not.toBeNull();
    expect(g.admit(topic(), cmd('9'), false)).toBeNull();
    expect(g.counters).toMatchObject({ run: 5, rate_limited: 4 });
  });
});

// ---- packet guard ----------------------------------------------------------------------------

/** A guard on a PassThrough, everything it passes collected. */
function guarded(limit: number, o: { address?: string } = {}) {
  const raw = new PassThrough();
  const refused: number[] = [];
  const g = new PacketGuard(raw, { limit: () => limit, onRefused: (n) => refused.push(n), ...o });
  const out: Buffer[] = [];
  g.on('data', (c: Buffer) => out.push(c));
  g.on('error', () => {});
  const tick = () => new Promise((r) => setImmediate(r));
  return { raw, g, refused, out: () => Buffer.concat(out), tick };
}

const publish = (len: number, fill: number) => {
  // Remaining Length as MQTT's variable-length integer.
  const bytes: number[] = [];
  let n = len;
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    bytes.push(b);
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x30, ...bytes]), Buffer.alloc(len, fill)]);
};

describe('packet guard: the header parse', () => {
  it('refuses a five-byte Remaining Length even when its value is small (0x80 0x80 0x80 0x80 0x00)', async () => {
    const s = guarded(4096);
    s.raw.write(Buffer.from([0x10, 0x80, 0x80, 0x80, 0x80, 0x00, 0x10, 0x00]));
    await s.tick();
    expect(s.refused).toEqual([0]);
    expect(s.out().length).toBe(0);
  });

  it('accepts a four-byte Remaining Length within the limit', async () => {
    const s = guarded(4096);
    const p = Buffer.from([0x30, 0x82, 0x80, 0x80, 0x00, 0x61, 0x62]); // 2, said in four bytes
    s.raw.write(p);
    await s.tick();
    expect(s.refused).toEqual([]);
    expect(s.out().equals(p)).toBe(true);
  });

  it('never reads a body as headers: bodies of 0xFF bytes, whole and split across chunks, pass', async () => {
    const stream = Buffer.concat([publish(300, 0xff), publish(5, 0xc0), publish(0, 0), publish(200, 0xff)]);
    for (const at of [0, 1, 2, 3, 100, 303, 304, 305, 310, 312, stream.length]) {
      const s = guarded(300);
      s.raw.write(stream.subarray(0, at));
      s.raw.write(stream.subarray(at));
      await s.tick();
      expect(s.refused, `split at ${at}`).toEqual([]);
      expect(s.out().equals(stream), `split at ${at}`).toBe(true);
    }
  });

  it('inspects the header after a body in the same chunk and after a body split over chunks', async () => {
    const oversize = Buffer.from([0x30, 0xe5, 0x02]); // 357 > 300
    for (const parts of [
      [Buffer.concat([publish(10, 0x61), oversize])],
      [publish(300, 0x61).subarray(0, 150), Buffer.concat([publish(300, 0x61).subarray(150), oversize])],
      [Buffer.concat([publish(0, 0), publish(0, 0), oversize])],
    ]) {
      const s = guarded(300);
      for (const p of parts) s.raw.write(p);
      await s.tick();
      expect(s.refused).toEqual([357]);
      expect(s.raw.destroyed).toBe(true);
    }
  });
});

describe('packet guard: the stream both ways', () => {
  it('holds the socket while its reader is slow and lets it go on when read again (nothing lost)', async () => {
    const raw = new PassThrough();
    const g = new PacketGuard(raw, { limit: () => 1 << 20, onRefused: () => {} });
    const chunk = publish(60_000, 0x61);
    for (let i = 0; i < 8; i++) raw.write(chunk);
    await new Promise((r) => setImmediate(r));
    expect(raw.isPaused()).toBe(true); // nobody reads the guard: the raw stream is paused
    const got: Buffer[] = [];
    g.on('data', (c: Buffer) => got.push(c));
    await new Promise((r) => setTimeout(r, 20));
    expect(Buffer.concat(got).length).toBe(8 * chunk.length);
  });

  it('ends when the socket ends, and is destroyed with the socket (error or close)', async () => {
    const s = guarded(100);
    let ended = false;
    s.g.on('end', () => (ended = true));
    s.raw.end(publish(3, 0x61));
    await new Promise((r) => setTimeout(r, 10));
    expect(ended).toBe(true);

    const e = guarded(100);
    let error: Error | null = null;
    e.g.removeAllListeners('error');
    e.g.on('error', (err) => (error = err));
    e.raw.destroy(new Error('ECONNRESET'));
    await new Promise((r) => setTimeout(r, 10));
    expect(e.g.destroyed).toBe(true);
    expect((error as Error | null)?.message).toBe('ECONNRESET');

    const c = guarded(100);
    c.raw.destroy();
    await new Promise((r) => setTimeout(r, 10));
    expect(c.g.destroyed).toBe(true);
  });

  it('writes through to the socket (single writes, corked batches, end), waiting for drain when told to', async () => {
    const written: Buffer[] = [];
    let ended = false;
    let accept = false;
    const raw = new Duplex({
      read() {},
      write(chunk, _enc, done) {
        written.push(chunk);
        if (accept) done();
        else setTimeout(done, 5);
      },
      final(done) {
        ended = true;
        done();
      },
      highWaterMark: 4,
    });
    const g = new PacketGuard(raw, { limit: () => 100, onRefused: () => {} });
    let drained = false;
    g.write(Buffer.from('0123456789'), () => (drained = true));
    await new Promise((r) => setTimeout(r, 1));
    expect(drained).toBe(false); // the socket said wait: the guard's write waits for its drain
    await new Promise((r) => setTimeout(r, 30));
    expect(drained).toBe(true);
    accept = true;
    g.cork();
    g.write(Buffer.from('ab'));
    g.write(Buffer.from('cd'));
    g.uncork();
    await new Promise((r) => setTimeout(r, 10));
    expect(Buffer.concat(written).toString()).toBe('0123456789abcd');
    g.end();
    await new Promise((r) => setTimeout(r, 10));
    expect(ended).toBe(true);
  });

  it('a corked batch completes at once when the socket takes it, on drain when it says wait, at once when it is gone', async () => {
    let delay = 0;
    const raw = new Duplex({
      read() {},
      write(_chunk, _enc, done) {
        if (delay === 0) done();
        else setTimeout(done, delay);
      },
      highWaterMark: 1,
    });
    const g = new PacketGuard(raw, { limit: () => 100, onRefused: () => {} });
    const errors: Error[] = [];
    g.on('error', (e) => errors.push(e));
    const batch = async (): Promise<boolean[]> => {
      const done = [false, false];
      g.cork();
      g.write(Buffer.from('ab'), () => (done[0] = true));
      g.write(Buffer.from('cd'), () => (done[1] = true));
      g.uncork();
      await new Promise((r) => setTimeout(r, 2));
      return done;
    };
    expect(await batch()).toEqual([true, true]); // taken: completed without waiting for a drain
    delay = 40;
    expect(await batch()).toEqual([false, false]); // the socket said wait
    await new Promise((r) => setTimeout(r, 120));
    // ... and after its drain the guard takes writes again
    delay = 0;
    expect(await batch()).toEqual([true, true]);
    // The socket destroyed under a batch (before its close reached the guard): nothing written to it, no error.
    raw.destroy();
    g.cork();
    let last: Error | null | undefined;
    g.write(Buffer.from('ef'), (err) => (last = err ?? null));
    g.uncork();
    await new Promise((r) => setTimeout(r, 10));
    expect(last).toBeNull(); // completed, not failed by the guard's own destruction afterwards
    expect(errors).toEqual([]);
  });

  it('names the peer by the address it was given, else by the socket', () => {
    const given = new PacketGuard(new PassThrough(), { limit: () => 1, onRefused: () => {}, address: '192.0.2.7' });
    expect(given.remoteAddress).toBe('192.0.2.7');
    const sock = Object.assign(new PassThrough(), { remoteAddress: '198.51.100.9' });
    expect(new PacketGuard(sock, { limit: () => 1, onRefused: () => {} }).remoteAddress).toBe('198.51.100.9');
  });
});
