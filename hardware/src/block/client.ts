// The agent's side of block mode: send a denied destination to the block
// helper. Fail-open: a helper that is down or refuses is counted and logged,
// never an exception in the agent; traffic then flows as without block mode.

import { connect } from 'node:net';
import {
  formatBlockLine,
  formatUnblockLine,
  formatUnwatchLine,
  formatWatchLine,
  parseBlockCommand,
} from './protocol.js';

export class BlockClient {
  readonly counters = { sent: 0, ok: 0, refused: 0, failed: 0, unreachable: 0 };

  constructor(
    private readonly socket: string,
    private readonly timeoutS = 3600,
  ) {}

  /** Ask for `address` to be blocked; resolves to the helper's answer ('ok', 'refused', 'failed', 'unreachable'). */
  block(address: string): Promise<string> {
    return this.send(formatBlockLine(address, this.timeoutS));
  }

  /** Ask for `address` to be taken out of the set again (the operator allowed it); the same answers. */
  unblock(address: string): Promise<string> {
    return this.send(formatUnblockLine(address));
  }

  /** Fail-closed: the agent watches `iface`; the gateway forwards its traffic for `timeoutS` more seconds. */
  watch(iface: string, timeoutS: number): Promise<string> {
    return this.send(formatWatchLine(iface, timeoutS));
  }

  /** Fail-closed: the agent stops watching `iface`; the gateway holds its traffic now. */
  unwatch(iface: string): Promise<string> {
    return this.send(formatUnwatchLine(iface));
  }

  private send(line: string): Promise<string> {
    if (parseBlockCommand(line) === null) {
      this.counters.refused++;
      return Promise.resolve('refused');
    }
    this.counters.sent++;
    return new Promise((resolve) => {
      const conn = connect(this.socket);
      let answer = '';
      const done = (a: string) => {
        conn.destroy();
        const key = a === 'ok' || a === 'refused' || a === 'failed' ? a : 'unreachable';
        this.counters[key]++;
        resolve(key);
      };
      conn.setTimeout(5000, () => done('unreachable'));
      conn.on('error', () => done('unreachable'));
      conn.on('data', (c: Buffer) => {
        answer += c.toString();
        if (answer.includes('\n')) done(answer.trim());
      });
      conn.write(line);
    });
  }
}
