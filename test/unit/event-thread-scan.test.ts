// `egress scan` with its event lines made on a second thread (output/event-
// ring.ts), forced on for small files with EGRESS_SCAN_EVENT_THREAD=1: the
// built binary, as a user runs it, gives every fixture's reviewed events and
// exit status, a gateway-shaped capture the same bytes as without the thread
// (with the QUIC look-ahead in the same worker), and a reader that stops
// early ends it quietly. Without a thread to be had, the pipeline writes the
// lines itself. The records and the thread alone: event-ring.test.ts.

import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scanCommand } from '../../agent/src/cli/scan.js';
import { EGRESS_BIN } from '../support/cli.js';
import { capturedIo } from '../support/cli-in.js';
import { FIXTURES_DIR, listFixtures } from '../support/fixtures.js';
import { gatewayCapture } from '../support/gateway-capture.js';

const dir = mkdtempSync(join(tmpdir(), 'egress-thread-scan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function scanBin(args: string[], thread: '0' | '1', lookahead: '0' | '1' = thread) {
  return spawnSync('node', [EGRESS_BIN, 'scan', ...args, '--format', 'ndjson'], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, EGRESS_SCAN_EVENT_THREAD: thread, EGRESS_SCAN_LOOKAHEAD: lookahead },
  });
}

describe('egress scan with the event thread', () => {
  it.each(listFixtures())('$name: its reviewed events and exit status', (fx) => {
    const r = scanBin([fx.input], '1');
    expect(r.stdout).toBe(readFileSync(fx.expected, 'utf8'));
    const truncated = JSON.parse(r.stdout.trimEnd().split('\n').at(-1) as string).truncated as boolean;
    expect(r.status, r.stderr).toBe(truncated ? 3 : 0);
    if (!truncated) expect(r.stderr).toBe('');
  });

  it('a gateway-shaped capture with a policy: the same bytes with the thread (and the look-ahead in it) as without', () => {
    const { pcap, policyFile } = gatewayCapture(60_000, 300);
    const on = scanBin([pcap, '--policy', policyFile], '1');
    const off = scanBin([pcap, '--policy', policyFile], '0');
    expect(on.status, on.stderr).toBe(0);
    expect(off.status, off.stderr).toBe(0);
    expect(on.stdout.split('\n').length).toBeGreaterThan(10_000);
    expect(on.stdout).toBe(off.stdout);
    // The look-ahead alone (its own worker), the thread alone: the same again.
    expect(scanBin([pcap, '--policy', policyFile], '0', '1').stdout).toBe(off.stdout);
    expect(scanBin([pcap, '--policy', policyFile], '1', '0').stdout).toBe(off.stdout);
  }, 120_000);

  it('a reader that stops after the first line: the scan ends quietly, status 0', () => {
    const input = join(FIXTURES_DIR, 'names/dns-then-https/input.pcap');
    const r = spawnSync('sh', ['-c', `node "${EGRESS_BIN}" scan "${input}" --format ndjson | head -n 1`], {
      encoding: 'utf8',
      env: { ...process.env, EGRESS_SCAN_EVENT_THREAD: '1' },
    });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      `${readFileSync(join(FIXTURES_DIR, 'names/dns-then-https/expected.ndjson'), 'utf8').split('\n')[0]}\n`,
    );
  });

  it('no thread to be had (its module is not beside the sources under test): the pipeline writes every line itself', async () => {
    const fx = listFixtures().find((f) => f.name === 'names/dns-then-https');
    if (fx === undefined) throw new Error('fixture missing');
    const file = join(dir, 'fd-out.ndjson');
    const fd = openSync(file, 'w');
    const c = capturedIo();
    // An output with a descriptor, as process.stdout has: the scan asks for the thread.
    Object.assign(c.io.stdout, { fd });
    const before = process.env.EGRESS_SCAN_EVENT_THREAD;
    process.env.EGRESS_SCAN_EVENT_THREAD = '1';
    try {
      expect(await scanCommand([fx.input, '--format', 'ndjson'], c.io)).toBe(0);
    } finally {
      process.env.EGRESS_SCAN_EVENT_THREAD = before;
      closeSync(fd);
    }
    expect(readFileSync(file, 'utf8')).toBe('');
    expect(c.stdout()).toBe(readFileSync(fx.expected, 'utf8'));
  });
});
