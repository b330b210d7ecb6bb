// The MQTT store-and-forward spool after a real crash: a child process
// appending alerts is killed (SIGKILL) mid-stream; reopened, the spool gives
// every alert it had appended, in order, exactly once. Apart from the
// in-process tests of spool.test.ts: the child runs the built agent/dist, so
// mutation testing (issue 19) leaves this file out of its runs.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Spool } from '../../agent/src/mqtt/spool.js';
import { ROOT } from '../support/cli.js';
import { tempDirs } from '../support/spool.js';

const tempDir = tempDirs('egress-spool-');

describe('spool crash (SIGKILL mid-stream)', () => {
  it('keeps every alert the killed process had appended, in order, exactly once', async () => {
    const dir = tempDir();
    const spoolJs = join(ROOT, 'agent/dist/mqtt/spool.js');
    const child = `
      import { Spool } from ${JSON.stringify(spoolJs)};
      const s = Spool.open(${JSON.stringify(dir)});
      for (let i = 1; ; i++) {
        const seq = s.append('alert', 'egress/v1/gw/alert', Buffer.from('alert-' + i + '-' + 'x'.repeat(i % 300)));
        if (seq !== i) throw new Error('seq ' + seq + ' for alert ' + i);
        if (i % 500 === 0) process.stdout.write(i + '\\n');
      }`;
    const proc = spawn(process.execPath, ['--input-type=module', '-e', child], { stdio: ['ignore', 'pipe', 'pipe'] });
    let reported = 0;
    let stderr = '';
    proc.stderr.on('data', (d) => {
      stderr += d;
    });
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      proc.stdout.on('data', (d) => {
        buf += d;
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) reported = Number(l);
        if (reported >= 20_000 && !proc.killed) proc.kill('SIGKILL');
      });
      proc.on('exit', (code, signal) =>
        signal === 'SIGKILL' ? resolve() : reject(new Error(`exit ${code}: ${stderr}`)),
      );
    });
    expect(reported).toBeGreaterThanOrEqual(20_000);

    const s = Spool.open(dir);
    expect(s.counters.torn).toBeLessThanOrEqual(1);
    expect(s.counters.corrupt).toBe(0);
    expect(s.pending).toBeGreaterThanOrEqual(reported);
    let expected = 1;
    for (let batch = s.peek(1000); batch.length > 0; batch = s.peek(1000)) {
      for (const r of batch) {
        expect(r.seq).toBe(expected);
        expect(r.payload.toString()).toBe(`alert-${expected}-${'x'.repeat(expected % 300)}`);
        expected++;
        s.ack(r.seq);
      }
    }
    expect(expected - 1).toBe(s.counters.recovered);
    expect(expected - 1).toBeGreaterThanOrEqual(reported);
    s.close();
  });
});
