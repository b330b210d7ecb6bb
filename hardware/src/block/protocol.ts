// Block mode's privileged path: the agent (unprivileged) sends one line per
// denied destination over a Unix socket to a small helper that holds only
// CAP_NET_ADMIN and adds it to an nftables named set with a timeout
// (nft(8), "SETS" and "ELEMENTS"). The line format is the whole interface:
//
//   add <IPv4 or IPv6 address> <seconds 1-86400>\n
//   del <IPv4 or IPv6 address>\n      (the operator allowed it since: lift the block now)
//   watch <interface> <seconds 2-600>\n  (fail-closed: the agent watches the controller's
//                                        interface; the gateway forwards its traffic for
//                                        that long unless told again)
//   unwatch <interface>\n               (the agent stops watching: hold its traffic now)
//
// Anything else is refused and counted; the helper never builds nft syntax
// from unchecked text.

import { isIPv4, isIPv6 } from 'node:net';

export const BLOCK_TABLE = 'inet egress';
export const BLOCK_SET_V4 = 'denied4';
export const BLOCK_SET_V6 = 'denied6';
/** Fail-closed: the interfaces the agent watches (install.sh --block --fail-closed drops the others' forwarding). */
export const WATCH_SET = 'watched';
export const MIN_WATCH_S = 2;
export const MAX_WATCH_S = 600;
/** A Linux interface name (IFNAMSIZ 16 with its NUL), as install.sh accepts: no quotes, spaces or slashes. */
const IFNAME = '[A-Za-z0-9_.-]{1,15}';
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

export interface WatchCommand {
  iface: string;
  timeoutS: number;
}

export type BlockCommand =
  | ({ op: 'add' } & BlockAdd)
  | ({ op: 'del' } & BlockDel)
  | ({ op: 'watch' } & WatchCommand)
  | { op: 'unwatch'; iface: string };

/** Parse one line of either kind; null when it is not a valid command. */
export function parseBlockCommand(line: string): BlockCommand | null {
  const add = parseBlockLine(line);
  if (add !== null) return { op: 'add', ...add };
  const w = new RegExp(`^watch (${IFNAME}) (\\d{1,3})$`).exec(line.trim());
  if (w) {
    const timeoutS = Number(w[2]);
    return timeoutS >= MIN_WATCH_S && timeoutS <= MAX_WATCH_S ? { op: 'watch', iface: w[1], timeoutS } : null;
  }
  const u = new RegExp(`^unwatch (${IFNAME})$`).exec(line.trim());
  if (u) return { op: 'unwatch', iface: u[1] };
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

/**
 * The nft arguments that (re)start a watched interface's timeout, in one
 * transaction: `add` alone leaves an element's timeout running, so the element
 * is added (a no-op when there), deleted and added again with a fresh one.
 */
export function nftWatchArgs(w: WatchCommand): string[] {
  const add = ['add', 'element', 'inet', 'egress', WATCH_SET, `{ "${w.iface}" timeout ${w.timeoutS}s }`];
  return [...add, ';', 'delete', 'element', 'inet', 'egress', WATCH_SET, `{ "${w.iface}" }`, ';', ...add];
}

/** The nft arguments that end a watch now (nft answers an error when it has already timed out). */
export function nftUnwatchArgs(iface: string): string[] {
  return ['delete', 'element', 'inet', 'egress', WATCH_SET, `{ "${iface}" }`];
}

export function formatWatchLine(iface: string, timeoutS: number): string {
  return `watch ${iface} ${timeoutS}\n`;
}

export function formatUnwatchLine(iface: string): string {
  return `unwatch ${iface}\n`;
}

export function formatUnblockLine(address: string): string {
  return `del ${address}\n`;
}

export function formatBlockLine(address: string, timeoutS: number): string {
  return `add ${address} ${timeoutS}\n`;
}
