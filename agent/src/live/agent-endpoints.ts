// Where the live agent is reached: the HTTP server (dashboard, evidence
// downloads, MQTT over WebSocket at /mqtt) and the broker it publishes to —
// the embedded one (aedes on the given address, the viewer's WebSocket
// handed to it) or an external one with the agent's own credentials; and
// the publisher's connection to it, whose last will says "offline".

import { randomBytes } from 'node:crypto';
import { addEvidenceRoutes } from '../http/evidence-routes.js';
import { DashboardServer } from '../http/server.js';
import { AGENT_CLIENT_PREFIX, AGENT_USER, EmbeddedBroker } from '../mqtt/broker.js';
import { encodeStatus } from '../mqtt/codec-control.js';
import { Publisher } from '../mqtt/publisher.js';
import type { Spool } from '../mqtt/spool.js';
import { topicFor } from '../mqtt/topics.js';
import type { LiveAgentOptions } from './agent-options.js';

export interface AgentEndpoints {
  http: DashboardServer | null;
  broker: EmbeddedBroker | null;
  /** The broker the publisher connects to. */
  url: string;
  auth: { username?: string; password?: string; ca?: Buffer; cert?: Buffer; key?: Buffer };
}

export async function openEndpoints(options: LiveAgentOptions): Promise<AgentEndpoints> {
  let http: DashboardServer | null = null;
  if (options.http)
    http = await DashboardServer.listen({
      ...options.http,
      token: options.secrets.dashboard,
      gateway: options.gateway,
      staticDir: options.dashboardDir,
    });
  if (http) addEvidenceRoutes(http, options.dataDir);
  if (options.broker.kind !== 'embedded') return { http, broker: null, url: options.broker.url, auth: options.broker };
  const broker = await EmbeddedBroker.start({
    host: options.broker.host,
    port: options.broker.port,
    agentToken: options.secrets.agent,
    viewerToken: options.secrets.dashboard,
    log: options.log,
    throttle: http?.throttle,
  });
  if (http) http.mqttSocket = (socket, req) => broker.acceptWebSocket(socket, req);
  return { http, broker, url: broker.url, auth: { username: AGENT_USER, password: options.secrets.agent } };
}

/** The agent's connection to the broker; `online` is the retained status it publishes on every (re)connect. */
export function openPublisher(
  options: LiveAgentOptions,
  url: string,
  auth: AgentEndpoints['auth'],
  spool: Spool,
  online: () => Buffer,
): Publisher {
  const gw = options.gateway;
  return new Publisher({
    url,
    // Reserved for the agent by the embedded broker; 128 random bits cannot be guessed on an external one.
    clientId: `${AGENT_CLIENT_PREFIX}-${gw}-${randomBytes(16).toString('base64url')}`,
    ...auth,
    statusTopic: topicFor(gw, 'status'),
    online,
    offline: encodeStatus({
      gateway: gw,
      tsUs: 0,
      state: 'offline',
      text: 'offline',
      agentVersion: options.version,
      databases: options.enricher.versions(),
      startedAtUs: 0,
      session: '',
    }),
    spool,
    flowsPerSecond: options.flowsPerSecond,
    log: options.log,
  });
}
