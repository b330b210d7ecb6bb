// The embedded MQTT broker (aedes, MQTT 3.1.1): plain TCP on 127.0.0.1 for
// the agent and local tools, and MQTT over WebSocket for the dashboard (the
// agent's HTTP server, agent/src/http, upgrades /mqtt for a logged-in browser
// and hands the socket over with acceptWebSocket). Who may do what is decided here, like a
// mosquitto ACL: the agent publishes its own topic tree; a viewer (the
// dashboard, `egress tail`) reads everything and may publish only commands.

import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { Aedes, type AuthenticateError } from 'aedes';
import { createWebSocketStream, type WebSocket } from 'ws';
import { EgressError, ErrorCode } from '../errors.js';
import { parseTopic } from './topics.js';

/** MQTT username of the agent's own connection. */
export const AGENT_USER = 'egress-agent';
/** MQTT username of dashboards and `egress tail`. */
export const VIEWER_USER = 'egress-viewer';

export interface EmbeddedBrokerOptions {
  /** Default 127.0.0.1: the broker is for this host; the dashboard reaches it over the HTTP server. */
  host?: string;
  /** TCP port; 0 picks a free one (see `port` after start). */
  port: number;
  /** Password of AGENT_USER. */
  agentToken: string;
  /** Password of VIEWER_USER. */
  viewerToken: string;
}

type Role = 'agent' | 'viewer';

export class EmbeddedBroker {
  private constructor(
    private readonly aedes: Aedes,
    private readonly tcp: Server,
    readonly host: string,
    readonly port: number,
  ) {}

  /** URL for a local MQTT client. */
  get url(): string {
    return `mqtt://${this.host}:${this.port}`;
  }

  static async start(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
    const roles = new WeakMap<object, Role>();
    const aedes = await Aedes.createBroker({
      authenticate(client, username, password, done) {
        const role = roleFor(username, password, options);
        if (role === null) {
          const err = new Error('bad username or password') as AuthenticateError;
          err.returnCode = 4;
          // Stryker disable next-line BooleanLiteral: equivalent, aedes refuses whenever an error is given
          done(err, false);
          return;
        }
        roles.set(client, role);
        done(null, true);
      },
      authorizePublish(client, packet, done) {
        // client null: the broker's own messages (will messages are checked on connect).
        const role = client === null ? 'agent' : roles.get(client);
        if (role === 'agent' || (role === 'viewer' && isCommandTopic(packet.topic))) done(null);
        else done(new Error(`not allowed to publish to ${packet.topic}`));
      },
      authorizeSubscribe(client, sub, done) {
        // Viewers read the whole topic tree (alerts, flows, stats, status, command replies).
        const role = roles.get(client);
        if (role === 'agent' || (role === 'viewer' && sub.topic.startsWith('egress/'))) done(null, sub);
        else done(new Error(`not allowed to subscribe to ${sub.topic}`));
      },
    });
    const host = options.host ?? '127.0.0.1';
    const tcp = createServer(aedes.handle);
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(options.port, host, () => resolve());
      });
    } catch (e) {
      // aedes keeps timers running: close it, or the process lives on after reporting the error.
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      const err = e as NodeJS.ErrnoException;
      throw new EgressError(
        ErrorCode.BROKER_UNAVAILABLE,
        `cannot listen on ${host}:${options.port} for the embedded broker: ${err.code ?? err.message}`,
      );
    }
    const port = (tcp.address() as AddressInfo).port;
    return new EmbeddedBroker(aedes, tcp, host, port);
  }

  /** An MQTT-over-WebSocket connection the HTTP server accepted; the client still logs in as usual. */
  acceptWebSocket(socket: WebSocket, req: IncomingMessage): void {
    const stream = createWebSocketStream(socket);
    stream.on('error', () => socket.terminate());
    this.aedes.handle(stream, req);
  }

  /** The address the TCP listener is bound to, read from its socket. */
  get boundAddress(): AddressInfo {
    return this.tcp.address() as AddressInfo;
  }

  /** Clients connected right now. */
  get clients(): number {
    return this.aedes.connectedClients;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    await new Promise<void>((resolve) => this.tcp.close(() => resolve()));
  }
}

/** `egress/v1/<gateway>/cmd/<verb>`: the only topics a viewer may publish to. */
export function isCommandTopic(topic: string): boolean {
  return parseTopic(topic)?.kind === 'cmd';
}

function roleFor(
  username: string | undefined,
  password: Buffer | undefined,
  options: EmbeddedBrokerOptions,
): Role | null {
  if (password === undefined) return null;
  if (username === AGENT_USER && sameSecret(password, options.agentToken)) return 'agent';
  if (username === VIEWER_USER && sameSecret(password, options.viewerToken)) return 'viewer';
  return null;
}

/** Constant-time comparison of a presented secret with the expected one. */
export function sameSecret(presented: Buffer | string, expected: string): boolean {
  const a = Buffer.isBuffer(presented) ? presented : Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
