// The pieces behind issue 12, each on its own: the packet-size guard in front
// of aedes (MQTT 3.1.1 §2.2.3 Remaining Length, split at every byte offset),
// the failed-login throttle, the command gate and the token rules. The real
// agent with real clients is tested in test/mqtt/hardening.test.ts.

import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../agent/src/http/login-throttle.js';
import { checkTokenStrength, enforceMode, readTokenFile } from '../../agent/src/live/secret-files.js';
import { encodeCommand } from '../../agent/src/mqtt/codec-control.js';
import { decodeCommandReply } from '../../agent/src/mqtt/codec-decode.js';
import { CommandGate, MAX_COMMAND_BYTES, MAX_REPLY_ID } from '../../agent/src/mqtt/commands.js';
import { PacketGuard } from '../../agent/src/mqtt/packet-guard.js';

// A PINGREQ (type 0xC0, length 0), then a PUBLISH (0x30) whose Remaining Length 321 is two bytes (0xC1 0x02).
const PING = Buffer.from([0xc0, 0x00]);
const PUBLISH_321 = Buffer.concat([Buffer.from([0x30, 0xc1, 0x02]), Buffer.alloc(321, 0x61)]);
// A CONNECT announcing 268,435,455 bytes (0xFF 0xFF 0xFF 0x7F, the largest length MQTT can say).
const HUGE = Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x04]);
// Five length bytes: malformed (§2.2.3 allows four).
const FIVE = Buffer.from([0x10, 0x80, 0x80, 0x80, 0x80, 0x01]);

/** Feed `input` in two pieces split at `at`; what passed, and the refused length or null. */
async function through(input: Buffer, limit: number, at: number): Promise<{ out: Buffer; refused: number | null }> {
  const raw = new PassThrough();
  let refused: number | null = null;
  const g = new PacketGuard(raw, { limit: () => limit, onRefused: (n) => (refused = n) });
  const chunks: Buffer[] = [];
  g.on('data', (c: Buffer) => chunks.push(c));
  g.on('error', () => {});
  raw.write(input.subarray(0, at));
  raw.write(input.subarray(at));
  await new Promise((r) => setImmediate(r));
  return { out: Buffer.concat(chunks), refused };
}

describe('packet guard', () => {
  const stream = Buffer.concat([PING, PUBLISH_321, PING]);
  it('passes packets within the limit unchanged, split at every byte offset', async () => {
    for (let at = 0; at <= stream.length; at++) {
      const r = await through(stream, 321, at);
      expect(r.refused, `split at ${at}`).toBeNull();
      expect(r.out.equals(stream), `split at ${at}`).toBe(true);
    }
  });

  it('refuses a packet one byte over the limit, wherever the header is split', async () => {
    for (let at = 0; at <= 6; at++) {
      const r = await through(stream, 320, at);
      expect(r.refused, `split at ${at}`).toBe(321);
      // Nothing of the oversize packet's body reaches the broker: at most the header bytes that came
      // in a chunk before the length was complete.
      expect(r.out.length).toBeLessThanOrEqual(PING.length + 3);
      expect(stream.subarray(0, r.out.length).equals(r.out)).toBe(true);
    }
  });

  it('refuses 256 MB announced in a CONNECT and a five-byte length, and destroys the socket', async () => {
    for (const input of [HUGE, FIVE]) {
      const raw = new PassThrough();
      let refused = false;
      const g = new PacketGuard(raw, { limit: () => 4096, onRefused: () => (refused = true) });
      g.on('error', () => {});
      raw.write(input);
      await new Promise((r) => setImmediate(r));
      expect(refused).toBe(true);
      expect(raw.destroyed).toBe(true);
    }
  });

  it('asks for the limit at every header, so it can change after login', async () => {
    const raw = new PassThrough();
    let limit = 0;
    const g = new PacketGuard(raw, { limit: () => limit, onRefused: () => {} });
    const got: Buffer[] = [];
    g.on('data', (c: Buffer) => got.push(c));
    raw.write(PING);
    limit = 321;
    raw.write(PUBLISH_321);
    await new Promise((r) => setImmediate(r));
    expect(Buffer.concat(got).length).toBe(PING.length + PUBLISH_321.length);
  });
});

