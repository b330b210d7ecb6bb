// `egress replay --block-socket PATH`: the demo flight replayed through the
// live agent feeds a real block helper process (hardware/dist/block/bin.js)
// over its Unix socket; the helper's nft is a script that records its
// arguments (the real nft on a real ruleset is test/live/gateway-e2e.test.ts).
// Each high alert's destination is asked for once; without the helper the
// replay still ends normally (fail-open), saying so once.

import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { egress, ROOT } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'egress-block-cli-'));
const FLIGHT = join(ROOT, 'scripts/demo-data/flight.pcap');
const POLICY = join(ROOT, 'scripts/demo-data/policy.yaml');
const common = ['--speed', 'max', '--no-http', '--mqtt-port', '0', '--linger', '1', '--policy', POLICY];
let helper: ChildProcess | null = null;

afterAll(() => {
  helper?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

describe('egress replay --block-socket', () => {
  it('sends each high alert destination to the block helper once', async () => {
    const calls = join(dir, 'calls');
    const nft = join(dir, 'nft');
    writeFileSync(calls, '');
    writeFileSync(nft, `#!/bin/sh\necho "$*" >> '${calls}'\n`);
    chmodSync(nft, 0o755);
    const socket = join(dir, 'block.sock');
    const h = spawn(process.execPath, [join(ROOT, 'hardware/dist/block/bin.js'), '--socket', socket, '--nft', nft], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    helper = h;
    await new Promise<void>((resolve, reject) => {
      h.stderr?.on('data', (c: Buffer) => c.toString().includes('listening on') && resolve());
      h.once('exit', (code) => reject(new Error(`the block helper exited ${code}`)));
    });

    const r = egress(['replay', FLIGHT, ...common, '--data-dir', join(dir, 'a'), '--block-socket', socket]);
    expect(r.code, r.stderr).toBe(0);
    const alerts = r.stdout.split('\n').filter((l) => / ALERT HIGH /.test(l));
    expect(alerts.length).toBeGreaterThan(0);
    // "… ALERT HIGH SRC:PORT -> DEST:PORT PROTO …": the destination without its port.
    const highDests = new Set(alerts.map((l) => /-> (\S+) /.exec(l)?.[1].replace(/:\d+$/, '')));
    const asked = readFileSync(calls, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((c) => /\{ (\S+) timeout 3600s \}$/.exec(c)?.[1]);
    expect(asked.length).toBe(new Set(asked).size); // once per address
    expect(new Set(asked)).toEqual(highDests);
    expect(r.stderr).toContain(`block mode: the destinations of high alerts go to the block helper on ${socket}`);
    expect(r.stderr).not.toContain('not reachable');
  }, 60_000);

  it('fail-open: without the helper the replay ends normally and says so once', () => {
    const socket = join(dir, 'nobody.sock');
    const r = egress(['replay', FLIGHT, ...common, '--data-dir', join(dir, 'b'), '--block-socket', socket]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`${socket} is not there yet`);
    expect(r.stderr.match(/is not reachable/g)).toHaveLength(1);
  }, 60_000);

  it('a bad --block-seconds is a usage error', () => {
    const r = egress([
      'replay',
      FLIGHT,
      ...common,
      '--data-dir',
      join(dir, 'c'),
      '--block-socket',
      'x',
      '--block-seconds',
      '0',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('EGRESS_USAGE');
  });
});
