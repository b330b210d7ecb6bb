// `egress run` through main() in process, while it runs (test/unit/cli-live-in.test.ts
// covers its start and stop): the status it logs as the capture fares. It
// captures the loopback (a UDP port and a TCP port only this test uses); a
// packet keeps it "ready"; tcpdump killed (SIGKILL, by its pid from the log)
// is a capture gap and a capture error, logged and in the status, until
// tcpdump is back and --clean-interval seconds have passed; a minute without a
// packet (the monotonic clock moved on) is "no packet for N s"; a closed TCP
// connection ends on the wall-clock tick (the stats over MQTT count it) while
// the run goes on. A run whose broker never answers, stopped by SIGINT, says
// how many messages stay in the spool; a bad --clean-interval is a usage
// error before anything starts.

import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../agent/src/cli/main.js';
import { VIEWER_USER } from '../../agent/src/mqtt/broker.js';
import { decodeForTopic } from '../../agent/src/mqtt/codec-decode.js';
import { capturedIo, egressIn } from '../support/cli-in.js';
import { freePort } from '../support/mosquitto.js';

const tmp = mkdtempSync(join(tmpdir(), 'egress-run-in-'));
let runs = 0;
const freshDir = () => join(tmp, `d${++runs}`);
const tcpdump = execFileSync('sh', ['-c', 'command -v tcpdump'], { encoding: 'utf8' }).trim();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The log's lines as [ms since the epoch, text]. */
const logLines = (stderr: string): [number, string][] =>
  stderr
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const m = /^(\S+Z) egress: (.*)$/.exec(l);
      return m ? [Date.parse(m[1]), m[2]] : [0, l];
    });

