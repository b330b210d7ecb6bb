// MQTT topic names of schema egress.v1 (DESIGN.md, "MQTT"; topic syntax:
// MQTT 3.1.1 §4.7). The gateway id is one topic level, so many gateways can
// share one broker and a dashboard subscribes to egress/v1/+/alert.

import { EgressError, ErrorCode } from '../errors.js';

export const TOPIC_PREFIX = 'egress/v1';

/** What the agent publishes, one topic each under egress/v1/<gateway>/. */
export type TopicKind = 'status' | 'alert' | 'flow' | 'stats' | 'session';
export const TOPIC_KINDS: readonly TopicKind[] = ['status', 'alert', 'flow', 'stats', 'session'];

/**
 * A gateway id is one topic level: no `/`, and no `+` or `#` (wildcards in
 * subscriptions). Host names fit; anything else is refused rather than
 * escaped, so the id on the topic is the id the operator typed.
 */
const GATEWAY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Command verbs: start_flight, end_flight, export, ... */
const VERB = /^[a-z][a-z0-9_]{0,31}$/;

/** The gateway id, checked; EGRESS_USAGE when it cannot be a topic level. */
export function checkGatewayId(id: string): string {
  if (!GATEWAY_ID.test(id)) {
    throw new EgressError(
      ErrorCode.USAGE,
      `gateway id "${id}" must be 1-64 letters, digits, '.', '_' or '-' (it becomes an MQTT topic level)`,
    );
  }
  return id;
}

function checkVerb(verb: string): string {
  if (!VERB.test(verb)) {
    throw new EgressError(
      ErrorCode.USAGE,
      `command verb "${verb}" must be 1-32 of a-z, 0-9, '_', starting with a letter`,
    );
  }
  return verb;
}

/** egress/v1/<gateway>/<kind>: status (retained), alert, flow, stats, session. */
export function topicFor(gateway: string, kind: TopicKind): string {
  return `${TOPIC_PREFIX}/${checkGatewayId(gateway)}/${kind}`;
}

/** egress/v1/<gateway>/cmd/<verb>: commands from the dashboard (the only topics it may publish to). */
export function commandTopic(gateway: string, verb: string): string {
  return `${TOPIC_PREFIX}/${checkGatewayId(gateway)}/cmd/${checkVerb(verb)}`;
}

/** egress/v1/<gateway>/reply/<verb>: the agent's CommandReply to a command. */
export function replyTopic(gateway: string, verb: string): string {
  return `${TOPIC_PREFIX}/${checkGatewayId(gateway)}/reply/${checkVerb(verb)}`;
}

/** Subscription filter for the agent: every command for this gateway. */
export function commandFilter(gateway: string): string {
  return `${TOPIC_PREFIX}/${checkGatewayId(gateway)}/cmd/+`;
}

/** Subscription filter for a reader of everything (`egress tail`): one gateway or, by default, all. */
export function allFilter(gateway = '+'): string {
  return `${TOPIC_PREFIX}/${gateway === '+' ? '+' : checkGatewayId(gateway)}/#`;
}

export type ParsedTopic =
  | { gateway: string; kind: TopicKind; verb: null }
  | { gateway: string; kind: 'cmd' | 'reply'; verb: string };

/** What a received topic is; null when it is not an egress/v1 topic this schema knows. */
export function parseTopic(topic: string): ParsedTopic | null {
  const parts = topic.split('/');
  // Fewer than 4 levels: no kind below matches (parts.length is neither 4 nor 5).
  if (`${parts[0]}/${parts[1]}` !== TOPIC_PREFIX || !GATEWAY_ID.test(parts[2] ?? '')) return null;
  const gateway = parts[2];
  const kind = parts[3];
  if (parts.length === 4) {
    return (TOPIC_KINDS as readonly string[]).includes(kind) ? { gateway, kind: kind as TopicKind, verb: null } : null;
  }
  if (parts.length === 5 && (kind === 'cmd' || kind === 'reply') && VERB.test(parts[4])) {
    return { gateway, kind, verb: parts[4] };
  }
  return null;
}
