// The block helper: listens on a Unix socket (group-writable for the agent's
// group), checks each line (protocol.ts) and runs `nft add element` (or
// `nft delete element` for a destination the operator allowed since) for it,
// one at a time. Runs as root with CAP_NET_ADMIN only (egress-block.service).
// Fail-open: if it is not running, nothing is added and traffic flows.

import { execFile } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { createInterface } from 'node:readline';
import { MAX_LINE, nftAddArgs, nftDelArgs, parseBlockCommand } from './protocol.js';

export interface BlockHelperOptions {
  socket: string;
  /** nft command (tests: the real nft inside a namespace through a wrapper). */
  nft?: string;
  log?: (line: string) => void;
}

export class BlockHelper {
  readonly counters = { added: 0, deleted: 0, refused: 0, nft_failures: 0 };
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
              const args = cmd.op === 'add' ? nftAddArgs(cmd) : nftDelArgs(cmd);
              execFile(this.o.nft ?? 'nft', args, { timeout: 5000 }, (err, _out, stderr) => {
                if (err) {
                  this.counters.nft_failures++;
                  this.o.log?.(`nft ${cmd.op} ${cmd.address} failed: ${String(stderr).trim() || err.message}`);
                  if (!conn.destroyed) conn.write('failed\n');
                } else {
                  this.counters[cmd.op === 'add' ? 'added' : 'deleted']++;
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