/** main(args) started; `until` waits for a log line, `stop` sends SIGTERM and returns the exit status. */
function started(args: string[]) {
  const c = capturedIo();
  let code: number | null = null;
  const exited = main(args, c.io).then((n) => {
    code = n;
    return n;
  });
  return {
    log: () => logLines(c.stderr()),
    stderr: c.stderr,
    async until(what: (line: string) => boolean, ms = 20_000): Promise<[number, string]> {
      for (let waited = 0; waited < ms && code === null; waited += 50) {
        const hit = logLines(c.stderr()).find(([, l]) => what(l));
        if (hit) return hit;
        await sleep(50);
      }
      throw new Error(`not in the log (exit ${code}):\n${c.stderr()}`);
    },
    async stop(signal: 'SIGTERM' | 'SIGINT' = 'SIGTERM'): Promise<number> {
      process.emit(signal);
      return exited;
    },
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('egress run: the status as the capture fares', () => {
  it('ready with packets; tcpdump killed: gap, error, incomplete for --clean-interval s; a minute without a packet: stalled', async () => {
    const port = await freePort();
    const tport = await freePort();
    const dir = freshDir();
    const run = started([
      'run',
      '-i',
      'lo',
      '--tcpdump',
      tcpdump,
      '--filter',
      `(udp and dst port ${port}) or (tcp and port ${tport})`,
      '--clean-interval',
      '3',
      '--stats-interval',
      '1',
      '--mqtt-port',
      '0',
      '--no-http',
      '--quiet',
      '--gateway',
      'gw-run',
      '--data-dir',
      dir,
    ]);
    await run.until((l) => l.startsWith('capturing on lo'));
    const [, brokerLine] = await run.until((l) => l.startsWith('gateway gw-run'));
    const mqtt = await connectAsync(/broker (\S+)$/.exec(brokerLine)?.[1] ?? '', {
      protocolVersion: 4,
      reconnectPeriod: 0,
      username: VIEWER_USER,
      password: JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8')).dashboard,
    });
    const stats: Record<string, unknown>[] = [];
    mqtt.on('message', (topic, payload) => {
      const m = decodeForTopic(topic, payload);
      if (m?.topic.kind === 'stats') stats.push(m.message as Record<string, unknown>);
    });
    await mqtt.subscribeAsync('egress/v1/gw-run/stats', { qos: 1 });
    // A TCP connection on the loopback, closed at once: ended as closed on the wall-clock tick
    // 10 s later (no later packet of it comes), while the run goes on.
    const server = createServer((s) => s.end('bye')).listen(tport, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    await new Promise<void>((resolve, reject) =>
      connect(tport, '127.0.0.1')
        .on('data', () => {})
        .on('end', resolve)
        .on('error', reject),
    );
    server.close();
    const udp = createSocket('udp4');
    try {
      for (let i = 0; i < 5; i++) {
        udp.send(Buffer.from(`packet ${i}`), port, '127.0.0.1');
        await sleep(100);
      }
      const lastSent = performance.now();
      // Two stats intervals with a packet a moment ago: no status change at all.
      await sleep(2500);
      expect(run.log().filter(([, l]) => l.startsWith('status: '))).toEqual([]);

      // Killed three times in a row: tcpdump is restarted after 0.5, 1 and 2 s (backoff), long enough
      // for a stats interval to see the capture down.
      const killed = new Set<number>();
      const newTcpdump = async () => {
        const [, back] = await run.until((l) => {
          const p = /^capturing on lo .*tcpdump pid (\d+)$/.exec(l)?.[1];
          return p !== undefined && !killed.has(Number(p));
        });
        return Number(/tcpdump pid (\d+)$/.exec(back)?.[1]);
      };
      for (let kill = 1; kill <= 3; kill++) {
        const current = await newTcpdump();
        process.kill(current, 'SIGKILL');
        killed.add(current);
      }
      const exits = () =>
        run.log().filter(([, l]) => /^EGRESS_CAPTURE_EXITED: tcpdump was killed by SIGKILL after /.test(l));
      for (let i = 0; i < 100 && exits().length < 3; i++) await sleep(50);
      await run.until((l) =>
        /^status: capture: tcpdump was killed by SIGKILL after [\d.]+ s; capture incomplete: /.test(l),
      );
      const lines = run.log().map(([, l]) => l);
      expect(lines.filter((l) => /^EGRESS_CAPTURE_EXITED: tcpdump was killed by SIGKILL after /.test(l))).toHaveLength(
        3,
      );
      expect(lines.filter((l) => /^capture gap: capture restarted, blind /.test(l)).length).toBeGreaterThanOrEqual(2);
      await newTcpdump();
      const [gapAt] = run
        .log()
        .filter(([, l]) => l.startsWith('capture gap: '))
        .at(-1) ?? [0];
      const [readyAt] = await run.until((l) => l === 'status: ready', 15_000);
      // Not before the clean interval (3 s) has passed since the last gap.
      expect(readyAt - gapAt).toBeGreaterThanOrEqual(2900);

      // A minute and a bit without a packet, on the clock the capture measures it by.
      const real = performance.now.bind(performance);
      vi.spyOn(performance, 'now').mockImplementation(() => real() + 61_500);
      const [, stalled] = await run.until((l) => l.startsWith('status: capture: no packet for'), 10_000);
      const seconds = Number(/^status: capture: no packet for (\d+) s$/.exec(stalled)?.[1]);
      // 61.5 s on top of the real time since the last packet (the packets stopped; tcpdump was restarted meanwhile).
      expect(seconds).toBeGreaterThanOrEqual(61);
      expect(seconds).toBeLessThanOrEqual(Math.ceil((real() - lastSent) / 1000) + 62);
      vi.restoreAllMocks();
      // Before the stop: the TCP connection's flow (local), ended by the tick (open flows end only at the stop).
      const closed = () => (stats.at(-1)?.flow_table as { ended_closed?: number } | undefined)?.ended_closed;
      for (let i = 0; i < 200 && closed() !== 1; i++) await sleep(50);
      expect([closed(), stats.at(-1)?.flows_local]).toEqual([1, 1]);
    } finally {
      await mqtt.endAsync(true);
      udp.close();
      vi.restoreAllMocks();
      expect(await run.stop()).toBe(0);
    }
  }, 90_000);

  it('a broker that never answers (tcpdump from PATH), stopped by SIGINT: at stop the log says how many messages stay in the spool', async () => {
    const port = await freePort();
    const run = started([
      'run',
      '-i',
      'lo',
      '--filter',
      'udp and dst port 9',
      '--broker',
      `mqtt://127.0.0.1:${port}`,
      '--no-http',
      '--gateway',
      'gw-run',
      '--data-dir',
      freshDir(),
    ]);
    await run.until((l) => l.startsWith('capturing on lo'));
    expect(await run.stop('SIGINT')).toBe(0);
    // No viewer login: the external broker has its own.
    expect(run.stderr()).not.toContain('viewer login');
    expect(run.log().at(-1)?.[1]).toMatch(/^[1-9]\d* messages stay in the spool; they are sent on the next start$/);
  }, 60_000);

  it.each(['0', '1.5', 'soon'])('--clean-interval %s: EGRESS_USAGE, exit 2, before anything starts', async (v) => {
    const r = await egressIn([
      'run',
      '-i',
      'lo',
      '--clean-interval',
      v,
      '--mqtt-port',
      '0',
      '--no-http',
      '--data-dir',
      freshDir(),
    ]);
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toBe(`egress: EGRESS_USAGE: --clean-interval must be a positive integer, got "${v}"\n`);
  });
});
