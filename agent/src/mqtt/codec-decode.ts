// MQTT payloads back from egress.v1 protobuf (agent/proto/egress/v1/egress.proto):
// a decoder per message, bad bytes as EGRESS_PAYLOAD_INVALID (docs/errors.md),
// and any egress/v1 topic's payload as the plain object `egress tail` prints
// (NDJSON's field and enum names). Unknown fields are kept, so a newer
// agent's messages decode too (the schema's versioning rules).

// Same relative path from src/mqtt and dist/mqtt: both sit two levels below agent/.
import { egress } from '../../proto/gen/egress.js';
import { EgressError, ErrorCode } from '../errors.js';
import { protoNameOf, verdictName } from './codec.js';
import { type ParsedTopic, parseTopic } from './topics.js';

const pb = egress.v1;

/** Decoders by what the topic carries. */
const MESSAGE = {
  alert: pb.Alert,
  flow: pb.Flow,
  stats: pb.Stats,
  status: pb.Status,
  session: pb.Session,
  cmd: pb.Command,
  reply: pb.CommandReply,
} as const;

type MessageKind = keyof typeof MESSAGE;

/** Decode, turning protobuf's exceptions into EGRESS_PAYLOAD_INVALID. Unknown fields are kept ($unknowns). */
function decode<K extends MessageKind>(kind: K, buf: Uint8Array): ReturnType<(typeof MESSAGE)[K]['decode']> {
  try {
    return MESSAGE[kind].decode(buf) as ReturnType<(typeof MESSAGE)[K]['decode']>;
  } catch (err) {
    throw new EgressError(
      ErrorCode.PAYLOAD_INVALID,
      `not an egress.v1 ${kind} payload (${buf.length} bytes): ${(err as Error).message}`,
      { kind, length: buf.length },
    );
  }
}

export const decodeAlert = (buf: Uint8Array): egress.v1.Alert => decode('alert', buf);
export const decodeFlow = (buf: Uint8Array): egress.v1.Flow => decode('flow', buf);
export const decodeStats = (buf: Uint8Array): egress.v1.Stats => decode('stats', buf);
export const decodeStatus = (buf: Uint8Array): egress.v1.Status => decode('status', buf);
export const decodeSession = (buf: Uint8Array): egress.v1.Session => decode('session', buf);
export const decodeCommand = (buf: Uint8Array): egress.v1.Command => decode('cmd', buf);
export const decodeCommandReply = (buf: Uint8Array): egress.v1.CommandReply => decode('reply', buf);

/** Enum fields shown as NDJSON shows them: "high", "ICMPv6", "online", "open". */
function readable(key: string, value: unknown): unknown {
  if (typeof value !== 'number') return value;
  if (key === 'severity' || key === 'verdict') return verdictName(value) ?? value;
  if (key === 'proto') return protoNameOf(value) ?? value;
  if (key === 'kind') return value === pb.AlertKind.LOOKUP ? 'lookup' : 'connection';
  return value;
}

/**
 * A payload received on `topic` as a plain JSON-ready object for `egress
 * tail`: NDJSON's field names, 64-bit integers as numbers, enums as NDJSON
 * names them, proto3 defaults filled in, unset `optional` fields left out.
 * Null when the topic is not an egress/v1 topic.
 */
export function decodeForTopic(topic: string, payload: Uint8Array): { topic: ParsedTopic; message: object } | null {
  const parsed = parseTopic(topic);
  if (parsed === null) return null;
  const type = MESSAGE[parsed.kind];
  const msg = decode(parsed.kind, payload);
  const plain = (type.toObject as (m: unknown, o: object) => Record<string, unknown>)(msg, {
    longs: Number,
    enums: Number,
    defaults: true,
  });
  for (const key of Object.keys(plain)) plain[key] = readable(key, plain[key]);
  if (typeof plain.state === 'number') {
    const names = parsed.kind === 'status' ? pb.Status.State : pb.Session.State;
    plain.state = (names as unknown as Record<number, string>)[plain.state]?.toLowerCase() ?? plain.state;
  }
  return { topic: parsed, message: plain };
}
