// What each dashboard command does once the gate (mqtt/commands.ts) has let
// it through: cmd/<verb> → the agent → the reply's text. A verb that cannot be
// done now throws an EgressError, whose message becomes a failed reply.

import { operatorArgs } from '../evidence/session-message.js';
import type { LiveAgent } from './agent.js';

/** Verbs a dashboard may send on cmd/<verb>. */
export const COMMAND_VERBS = ['start_flight', 'end_flight', 'allow', 'status', 'ping', 'acknowledge'] as const;

export function runVerb(agent: LiveAgent, verb: string, args: Record<string, string>): string {
  switch (verb) {
    case 'start_flight':
      return `flight ${agent.startFlight(args.name ?? '', operatorArgs(args)).id} started`;
    case 'end_flight':
      return `flight ${agent.endFlight().id} ended`;
    case 'allow': {
      const r = agent.overlay.add(args.destination ?? '');
      agent.publishStatus();
      // Block mode: what the new allow rule lets through is taken out of the nftables set now.
      if (r.added) agent.policyChanged();
      return r.added ? `${r.rule} added to the allow overlay` : `${r.rule} is already in the allow overlay`;
    }
    case 'acknowledge':
      return agent.signals?.acknowledge() ?? 'nothing to acknowledge: this gateway has no lights (egress run --gpio)';
    case 'status':
      agent.publishStatus();
      agent.publishStats();
      return 'status published';
    default:
      return 'pong';
  }
}
