// Block mode, the agent's side (agent/src/live/blocking.ts): a high alert's
// destination goes to the real block helper (hardware/src/block/helper.ts)
// over a real Unix socket, once per address; the helper's nft is a small
// script that records its arguments (or fails on demand), since changing the
// host's ruleset is the end-to-end test's job (test/live/gateway-e2e.test.ts).
// Fail-open: a helper that is away or failing is logged once, counted, and
// asked again on the next alert. The options come from flags or egress.env.

import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blockChoice } from '../../agent/src/cli/block-options.js';
import { EgressError } from '../../agent/src/errors.js';
import { AgentBlocking } from '../../agent/src/live/blocking.js';
import { FailClosedWatch } from '../../agent/src/live/fail-closed.js';
import type { AlertRecord } from '../../agent/src/output/flow-record.js';
import { BlockHelper } from '../../hardware/src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'egress-blocking-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** A helper whose nft appends its arguments to a file; exits 1 while FAIL exists. */
async function helper(): Promise<{
  socket: string;
  calls: () => string[];
  fail: (on: boolean) => void;
  h: BlockHelper;
}> {
  const id = ++n;
  const calls = join(dir, `calls-${id}`);
  const fail = join(dir, `fail-${id}`);
  const nft = join(dir, `nft-${id}`);
  writeFileSync(calls, '');
  writeFileSync(nft, `#!/bin/sh\n[ -e '${fail}' ] && { echo 'no such set' >&2; exit 1; }\necho "$*" >> '${calls}'\n`);
  chmodSync(nft, 0o755);
  const socket = join(dir, `block-${id}.sock`);
  const h = new BlockHelper({ socket, nft });
  await h.listen();
  return {
    socket,
    h,
    calls: () => readFileSync(calls, 'utf8').split('\n').filter(Boolean),
    fail: (on) => (on ? writeFileSync(fail, '') : rmSync(fail, { force: true })),
  };
}

function alert(
  destIp: string,
  severity: 'medium' | 'high' = 'high',
  internet = true,
  names: string[] = [],
): AlertRecord {
  const v6 = destIp.includes(':');
  const words = v6
    ? [0x20010db8, 0, 0, 0x53]
    : [destIp.split('.').reduce((w, o) => ((w << 8) | Number(o)) >>> 0, 0) | 0];
  return {
    tsUs: 0,
    app: {
      destIp,
      internet,
      v6,
      country: 'CN',
      asn: 4134,
      asCountry: 'CN',
      destWords: (out: Int32Array) => {
        out.set(words.concat([0, 0, 0]).slice(0, 4));
        return out;
      },
    } as unknown as AlertRecord['app'],
    names,
    severity,
    reasons: ['deny_country'],
    text: '',
  };
}

const sent = (b: AgentBlocking) => b.settle(5000);