describe('login throttle', () => {
  it('allows a burst of failures, then one per interval, and refuses even the right token meanwhile', () => {
    let now = 0;
    const t = new LoginThrottle({ burst: 3, perSecond: 1, now: () => now });
    for (let i = 0; i < 3; i++) {
      expect(t.allow('192.0.2.1')).toBe(true);
      t.failed('192.0.2.1');
    }
    expect(t.allow('192.0.2.1')).toBe(false);
    expect(t.retryAfter('192.0.2.1')).toBe(1);
    // Another address is not affected.
    expect(t.allow('192.0.2.2')).toBe(true);
    now += 1000;
    expect(t.allow('192.0.2.1')).toBe(true);
    expect(t.counters).toMatchObject({ login_failures: 3, login_throttled: 1 });
  });

  it('remembers a bounded number of addresses, evicting the oldest (counted)', () => {
    const t = new LoginThrottle({ maxAddresses: 2, now: () => 0 });
    for (const a of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) t.failed(a);
    expect(t.size).toBe(2);
    expect(t.counters.throttle_evictions).toBe(1);
  });
});

describe('command gate', () => {
  const TOKEN = 'T0k3n-for-the-gate-tests';
  const topic = 'egress/v1/gw1/cmd/ping';
  function gate(now = () => 0) {
    const replies: ReturnType<typeof decodeCommandReply>[] = [];
    const g = new CommandGate({
      gateway: 'gw1',
      token: TOKEN,
      verbs: ['ping'],
      publish: (_t, p) => replies.push(decodeCommandReply(p)),
      perSecond: 2,
      burst: 2,
      now,
    });
    return { g, replies };
  }
  const cmd = (id: string, token = TOKEN) => encodeCommand({ id, verb: 'ping', token, args: {} });

  it('ignores a retained command without a reply', () => {
    const { g, replies } = gate();
    expect(g.admit(topic, cmd('r'), true)).toBeNull();
    expect(replies).toEqual([]);
    expect(g.counters.ignored_retained).toBe(1);
  });

  it('drops commands over the rate without replying, and admits again later', () => {
    let now = 0;
    const { g, replies } = gate(() => now);
    expect(g.admit(topic, cmd('1'), false)).not.toBeNull();
    expect(g.admit(topic, cmd('2'), false)).not.toBeNull();
    expect(g.admit(topic, cmd('3'), false)).toBeNull();
    expect(replies).toEqual([]);
    expect(g.counters.rate_limited).toBe(1);
    now += 500;
    expect(g.admit(topic, cmd('4'), false)).not.toBeNull();
  });

  it('never decodes an oversize payload, and never echoes more than 64 characters of an id', () => {
    const { g, replies } = gate();
    expect(g.admit(topic, Buffer.alloc(MAX_COMMAND_BYTES + 1), false)).toBeNull();
    expect(replies[0]).toMatchObject({ ok: false, id: '' });
    expect(g.admit(topic, cmd('x'.repeat(3000), 'wrong'), false)).toBeNull();
    expect(replies[1].id.length).toBe(MAX_REPLY_ID);
    expect(replies[1].message).toBe('wrong token');
  });

  it('refuses a right-token command whose id is over the limit', () => {
    const { g, replies } = gate();
    expect(g.admit(topic, cmd('y'.repeat(MAX_REPLY_ID + 1)), false)).toBeNull();
    expect(replies[0].message).toContain('longer than');
  });
});

describe('token rules and file modes', () => {
  it.each(['a', 'password1234', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'abcdefghijklmnop'])('refuses %s', (t) => {
    expect(() => checkTokenStrength(t, 'EGRESS_DASHBOARD_TOKEN')).toThrow(
      expect.objectContaining({ code: 'EGRESS_TOKEN_WEAK' }),
    );
  });

  it.each(['Probe-Token-7f3K9xQ2mZ8vL4wR6tY1', 'kR2v_9XbQm-4ZtLp8wYc1Hn7'])('accepts %s', (t) => {
    expect(checkTokenStrength(t, 'x')).toBe(t);
  });

  it('closes a file left 0644 to 0600 and reports that it did', () => {
    const dir = mkdtempSync(join(tmpdir(), 'egress-modes-'));
    const f = join(dir, 'secrets.json');
    writeFileSync(f, '{}', { mode: 0o644 });
    expect(enforceMode(f, 0o600, 'the secrets file')).toBe(true);
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(enforceMode(f, 0o600, 'the secrets file')).toBe(false);
  });

  it('reads the first line of a token file; an empty or missing file is a usage error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'egress-tokenfile-'));
    writeFileSync(join(dir, 't'), '  secret-token \nsecond line\n');
    expect(readTokenFile(join(dir, 't'))).toBe('secret-token');
    writeFileSync(join(dir, 'empty'), '\n');
    for (const f of ['empty', 'missing'])
      expect(() => readTokenFile(join(dir, f))).toThrow(expect.objectContaining({ code: 'EGRESS_USAGE' }));
  });
});
