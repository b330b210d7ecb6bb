// The block helper: listens on a Unix socket (group-writable for the agent's
// group), checks each line (protocol.ts) and runs `nft add element` (or
// `nft delete element` for a destination the operator allowed since; for
// fail-closed, the watched interface's element in the `watched` set) for it,
// one at a time. Runs as root with CAP_NET_ADMIN only (egress-block.service).
// Fail-open: if it is not running, nothing is added and traffic flows.

import { execFile } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { createInterface } from 'node:readline';
import {
  type BlockCommand,
  MAX_LINE,
  nftAddArgs,
  nftDelArgs,
  nftUnwatchArgs,
  nftWatchArgs,
  parseBlockCommand,
} from './protocol.js';

function nftArgs(cmd: BlockCommand): string[] {
  switch (cmd.op) {
    case 'add':
      return nftAddArgs(cmd);
    case 'del':
      return nftDelArgs(cmd);
    case 'watch':
      return nftWatchArgs(cmd);
    case 'unwatch':
      return nftUnwatchArgs(cmd.iface);
  }
}

const DONE = { add: 'added', del: 'deleted', watch: 'watched', unwatch: 'unwatched' } as const;

export interface BlockHelperOptions {
  socket: string;
  /** nft command (tests: the real nft inside a namespace through a wrapper). */
  nft?: string;
  log?: (line: string) => void;
}

export class BlockHelper {
  readonly counters = { added: 0, deleted: 0, watched: 0, unwatched: 0, refused: 0, nft_failures: 0 };
  private server: Server | null = null;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly o: BlockHelperOptions) {}

  listen(): Promise<void> {
    rmSync(this.o.socket, { force: true });
    const server = createServer((conn) => {
      const lines = createInterface({ input: conn, crlfDelay: Number.POSITIVE_INFINITY });
      conn.on('data', (c: Buffer) => {
        if (c.length > MAX_LINE * 64) conn.destroy();
      });
      conn.on('error', () => {});
      lines.on('line', (line) => {
        const cmd = line.length <= MAX_LINE ? parseBlockCommand(line) : null;
        if (cmd === null) {
          this.counters.refused++;
          conn.write('refused\n');
          return;
        }
        this.queue = this.queue.then(
          () =>
            new Promise<void>((resolve) => {
              execFile(this.o.nft ?? 'nft', nftArgs(cmd), { timeout: 5000 }, (err, _out, stderr) => {
                if (err) {
                  this.counters.nft_failures++;
                  const what = 'address' in cmd ? cmd.address : cmd.iface;
                  this.o.log?.(`nft ${cmd.op} ${what} failed: ${String(stderr).trim() || err.message}`);
                  if (!conn.destroyed) conn.write('failed\n');
                } else {
                  this.counters[DONE[cmd.op]]++;
                  if (!conn.destroyed) conn.write('ok\n');
                }
                resolve();
              });
            }),
        );
      });
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.socket, () => {
        chmodSync(this.o.socket, 0o660);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    await this.queue;
  }
}