describe('block mode: the agent feeds the block helper', () => {
  it('asks once per address, only for high alerts to the internet, and never waits for the answer', async () => {
    const { socket, calls, h } = await helper();
    const logs: string[] = [];
    const b = new AgentBlocking({ socket, seconds: 600, log: (l) => logs.push(l) });
    b.alert(alert('203.0.113.10'));
    expect(b.counters()).toMatchObject({ 'block.requested': 1, 'block.ok': 0, 'block.in_flight': 1 });
    b.alert(alert('203.0.113.10'));
    b.alert(alert('198.51.100.80', 'medium'));
    b.alert(alert('192.168.42.1', 'high', false));
    b.alert(alert('2001:db8::53'));
    await sent(b);
    b.alert(alert('203.0.113.10')); // answered ok: not asked again
    await sent(b);
    expect(calls().sort()).toEqual([
      'add element inet egress denied4 { 203.0.113.10 timeout 600s }',
      'add element inet egress denied6 { 2001:db8::53 timeout 600s }',
    ]);
    expect(b.counters()).toEqual({
      'block.requested': 2,
      'block.ok': 2,
      'block.refused': 0,
      'block.failed': 0,
      'block.unreachable': 0,
      'block.busy': 0,
      'block.evicted': 0,
      'block.released': 0,
      'block.release_failed': 0,
      'block.addresses': 2,
      'block.in_flight': 0,
    });
    expect(logs).toEqual([]);
    await h.close();
  });

  it('fail-open: a helper that is away is logged once, counted, and asked again on the next alert', async () => {
    const socket = join(dir, 'nobody.sock');
    const logs: string[] = [];
    const b = new AgentBlocking({ socket, log: (l) => logs.push(l) });
    expect(() => b.alert(alert('203.0.113.10'))).not.toThrow();
    await sent(b);
    b.alert(alert('203.0.113.10'));
    b.alert(alert('203.0.113.11'));
    await sent(b);
    expect(b.counters()).toMatchObject({
      'block.requested': 3,
      'block.failed': 3,
      'block.unreachable': 3,
      'block.ok': 0,
      'block.addresses': 0,
    });
    expect(logs).toHaveLength(1);
    expect(logs[0]).toContain(`the block helper on ${socket} is not reachable; 203.0.113.10 is not blocked`);

    // The helper comes up: the next alert for the same address is blocked, and the log says so.
    const h = new BlockHelper({ socket, nft: 'true' });
    await h.listen();
    b.alert(alert('203.0.113.10'));
    await sent(b);
    expect(b.counters()).toMatchObject({ 'block.requested': 4, 'block.ok': 1, 'block.addresses': 1 });
    expect(logs[1]).toBe('block mode: the block helper answers again (203.0.113.10 blocked)');
    await h.close();
  });

  it('fail-open: nft failing in the helper is counted as failed (not unreachable) and asked again', async () => {
    const { socket, calls, fail, h } = await helper();
    const logs: string[] = [];
    const b = new AgentBlocking({ socket, log: (l) => logs.push(l) });
    fail(true);
    b.alert(alert('203.0.113.10'));
    await sent(b);
    expect(b.counters()).toMatchObject({ 'block.failed': 1, 'block.unreachable': 0, 'block.addresses': 0 });
    expect(logs[0]).toMatch(/could not add 203\.0\.113\.10 to the nftables set/);
    expect(h.counters.nft_failures).toBe(1);
    fail(false);
    b.alert(alert('203.0.113.10'));
    await sent(b);
    expect(calls()).toEqual(['add element inet egress denied4 { 203.0.113.10 timeout 3600s }']);
    expect(b.counters()).toMatchObject({ 'block.requested': 2, 'block.ok': 1, 'block.failed': 1 });
    await h.close();
  });

  it('is bounded: the oldest address is forgotten (counted), requests open at once are capped', async () => {
    const { socket, calls, h } = await helper();
    const b = new AgentBlocking({ socket, limit: 2, log: () => {} });
    for (const ip of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) b.alert(alert(ip));
    await sent(b);
    expect(b.counters()).toMatchObject({ 'block.addresses': 2, 'block.evicted': 1, 'block.requested': 3 });
    b.alert(alert('203.0.113.1')); // forgotten: asked again
    await sent(b);
    expect(
      calls()
        .map((c) => c.split(' ')[6])
        .sort(),
    ).toEqual(['203.0.113.1', '203.0.113.1', '203.0.113.2', '203.0.113.3']);
    await h.close();

    // A helper that does not answer: at most maxInFlight requests wait; the rest are counted busy.
    const answers: ((a: string) => void)[] = [];
    const stuck = new AgentBlocking({
      socket: 'unused',
      maxInFlight: 2,
      log: () => {},
      requester: {
        block: () => new Promise<string>((resolve) => answers.push(resolve)),
        unblock: async () => 'ok',
      },
    });
    for (const ip of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) stuck.alert(alert(ip));
    expect(stuck.counters()).toMatchObject({ 'block.requested': 2, 'block.busy': 1, 'block.in_flight': 2 });
    await new Promise((r) => setImmediate(r)); // the requests go out a microtask later
    expect(answers).toHaveLength(2);
    for (const a of answers) a('ok');
    await stuck.settle();
    stuck.alert(alert('203.0.113.3')); // not remembered while busy: asked now
    expect(stuck.counters()).toMatchObject({ 'block.requested': 3, 'block.in_flight': 1 });
  });

  it('asks again once the set element has timed out', async () => {
    let now = 1_000_000;
    const asked: string[] = [];
    const b = new AgentBlocking({
      socket: 'unused',
      seconds: 60,
      log: () => {},
      now: () => now,
      requester: {
        block: async (a) => {
          asked.push(a);
          return 'ok';
        },
        unblock: async () => 'ok',
      },
    });
    b.alert(alert('203.0.113.10'));
    now += 59_000;
    b.alert(alert('203.0.113.10'));
    now += 2000;
    b.alert(alert('203.0.113.10'));
    await b.settle();
    expect(asked).toEqual(['203.0.113.10', '203.0.113.10']);
    expect(b.counters()['block.addresses']).toBe(1);
  });
});

