// The live commands' command line: help, usage errors with stable codes, and
// what replay does with captures it cannot read to the end.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { egress, ROOT } from '../support/cli.js';
import { freePort } from '../support/mosquitto.js';

const dir = mkdtempSync(join(tmpdir(), 'egress-live-cli-'));
const common = ['--no-http', '--mqtt-port', '0', '--quiet', '--linger', '2'];

describe('egress run / replay / tail command line', () => {
  it.each(['run', 'replay', 'tail'])('%s --help describes the command and exits 0', (cmd) => {
    const r = egress([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: egress ${cmd}`));
  });

  it('run without --interface is a usage error', () => {
    const r = egress(['run', '--data-dir', dir]);
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('EGRESS_USAGE')]);
  });

  it('run with an interface name tcpdump cannot take stops cleanly with EGRESS_CAPTURE_CONFIG_INVALID', () => {
    const r = egress(['run', '--interface', 'not an interface', '--data-dir', join(dir, 'r'), ...common.slice(0, 4)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('EGRESS_CAPTURE_CONFIG_INVALID');
  });

  it('replay refuses a bad --speed, --linger or --gateway', () => {
    const f = join(ROOT, 'scripts/demo-data/flight.pcap');
    for (const bad of [
      ['--speed', '0'],
      ['--speed', 'fast'],
      ['--linger', '-1'],
      ['--gateway', 'a/b'],
    ]) {
      const r = egress(['replay', f, ...bad, '--data-dir', dir, ...common]);
      expect([r.code, r.stderr], bad.join(' ')).toEqual([2, expect.stringContaining('EGRESS_USAGE')]);
    }
  });

  it('tail reports a broker it cannot reach with EGRESS_BROKER_UNAVAILABLE, exit 1', async () => {
    const port = await freePort(); // nothing listens there
    const r = egress(['tail', '--broker', `mqtt://127.0.0.1:${port}`, '--count', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('EGRESS_BROKER_UNAVAILABLE');
  });

  it('replay of a missing file is EGRESS_INPUT_UNREADABLE, exit 1', () => {
    const r = egress(['replay', join(dir, 'nope.pcap'), '--data-dir', dir, ...common]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('EGRESS_INPUT_UNREADABLE');
  });

  it('replay of a truncated capture judges every complete record, then exits 3 with the code and offset', () => {
    const f = join(ROOT, 'test/fixtures/bad/truncated-record/input.pcap');
    const r = egress(['replay', f, '--speed', 'max', '--data-dir', join(dir, 't'), ...common]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/EGRESS_PCAP_TRUNCATED at byte \d+/);
    expect(r.stdout).toMatch(/replayed [1-9]\d* packets/);
  });
});
