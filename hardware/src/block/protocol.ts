// Block mode's privileged path: the agent (unprivileged) sends one line per
// denied destination over a Unix socket to a small helper that holds only
// CAP_NET_ADMIN and adds it to an nftables named set with a timeout
// (nft(8), "SETS" and "ELEMENTS"). The line format is the whole interface:
//
//   add <IPv4 or IPv6 address> <seconds 1-86400>\n
//   del <IPv4 or IPv6 address>\n      (the operator allowed it since: lift the block now)
//
// Anything else is refused and counted; the helper never builds nft syntax
// from unchecked text.

import { isIPv4, isIPv6 } from 'node:net';

export const BLOCK_TABLE = 'inet egress';
export const BLOCK_SET_V4 = 'denied4';
export const BLOCK_SET_V6 = 'denied6';
export const MAX_TIMEOUT_S = 86_400;
/** Longest line the helper reads; longer input closes the connection. */
export const MAX_LINE = 128;

export interface BlockAdd {
  family: 4 | 6;
  address: string;
  timeoutS: number;
}

export interface BlockDel {
  family: 4 | 6;
  address: string;
}

export type BlockCommand = ({ op: 'add' } & BlockAdd) | ({ op: 'del' } & BlockDel);

/** Parse one line of either kind; null when it is not a valid command. */
export function parseBlockCommand(line: string): BlockCommand | null {
  const add = parseBlockLine(line);
  if (add !== null) return { op: 'add', ...add };
  const m = /^del ([0-9A-Fa-f.:]{2,45})$/.exec(line.trim());
  if (!m) return null;
  if (isIPv4(m[1])) return { op: 'del', family: 4, address: m[1] };
  if (isIPv6(m[1])) return { op: 'del', family: 6, address: m[1] };
  return null;
}

/** Parse one `add` line; null when it is not a valid one. */
export function parseBlockLine(line: string): BlockAdd | null {
  const m = /^add ([0-9A-Fa-f.:]{2,45}) (\d{1,5})$/.exec(line.trim());
  if (!m) return null;
  const timeoutS = Number(m[2]);
  if (timeoutS < 1 || timeoutS > MAX_TIMEOUT_S) return null;
  if (isIPv4(m[1])) return { family: 4, address: m[1], timeoutS };
  if (isIPv6(m[1])) return { family: 6, address: m[1], timeoutS };
  return null;
}

/** The nft arguments that add one checked element (no shell, one argv word per token). */
export function nftAddArgs(a: BlockAdd): string[] {
  const set = a.family === 4 ? BLOCK_SET_V4 : BLOCK_SET_V6;
  return ['add', 'element', 'inet', 'egress', set, `{ ${a.address} timeout ${a.timeoutS}s }`];
}

/** The nft arguments that remove one checked element (nft answers an error when it is not in the set). */
export function nftDelArgs(d: BlockDel): string[] {
  const set = d.family === 4 ? BLOCK_SET_V4 : BLOCK_SET_V6;
  return ['delete', 'element', 'inet', 'egress', set, `{ ${d.address} }`];
}

export function formatUnblockLine(address: string): string {
  return `del ${address}\n`;
}

export function formatBlockLine(address: string, timeoutS: number): string {
  return `add ${address} ${timeoutS}\n`;
}
