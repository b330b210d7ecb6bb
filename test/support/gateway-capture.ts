// A gateway-shaped capture for tests (scripts/bench-lib/gateway.mjs: many
// clients, DNS, TLS, QUIC, HTTP and LAN chatter, deterministic), with the
// policy written beside it. Made once per size in each test process.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy } from '../../agent/src/policy/load.js';
import type { Policy } from '../../agent/src/policy/policy.js';
import { ROOT } from './cli.js';

export interface GatewayCapture {
  pcap: string;
  policy: Policy;
  /** The policy's YAML, for `egress scan --policy`. */
  policyFile: string;
}

const made = new Map<string, GatewayCapture>();
let dir: string | null = null;

/** `packets` packets from `clients` clients, in a temporary directory removed when the test process exits. */
export function gatewayCapture(packets: number, clients: number): GatewayCapture {
  const key = `${packets}-${clients}`;
  const known = made.get(key);
  if (known !== undefined) return known;
  if (dir === null) {
    const made = mkdtempSync(join(tmpdir(), 'egress-gw-'));
    process.once('exit', () => rmSync(made, { recursive: true, force: true }));
    dir = made;
  }
  const pcap = join(dir, `gw-${key}.pcap`);
  const yaml = join(dir, `gw-${key}.yaml`);
  const gen = spawnSync(
    'node',
    [
      `${ROOT}scripts/bench-lib/gateway.mjs`,
      pcap,
      '--packets',
      String(packets),
      '--clients',
      String(clients),
      '--policy',
      yaml,
    ],
    { encoding: 'utf8' },
  );
  if (gen.status !== 0) throw new Error(`gateway.mjs failed: ${gen.stderr}`);
  const capture = { pcap, policy: loadPolicy({ file: yaml }), policyFile: yaml };
  made.set(key, capture);
  return capture;
}