describe('block mode: an allow from the dashboard lifts the blocks it covers', () => {
  it('takes out of the set only the addresses no longer denied, at once, and forgets them', async () => {
    const { socket, calls, fail, h } = await helper();
    const logs: string[] = [];
    const b = new AgentBlocking({ socket, seconds: 600, log: (l) => logs.push(l) });
    b.alert(alert('203.0.113.10', 'high', true, ['maps.example.cn']));
    b.alert(alert('203.0.113.11', 'high', true, ['telemetry.example.cn']));
    b.alert(alert('2001:db8::53', 'high', true, ['maps.example.cn']));
    await sent(b);
    // The team allowed maps.example.cn: what the policy now lets through is released.
    const judged: string[][] = [];
    b.reconsider((d) => {
      judged.push([...d.names]);
      return !d.names.includes('maps.example.cn');
    });
    await sent(b);
    expect(judged.sort()).toEqual([['maps.example.cn'], ['maps.example.cn'], ['telemetry.example.cn']]);
    expect(calls().slice(3).sort()).toEqual([
      'delete element inet egress denied4 { 203.0.113.10 }',
      'delete element inet egress denied6 { 2001:db8::53 }',
    ]);
    expect(b.counters()).toMatchObject({ 'block.released': 2, 'block.release_failed': 0, 'block.addresses': 1 });
    expect(h.counters).toMatchObject({ added: 3, deleted: 2 });
    expect(logs).toContain('block mode: 203.0.113.10 is allowed now; asking the block helper to lift its block');
    // Released means forgotten: a later high alert for it (a deny rule added since) asks again.
    b.alert(alert('203.0.113.10', 'high', true, ['maps.example.cn']));
    await sent(b);
    expect(calls().at(-1)).toBe('add element inet egress denied4 { 203.0.113.10 timeout 600s }');

    // nft failing on the delete: counted and logged; the block then ends at its timeout.
    fail(true);
    b.reconsider(() => false);
    await sent(b);
    expect(b.counters()).toMatchObject({ 'block.released': 4, 'block.release_failed': 2, 'block.addresses': 0 });
    expect(logs.at(-1)).toMatch(/the block on \S+ could not be lifted \(failed\); it ends at its timeout$/);
    await h.close();
  });

  it('leaves alone what the policy still denies and what has already timed out', async () => {
    let now = 0;
    const lifted: string[] = [];
    const b = new AgentBlocking({
      socket: 'unused',
      seconds: 60,
      log: () => {},
      now: () => now,
      requester: {
        block: async () => 'ok',
        unblock: async (a) => {
          lifted.push(a);
          return 'ok';
        },
      },
    });
    b.alert(alert('203.0.113.1'));
    now += 30_000;
    b.alert(alert('203.0.113.2'));
    await sent(b);
    now += 40_000; // the first has timed out of the set by now
    b.reconsider(() => false);
    await sent(b);
    expect(lifted).toEqual(['203.0.113.2']);
    b.reconsider(() => true);
    expect(b.counters()['block.released']).toBe(1);
  });
});

