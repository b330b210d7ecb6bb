// The simulated GPIO seen from another process: a Unix socket on which a test
// (or a person running the demo) presses the button and reads the outputs of
// a running agent started with `--gpio sim`. One request per line, one answer
// per line:
//
//   press | release          a raw button edge (no debouncing here)  → ok
//   state                    {"green":true,"amber":false,"red":false,"buzzer":false,"changes":3,...}
//   history SINCE_MS         [{"atMs":…,"output":"buzzer","on":true},…] changes at or after SINCE_MS (at most 1000)
//
// Anything else is answered `error <why>`. The socket is made mode 0600 (only
// the agent's user, or root, may press the button).

import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { SimulatedGpio } from './sim.js';

/** Longest request line taken; a longer one closes the connection. */
const MAX_LINE = 256;
const HISTORY_REPLY_LIMIT = 1000;

export class SimGpioSocket {
  private readonly sockets = new Set<Socket>();
  readonly counters = { connections: 0, requests: 0, errors: 0 };

  private constructor(
    private readonly server: Server,
    readonly path: string,
  ) {}

  /** Listen on `path` (a stale socket file there is replaced). */
  static listen(gpio: SimulatedGpio, path: string): Promise<SimGpioSocket> {
    rmSync(path, { force: true });
    let self: SimGpioSocket | null = null;
    const server = createServer((socket) => self?.accept(gpio, socket));
    self = new SimGpioSocket(server, path);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        chmodSync(path, 0o600);
        resolve(self as SimGpioSocket);
      });
    });
  }

  private accept(gpio: SimulatedGpio, socket: Socket): void {
    this.counters.connections++;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buf = '';
    socket.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        socket.write(`${this.answer(gpio, line)}\n`);
        nl = buf.indexOf('\n');
      }
      if (buf.length > MAX_LINE) socket.destroy();
    });
  }

  private answer(gpio: SimulatedGpio, line: string): string {
    this.counters.requests++;
    const [verb, arg] = line.split(/\s+/, 2);
    switch (verb) {
      case 'press':
      case 'release':
        gpio.press(verb === 'press');
        return 'ok';
      case 'state':
        return JSON.stringify({
          green: gpio.level('green'),
          amber: gpio.level('amber'),
          red: gpio.level('red'),
          buzzer: gpio.level('buzzer'),
          ...gpio.counters(),
        });
      case 'history': {
        const since = Number(arg ?? 0);
        if (!Number.isFinite(since)) break;
        return JSON.stringify(
          gpio
            .history()
            .filter((c) => c.atMs >= since)
            .slice(-HISTORY_REPLY_LIMIT),
        );
      }
    }
    this.counters.errors++;
    return `error unknown request "${line.slice(0, 40)}" (press, release, state, history SINCE_MS)`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.path, { force: true });
  }
}
