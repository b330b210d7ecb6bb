// Every exit status and every error code in docs/errors.md, reached end to
// end through the built `egress` as an operator would meet it: the exit
// status, and one line on stderr naming the code. Codes that are not exit
// statuses are reached too: the live capture's (logged while `egress run`
// keeps retrying, then a clean stop on SIGTERM), EGRESS_PAYLOAD_INVALID
// (`egress tail` prints it and goes on). EGRESS_COMMAND_REJECTED is a reply
// on MQTT, reached in test/mqtt/commands.test.ts.

import type { ChildProcess } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { egress as proto } from '../../agent/proto/gen/egress.js';
import { ErrorCode } from '../../agent/src/errors.js';
import { egress, ROOT, spawnEgress } from '../support/cli.js';
import { CASES, closeExitFixtures, codesIn, dir, makeExitFixtures, run } from '../support/exit-cases.js';
import { Mosquitto } from '../support/mosquitto.js';

beforeAll(makeExitFixtures);
afterAll(closeExitFixtures);

describe('exit status and error code of the built egress', () => {
  it.each(CASES)('$what: exit $exit, $code', (c) => {
    const r = egress(c.args(), { cwd: dir });
    expect(r.code, r.stderr).toBe(c.exit);
    expect(codesIn(r.stderr)).toEqual(c.code === null ? [] : [c.code]);
    if (c.args().length === 0) expect([r.stdout, r.stderr]).toEqual(['', expect.stringContaining('Usage: egress')]);
  });

  it('reaches every exit status of docs/errors.md', () => {
    const doc = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
    const documented = new Set([...doc.matchAll(/\| (\d) \|$/gm)].map((m) => Number(m[1])));
    documented.add(0);
    expect(new Set(CASES.map((c) => c.exit))).toEqual(documented);
  });
});

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once('exit', (c) => r(c)));
}

/** `egress run` on lo with the given tcpdump; the stderr once `code` shows, and the exit status after SIGTERM. */
async function runUntil(tcpdump: string, code: string, data: string): Promise<{ stderr: string; exit: number | null }> {
  const child: ChildProcess = spawnEgress(['run', '-i', 'lo', '--tcpdump', tcpdump, ...run, '--data-dir', data], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const end = Date.now() + 15_000;
  while (!stderr.includes(code) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  const exited = exitOf(child);
  child.kill('SIGTERM');
  const exit = await exited;
  return { stderr, exit };
}

describe('live capture codes: logged while `egress run` keeps retrying', () => {
  let runs = 0;
  const wrapper = join(dir, 'tcpdump-unprivileged');
  beforeAll(() => {
    // The real tcpdump, as user nobody with no capabilities: its own refusal message.
    writeFileSync(
      wrapper,
      '#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all tcpdump "$@"\n',
    );
    chmodSync(wrapper, 0o755);
  });

  it.each([
    { tcpdump: join(dir, 'no-such-tcpdump'), code: ErrorCode.CAPTURE_TOOL_MISSING },
    { tcpdump: wrapper, code: ErrorCode.CAPTURE_PERMISSION },
    { tcpdump: '/bin/true', code: ErrorCode.CAPTURE_EXITED },
  ])(
    '$code',
    async ({ tcpdump, code }) => {
      const r = await runUntil(tcpdump, code, join(dir, `live-${++runs}`));
      expect(r.stderr).toMatch(new RegExp(`egress: ${code}: `, 'm'));
      expect(r.stderr).toContain('stopping: finishing open flows');
      expect(r.exit).toBe(0);
    },
    30_000,
  );

  it(`${ErrorCode.CAPTURE_NO_INTERFACE}`, async () => {
    const child = spawnEgress(['run', '-i', 'nosuch0', ...run, '--data-dir', join(dir, 'ni')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const end = Date.now() + 15_000;
    while (!stderr.includes(ErrorCode.CAPTURE_NO_INTERFACE) && Date.now() < end)
      await new Promise((r) => setTimeout(r, 100));
    const exited = exitOf(child);
    child.kill('SIGTERM');
    expect(stderr).toMatch(/egress: EGRESS_CAPTURE_NO_INTERFACE: tcpdump: nosuch0: No such device exists/);
    expect(await exited).toBe(0);
  }, 30_000);
});

describe(`${ErrorCode.PAYLOAD_INVALID}: egress tail prints it and goes on`, () => {
  it('skips a payload of another schema and prints the next alert', async () => {
    const broker = new Mosquitto();
    await broker.start();
    try {
      const child = spawnEgress(['tail', '--broker', broker.url, '--gateway', 'gw-bad', '--count', '1', '--json'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, EGRESS_DATA_DIR: join(dir, 'tail') },
      });
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (b: Buffer) => {
        stdout += b.toString();
      });
      child.stderr?.on('data', (b: Buffer) => {
        stderr += b.toString();
      });
      const exited = exitOf(child);
      const pub = await connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
      // tail subscribes after it connects: publish until it has seen one (retained would be another test).
      const alert = Buffer.from(proto.v1.Alert.encode({ id: 'gw-bad/r1/1/high', gateway: 'gw-bad' }).finish());
      const end = Date.now() + 15_000;
      while (!stderr.includes(ErrorCode.PAYLOAD_INVALID) && Date.now() < end) {
        await pub.publishAsync('egress/v1/gw-bad/alert', Buffer.from('garbage!'), { qos: 1 });
        await new Promise((r) => setTimeout(r, 200));
      }
      await pub.publishAsync('egress/v1/gw-bad/alert', alert, { qos: 1 });
      expect(await exited).toBe(0);
      await pub.endAsync();
      expect(stderr).toMatch(/egress tail: EGRESS_PAYLOAD_INVALID: .*\(topic egress\/v1\/gw-bad\/alert\)/);
      expect(JSON.parse(stdout.trim().split('\n').at(-1) as string)).toMatchObject({ id: 'gw-bad/r1/1/high' });
    } finally {
      await broker.stop();
    }
  }, 40_000);
});
