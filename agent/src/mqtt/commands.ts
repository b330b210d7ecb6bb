// The gate in front of the agent's commands (cmd/<verb> → reply/<verb>,
// DESIGN.md "MQTT"): everything a command must pass before it runs, checked
// in order of cost, so a flood or an oversized message costs little.
//
//   retain flag set        ignored: a stored command replayed by the broker
//                          (MQTT 3.1.1 §3.3.1.3) would run again at every reconnect
//   over the rate          dropped without a reply (a token bucket for all commands;
//                          the embedded broker also limits each viewer connection)
//   payload too large      answered "too large", never decoded
//   malformed, wrong token, unknown verb, over-long id
//                          answered with EGRESS_COMMAND_REJECTED
//
// A reply never echoes more than MAX_REPLY_ID characters of the command id,
// nor more than MAX_REPLY_MESSAGE of its message, so what goes out is bounded
// whatever came in.

import { ErrorCode } from '../errors.js';
import { sameSecret } from './broker.js';
import { encodeCommandReply } from './codec-control.js';
import { decodeCommand } from './codec-decode.js';
import { parseTopic, replyTopic } from './topics.js';

/** Largest command payload decoded (a command carries an id, a verb, the token and a few short arguments). */
export const MAX_COMMAND_BYTES = 4096;
/** Longest command id accepted, and the most of any id a reply carries. */
export const MAX_REPLY_ID = 64;
/** Longest reply message (user-supplied arguments can end up in it). */
export const MAX_REPLY_MESSAGE = 256;
/** Commands per second the agent runs, after a burst (all senders together). */
export const AGENT_COMMANDS_PER_SECOND = 20;
export const AGENT_COMMAND_BURST = 40;

export interface CommandGateOptions {
  gateway: string;
  /** The dashboard token every command must carry. */
  token: string;
  /** Verbs the agent knows. */
  verbs: readonly string[];
  /** Publish a reply (QoS 1, not retained). */
  publish: (topic: string, payload: Buffer) => void;
  perSecond?: number;
  burst?: number;
  now?: () => number;
}

export interface CommandCounters {
  run: number;
  rejected: number;
  too_large: number;
  ignored_retained: number;
  rate_limited: number;
}

export interface AdmittedCommand {
  verb: string;
  args: Record<string, string>;
  /** Answer on reply/<verb> with the command's (bounded) id. */
  reply: (ok: boolean, message: string) => void;
}

export class CommandGate {
  readonly counters: CommandCounters = {
    run: 0,
    rejected: 0,
    too_large: 0,
    ignored_retained: 0,
    rate_limited: 0,
  };
  private tokens: number;
  private atMs: number;
  private readonly perSecond: number;
  private readonly burst: number;
  private readonly now: () => number;

  constructor(private readonly options: CommandGateOptions) {
    this.perSecond = options.perSecond ?? AGENT_COMMANDS_PER_SECOND;
    this.burst = options.burst ?? AGENT_COMMAND_BURST;
    this.now = options.now ?? Date.now;
    this.tokens = this.burst;
    this.atMs = this.now();
  }

  /** The command to run, or null when it was ignored or already answered (rejected). Never throws. */
  admit(topic: string, payload: Buffer, retain: boolean): AdmittedCommand | null {
    const parsed = parseTopic(topic);
    // Not a well-formed command topic: nowhere to reply, nothing to do.
    if (parsed === null || parsed.kind !== 'cmd') return null;
    if (retain) {
      this.counters.ignored_retained++;
      return null;
    }
    if (!this.takeToken()) {
      this.counters.rate_limited++;
      return null;
    }
    const verb = parsed.verb;
    const answer = (id: string, ok: boolean, message: string) =>
      this.options.publish(
        replyTopic(this.options.gateway, verb),
        encodeCommandReply({
          id: bounded(id, MAX_REPLY_ID),
          ok,
          code: ok ? '' : ErrorCode.COMMAND_REJECTED,
          message: bounded(message, MAX_REPLY_MESSAGE),
        }),
      );
    const reject = (id: string, message: string) => {
      this.counters.rejected++;
      answer(id, false, message);
      return null;
    };
    if (payload.length > MAX_COMMAND_BYTES) {
      this.counters.too_large++;
      return reject('', `command too large: ${payload.length} bytes (at most ${MAX_COMMAND_BYTES})`);
    }
    let cmd: ReturnType<typeof decodeCommand>;
    try {
      cmd = decodeCommand(payload);
    } catch (err) {
      return reject('', `malformed command: ${(err as Error).message}`);
    }
    if (!sameSecret(cmd.token, this.options.token)) return reject(cmd.id, 'wrong token');
    if (cmd.id.length > MAX_REPLY_ID) return reject(cmd.id, `command id longer than ${MAX_REPLY_ID} characters`);
    const verbs = this.options.verbs;
    if (cmd.verb !== verb || !verbs.includes(verb))
      return reject(cmd.id, `unknown command "${verb}" (known: ${verbs.join(', ')})`);
    this.counters.run++;
    return { verb, args: cmd.args, reply: (ok, message) => answer(cmd.id, ok, message) };
  }

  private takeToken(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.atMs) * this.perSecond) / 1000);
    this.atMs = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}

/** At most `max` characters, marked with "…" when cut. */
function bounded(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