describe('fail-closed: the agent renews the watch of its interface through the helper', () => {
  it('renews while the capture runs, not while it is blind; says so when it changes; unwatches on stop', async () => {
    const { socket, calls, fail, h } = await helper();
    let capturing = false;
    const lines: string[] = [];
    const w = new FailClosedWatch({ socket, iface: 'wlan0', watching: () => capturing, log: (l) => lines.push(l) });
    expect([w.timeoutS, w.everyMs]).toEqual([15, 5000]);
    const watchArgs =
      'add element inet egress watched { "wlan0" timeout 15s } ; delete element inet egress watched { "wlan0" } ; add element inet egress watched { "wlan0" timeout 15s }';

    await w.tick(); // the capture has not started: nothing asked
    await w.tick();
    expect(calls()).toEqual([]);
    expect(w.problem()).toBeNull(); // blind: the capture's own problem says so
    capturing = true;
    await w.tick();
    await w.tick();
    expect(calls()).toEqual([watchArgs, watchArgs]);
    capturing = false;
    await w.tick();
    capturing = true;
    fail(true); // nft fails in the helper
    await w.tick();
    await w.tick();
    // The helper did not renew: the status says the traffic is held, and why.
    expect(w.problem()).toMatchObject({ id: 'traffic_held', detail: 'failed' });
    fail(false);
    await w.tick();
    expect(w.problem()).toBeNull();
    expect(calls()).toHaveLength(3); // the two failed ones never reached the recording
    expect(w.counters()).toEqual({ 'watch.renewed': 3, 'watch.failed': 2, 'watch.blind': 3, 'watch.busy': 0 });
    expect(lines).toEqual([
      'fail-closed: waiting for the capture on wlan0; the gateway holds its traffic until then',
      'fail-closed: the agent watches wlan0; the gateway forwards its traffic',
      'fail-closed: the capture on wlan0 is not running; the gateway holds its traffic within 15 s',
      `fail-closed: the block helper on ${socket} did not renew the watch (failed); the gateway holds wlan0's traffic within 15 s (is egress-block.service running?)`,
      'fail-closed: the agent watches wlan0; the gateway forwards its traffic',
    ]);
    expect(h.counters).toMatchObject({ watched: 3, nft_failures: 2 });

    // stop() before start() does nothing; after it, one unwatch and no more ticks.
    await w.stop();
    expect(calls()).toHaveLength(3);
    w.start();
    await w.stop();
    expect(calls().slice(-2)).toEqual([watchArgs, 'delete element inet egress watched { "wlan0" }']);
    expect(lines.at(-1)).toBe("fail-closed: the agent stops; the gateway holds wlan0's traffic now");
    expect(h.counters).toMatchObject({ watched: 4, unwatched: 1 });
    await h.close();
  });

  it('a helper that is away: counted, logged once; a second tick while one is open waits for it (busy)', async () => {
    const lines: string[] = [];
    const socket = join(dir, 'nobody-here.sock');
    const w = new FailClosedWatch({ socket, iface: 'eth1', watching: () => true, log: (l) => lines.push(l) });
    const first = w.tick();
    const second = w.tick();
    await Promise.all([first, second]);
    await w.tick();
    expect(w.counters()).toEqual({ 'watch.renewed': 0, 'watch.failed': 2, 'watch.blind': 0, 'watch.busy': 1 });
    expect(lines).toEqual([
      `fail-closed: the block helper on ${socket} did not renew the watch (unreachable); the gateway holds eth1's traffic within 15 s (is egress-block.service running?)`,
    ]);
    w.start();
    await w.stop();
    expect(lines.at(-1)).toBe(
      "fail-closed: the agent stops; the gateway holds eth1's traffic within 15 s (unwatch: unreachable)",
    );
  });

  it.each([
    [{ timeoutS: 1 }, 'watch timeout must be 2-600 s, got 1'],
    [{ timeoutS: 601 }, 'watch timeout must be 2-600 s, got 601'],
    [{ timeoutS: 2.5 }, 'watch timeout must be 2-600 s, got 2.5'],
    [{ timeoutS: 10, everyMs: 5001 }, 'the watch must be renewed at least twice within its timeout (5001 ms)'],
    [{ everyMs: 0 }, 'the watch must be renewed at least twice within its timeout (0 ms)'],
  ])('refuses %j', (o, message) => {
    const make = () => new FailClosedWatch({ socket: '/s', iface: 'wlan0', watching: () => true, log: () => {}, ...o });
    expect(make).toThrow(new RangeError(message));
  });

  it('its counters go with the block counters in stats, its problem with the status', async () => {
    const b = new AgentBlocking({ socket: '/s', log: () => {} });
    expect(Object.keys(b.counters())).not.toContain('watch.renewed');
    expect(b.problem()).toBeNull();
    b.watch = new FailClosedWatch({
      socket: join(dir, 'away.sock'),
      iface: 'wlan0',
      watching: () => true,
      log: () => {},
    });
    expect(b.counters()).toMatchObject({ 'watch.renewed': 0, 'watch.failed': 0, 'watch.blind': 0, 'watch.busy': 0 });
    await b.watch.tick();
    expect(b.problem()?.text).toBe('traffic held: the block helper did not renew the watch of wlan0 (unreachable)');
  });
});

