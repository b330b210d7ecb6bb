// What the running agent really listens on, read from the kernel's socket
// table (`ss`) for the agent's process, not from its options: the embedded
// broker's TCP port and the HTTP server (dashboard, MQTT over WebSocket),
// both on 127.0.0.1 and nothing else.

import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnEgress } from '../support/cli.js';
import { freePort } from '../support/mosquitto.js';

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

/** Listening TCP sockets of one process, as `address:port`. */
function listening(pid: number): string[] {
  return execFileSync('ss', ['-Hltnp'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(`pid=${pid},`))
    .map((l) => l.trim().split(/\s+/)[3])
    .sort();
}

describe('listeners of `egress run`', () => {
  it('binds the broker and the HTTP server to 127.0.0.1 on the ports asked for, nothing more', async () => {
    const [mqttPort, httpPort] = [await freePort(), await freePort()];
    const data = mkdtempSync(join(tmpdir(), 'egress-listen-'));
    const child = spawnEgress(['run', '-i', 'lo', '--mqtt-port', String(mqttPort), '--http', `127.0.0.1:${httpPort}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, EGRESS_DATA_DIR: data },
    });
    children.push(child);
    let err = '';
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const end = Date.now() + 20_000;
    while (!/capturing on lo/.test(err) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect(err).toMatch(/capturing on lo/);
    const pid = child.pid as number;
    expect(listening(pid)).toEqual([`127.0.0.1:${httpPort}`, `127.0.0.1:${mqttPort}`].sort());
    const code = new Promise((r) => child.once('exit', (c) => r(c)));
    child.kill('SIGTERM');
    expect(await code).toBe(0);
  }, 60_000);
});
