// Client of a running agent's simulated GPIO socket (sim-socket.ts): press
// the button, read the outputs. For tests and the demo.

import { connect } from 'node:net';
import type { OutputChange } from './sim.js';

export interface SimOutputs {
  green: boolean;
  amber: boolean;
  red: boolean;
  buzzer: boolean;
  changes: number;
  button_edges: number;
}

export class SimGpioClient {
  constructor(
    readonly path: string,
    private readonly timeoutMs = 2000,
  ) {}

  /** One request line, its one answer line. */
  request(line: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(this.path);
      let buf = '';
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no answer to "${line}" on ${this.path} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      socket.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.on('data', (c: Buffer) => {
        buf += c.toString('utf8');
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        clearTimeout(timer);
        socket.destroy();
        resolve(buf.slice(0, nl));
      });
      socket.write(`${line}\n`);
    });
  }

  async press(): Promise<void> {
    await this.expectOk('press');
  }

  async release(): Promise<void> {
    await this.expectOk('release');
  }

  /** Press, hold `holdMs`, release: below the long-press time a short press, above it a long one. */
  async click(holdMs: number): Promise<void> {
    await this.press();
    await new Promise((r) => setTimeout(r, holdMs));
    await this.release();
  }

  async state(): Promise<SimOutputs> {
    return JSON.parse(await this.request('state')) as SimOutputs;
  }

  async history(sinceMs = 0): Promise<OutputChange[]> {
    return JSON.parse(await this.request(`history ${sinceMs}`)) as OutputChange[];
  }

  private async expectOk(line: string): Promise<void> {
    const a = await this.request(line);
    if (a !== 'ok') throw new Error(`${line}: ${a}`);
  }
}