describe('block options: --block-socket / EGRESS_BLOCK_SOCKET, --block-seconds / EGRESS_BLOCK_SECONDS', () => {
  it('is off when neither names a socket (egress.env without --block leaves it empty)', () => {
    expect(blockChoice({}, {})).toBeNull();
    expect(blockChoice({}, { EGRESS_BLOCK_SOCKET: '' })).toBeNull();
  });

  it('takes the environment; a flag wins', () => {
    const env = { EGRESS_BLOCK_SOCKET: '/run/egress-block/block.sock', EGRESS_BLOCK_SECONDS: '900' };
    expect(blockChoice({}, env)).toEqual({ socket: '/run/egress-block/block.sock', seconds: 900, failClosed: false });
    expect(blockChoice({ 'block-socket': '/tmp/b.sock' }, { EGRESS_BLOCK_SOCKET: '/x' })).toEqual({
      socket: '/tmp/b.sock',
      seconds: 3600,
      failClosed: false,
    });
    expect(blockChoice({ 'block-seconds': '60' }, env)?.seconds).toBe(60);
  });

  it('fail-closed from --block-fail-closed or EGRESS_BLOCK_FAIL_CLOSED=1, only with a helper socket', () => {
    const sock = { EGRESS_BLOCK_SOCKET: '/run/egress-block/block.sock' };
    const cases: [Record<string, unknown>, NodeJS.ProcessEnv, boolean | null][] = [
      [{}, { ...sock, EGRESS_BLOCK_FAIL_CLOSED: '1' }, true],
      [{}, { ...sock, EGRESS_BLOCK_FAIL_CLOSED: '0' }, false],
      [{}, { ...sock, EGRESS_BLOCK_FAIL_CLOSED: '' }, false],
      [{ 'block-fail-closed': true }, sock, true],
      [{ 'block-fail-closed': true }, { ...sock, EGRESS_BLOCK_FAIL_CLOSED: '0' }, true],
      [{}, { EGRESS_BLOCK_FAIL_CLOSED: '0' }, null],
    ];
    for (const [values, env, want] of cases) expect(blockChoice(values, env)?.failClosed ?? null).toBe(want);
    const refused = (values: Record<string, unknown>, env: NodeJS.ProcessEnv) => {
      try {
        blockChoice(values, env);
      } catch (err) {
        return [(err as EgressError).code, (err as EgressError).message];
      }
      return null;
    };
    expect(refused({ 'block-fail-closed': true }, {})).toEqual([
      'EGRESS_USAGE',
      '--block-fail-closed needs the block helper: --block-socket PATH',
    ]);
    expect(refused({}, { EGRESS_BLOCK_FAIL_CLOSED: '1' })?.[0]).toBe('EGRESS_USAGE');
    expect(refused({}, { ...sock, EGRESS_BLOCK_FAIL_CLOSED: 'yes' })).toEqual([
      'EGRESS_USAGE',
      'EGRESS_BLOCK_FAIL_CLOSED must be 1, 0 or empty, got "yes"',
    ]);
  });

  it.each(['0', '86401', '1.5', 'ten', '-5'])('refuses --block-seconds %s with EGRESS_USAGE', (s) => {
    const e = (() => {
      try {
        blockChoice({ 'block-socket': '/tmp/b.sock', 'block-seconds': s }, {});
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(EgressError);
    expect((e as EgressError).code).toBe('EGRESS_USAGE');
    expect((e as EgressError).message).toContain(`got "${s}"`);
  });
});
