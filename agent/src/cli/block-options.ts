// `egress run|replay --block-socket PATH`: block mode, the agent's side
// (agent/src/live/blocking.ts), and the environment equivalents that
// /etc/egress/egress.env sets for the service (hardware/install.sh --block):
//
//   --block-socket PATH   EGRESS_BLOCK_SOCKET   the block helper's Unix socket; unset or empty: block mode off
//   --block-seconds S     EGRESS_BLOCK_SECONDS  how long a destination stays in the nftables set (default 3600)
//   --block-fail-closed   EGRESS_BLOCK_FAIL_CLOSED=1  `egress run` only: the gateway forwards the
//                         controller's traffic only while the agent watches it (live/fail-closed.ts)
//
// The flag wins over the environment.

import { existsSync } from 'node:fs';
import { MAX_TIMEOUT_S } from '@egress/hardware';
import { EgressError, ErrorCode } from '../errors.js';
import type { LiveAgent } from '../live/agent.js';
import { AgentBlocking, DEFAULT_BLOCK_SECONDS } from '../live/blocking.js';
import { DEFAULT_WATCH_TIMEOUT_S, FailClosedWatch } from '../live/fail-closed.js';
import type { Options } from './args.js';

export const BLOCK_OPTIONS: Options = {
  'block-socket': { type: 'string' },
  'block-seconds': { type: 'string' },
  'block-fail-closed': { type: 'boolean' },
};

export const BLOCK_OPTIONS_HELP = `  --block-socket PATH     block mode: ask the block helper on this Unix socket (egress-block.service,
                          /run/egress-block/block.sock) to add the destination of every high alert
                          to the gateway's nftables set of denied destinations, once per address
                          (default: EGRESS_BLOCK_SOCKET; unset: off). Fail-open: a helper that is
                          away is logged and counted, traffic flows. The first packets of the first
                          connection pass before the block lands
  --block-seconds S       how long a destination stays blocked, 1-${MAX_TIMEOUT_S} (default: EGRESS_BLOCK_SECONDS or ${DEFAULT_BLOCK_SECONDS})
  --block-fail-closed     egress run: the gateway forwards the controller's traffic only while this
                          agent captures it (install.sh --block --fail-closed; default:
                          EGRESS_BLOCK_FAIL_CLOSED=1). Agent stopped, capture down or helper away:
                          the traffic is held within ${DEFAULT_WATCH_TIMEOUT_S} s`;

export interface BlockChoice {
  socket: string;
  seconds: number;
  /** Fail-closed (egress run): renew the gateway's watch of the captured interface. */
  failClosed: boolean;
}

/** Block mode from flags and environment; null when off. A bad --block-seconds is EGRESS_USAGE. */
export function blockChoice(values: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): BlockChoice | null {
  const pick = (flag: string, name: string) => (values[flag] as string | undefined) ?? env[name] ?? '';
  const socket = pick('block-socket', 'EGRESS_BLOCK_SOCKET');
  const closedEnv = env.EGRESS_BLOCK_FAIL_CLOSED ?? '';
  if (closedEnv !== '' && closedEnv !== '0' && closedEnv !== '1')
    throw new EgressError(ErrorCode.USAGE, `EGRESS_BLOCK_FAIL_CLOSED must be 1, 0 or empty, got "${closedEnv}"`);
  const failClosed = values['block-fail-closed'] === true || closedEnv === '1';
  if (socket === '') {
    if (failClosed)
      throw new EgressError(ErrorCode.USAGE, '--block-fail-closed needs the block helper: --block-socket PATH');
    return null;
  }
  const text = pick('block-seconds', 'EGRESS_BLOCK_SECONDS');
  const seconds = text === '' ? DEFAULT_BLOCK_SECONDS : Number(text);
  if (!/^\d+$/.test(text || '0') || !Number.isInteger(seconds) || seconds < 1 || seconds > MAX_TIMEOUT_S)
    throw new EgressError(ErrorCode.USAGE, `--block-seconds must be a whole number 1-${MAX_TIMEOUT_S}, got "${text}"`);
  return { socket, seconds, failClosed };
}

/** Hook block mode to the agent; the helper is not needed yet (fail-open), only said when its socket is missing. */
export function attachBlocking(
  agent: LiveAgent,
  choice: BlockChoice | null,
  log: (line: string) => void,
): AgentBlocking | null {
  if (choice === null) return null;
  const blocking = new AgentBlocking({ socket: choice.socket, seconds: choice.seconds, log });
  agent.blocking = blocking;
  log(
    `block mode: the destinations of high alerts go to the block helper on ${choice.socket} ` +
      `(blocked ${choice.seconds} s; fail-open)` +
      (existsSync(choice.socket) ? '' : `; ${choice.socket} is not there yet (is egress-block.service running?)`),
  );
  return blocking;
}

/**
 * Fail-closed for `egress run`: renew the watch of the captured interface while
 * its capture runs (started here; the caller stops it before the capture).
 * Null when fail-closed is off.
 */
export function attachFailClosed(
  blocking: AgentBlocking | null,
  choice: BlockChoice | null,
  iface: string,
  watching: () => boolean,
  log: (line: string) => void,
): FailClosedWatch | null {
  if (blocking === null || choice === null || !choice.failClosed) return null;
  const watch = new FailClosedWatch({ socket: choice.socket, iface, watching, log });
  blocking.watch = watch;
  log(
    `fail-closed: the gateway forwards ${iface}'s traffic only while this agent captures it ` +
      `(renewed every ${watch.everyMs / 1000} s, held within ${watch.timeoutS} s otherwise)`,
  );
  watch.start();
  return watch;
}
