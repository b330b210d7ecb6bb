// QUIC Initials opened ahead of the pipeline by a worker thread
// (names/quic-ahead.ts), the worker itself: scans with and without it on the
// real-client QUIC fixtures and on a generated gateway-shaped capture (more
// Initials than the ring has slots, so it wraps and the worker waits for the
// pipeline), and its start, stop and failures. The output is the same whether
// the worker keeps up, lags or cannot read its file; what it opened is counted.
// The ring and the opener alone: quic-ahead-ring.test.ts, quic-ahead-opener.test.ts.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Ctl, QuicAhead, SLOTS } from '../../agent/src/names/quic-ahead.js';
import type { Policy } from '../../agent/src/policy/policy.js';
import { EGRESS_BIN, ROOT } from '../support/cli.js';
import { FIXTURES_DIR } from '../support/fixtures.js';
import { gatewayCapture } from '../support/gateway-capture.js';
import { scan, WORKER, workerAhead } from '../support/quic-ahead.js';

async function withWorker(file: string, policy?: Policy, workerFile = file) {
  let settled = 0;
  const ahead = QuicAhead.start(workerFile, () => settled++, WORKER);
  try {
    await ahead.ready();
    if (workerFile === file) await workerAhead(ahead);
    return { ...(await scan(file, policy, ahead)), counters: { ...ahead.counters } };
  } finally {
    await ahead.stop();
    // Called when the worker came up (if it did) and when it ended.
    expect(settled).toBeGreaterThanOrEqual(1);
  }
}

describe('a scan with the worker gives what a scan without it gives', () => {
  const fixtures = ['names/quic-chromium', 'names/quic-ngtcp2', 'names/quic-silent'];

  it.each(fixtures)('%s (a real client): every first Initial opened ahead, the same events', async (name) => {
    const input = join(FIXTURES_DIR, name, 'input.pcap');
    const plain = await scan(input, undefined);
    const ahead = await withWorker(input);
    expect(ahead.lines).toEqual(plain.lines);
    expect(plain.quicEvents).toBeGreaterThan(0);
    expect(ahead.counters).toEqual({ taken: plain.quicEvents, missed: 0 });
  });

  const dir = mkdtempSync(join(tmpdir(), 'egress-ahead-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('on a gateway-shaped capture with more Initials than slots: the same events', async () => {
    const { pcap, policy } = gatewayCapture(60_000, 300);
    const plain = await scan(pcap, policy);
    const ahead = await withWorker(pcap, policy);
    expect(ahead.lines).toEqual(plain.lines);
    expect(plain.quicEvents).toBeGreaterThan(SLOTS);
    // Each QUIC flow's first Initial was asked for once: opened ahead, or (the worker behind) here.
    expect(ahead.counters.taken + ahead.counters.missed).toBe(plain.quicEvents);
    expect(ahead.counters.taken).toBeGreaterThan(0);
  });

  it('when the worker cannot read its file: the same events, every Initial opened here', async () => {
    const input = join(FIXTURES_DIR, 'names/quic-chromium', 'input.pcap');
    const plain = await scan(input, undefined);
    const ahead = await withWorker(input, undefined, join(dir, 'no-such.pcap'));
    expect(ahead.lines).toEqual(plain.lines);
    expect(ahead.counters).toEqual({ taken: 0, missed: plain.quicEvents });
  });

  it('egress scan with and without it (EGRESS_SCAN_LOOKAHEAD=1 / 0): the same output', () => {
    const input = join(FIXTURES_DIR, 'names/quic-ngtcp2', 'input.pcap');
    const run = (v: string) =>
      spawnSync('node', [EGRESS_BIN, 'scan', input, '--format', 'ndjson'], {
        encoding: 'utf8',
        env: { ...process.env, EGRESS_SCAN_LOOKAHEAD: v },
      });
    const on = run('1');
    const off = run('0');
    expect(on.status, on.stderr).toBe(0);
    expect(off.status, off.stderr).toBe(0);
    expect(on.stdout).toContain('"event_type":"quic"');
    expect(on.stdout).toBe(off.stdout);
  });
});

describe('starting the worker', () => {
  /** Until `done()` holds (the worker's events come on this thread's event loop), at most 10 s. */
  async function until(done: () => boolean): Promise<void> {
    for (let i = 0; i < 2000 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
  }

  it('settles once it runs and once it has ended, and records why it failed', async () => {
    let settled = 0;
    const ahead = QuicAhead.start('/nonexistent/capture.pcap', () => settled++, WORKER);
    await ahead.ready();
    expect(settled).toBe(1);
    await until(() => settled === 2);
    expect(settled).toBe(2);
    expect((ahead.error as NodeJS.ErrnoException | null)?.code).toBe('ENOENT');
    await ahead.stop();
  });

  it('stop() ends a worker that waits for free slots', async () => {
    const { pcap } = gatewayCapture(60_000, 300);
    let settled = 0;
    const ahead = QuicAhead.start(pcap, () => settled++, WORKER, 60_000);
    await ahead.ready();
    await workerAhead(ahead); // every slot full: it waits (a minute at a time)
    await ahead.stop();
    expect(Atomics.load(ahead.ring.ctl, Ctl.STOP)).toBe(1);
    await until(() => settled === 2);
    expect(settled).toBe(2);
  });

  it('ready() resolves for a worker that never runs', async () => {
    const ahead = QuicAhead.start('/tmp/x.pcap', () => {}, pathToFileURL(join(ROOT, 'no-such-worker.js')));
    await ahead.ready();
    await until(() => ahead.error !== null);
    expect(ahead.error).not.toBeNull();
    await ahead.stop();
  });

  it('wakes a waiting worker: it fills the ring again and again (its own waits last a minute)', async () => {
    const { pcap, policy } = gatewayCapture(60_000, 300);
    const ahead = QuicAhead.start(pcap, () => {}, WORKER, 60_000);
    await ahead.ready();
    await workerAhead(ahead);
    const r = await scan(pcap, policy, ahead);
    await ahead.stop();
    expect(r.quicEvents).toBeGreaterThan(2 * SLOTS);
    // More than one ringful: the pipeline woke the worker once half was free (a worker never woken
    // would have slept a minute after its first ringful). Not all of them: on a loaded machine the
    // worker may fall behind for a while, and the pipeline then opens those Initials itself.
    expect(ahead.counters.taken).toBeGreaterThan(SLOTS);
  });
});
