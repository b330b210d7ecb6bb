// The embedded MQTT broker (aedes, MQTT 3.1.1): plain TCP on 127.0.0.1 for
// the agent and local tools, and MQTT over WebSocket for the dashboard (the
// agent's HTTP server, agent/src/http, upgrades /mqtt for a logged-in browser
// and hands the socket over with acceptWebSocket). Who may do what is decided here, like a
// mosquitto ACL: the agent publishes its own topic tree; a viewer (the
// dashboard, `egress tail`) reads everything and may publish only commands.
//
// Limits (issue 12): every packet's size is checked on its fixed header
// before it is read (packet-guard.ts): CONNECT and anything before login a
// few KiB, a viewer's packets 8 KiB, the agent's the spool's largest record;
// at most MAX_UNAUTHENTICATED connections may be waiting to log in, for
// CONNECT_TIMEOUT_MS at most; failed logins are throttled per address
// (login-throttle.ts). Nothing may be retained on cmd/ and a viewer may not
// retain anything; the agent's client id prefix is the agent's alone; a
// viewer's commands are rate-limited per connection (the excess is dropped,
// counted); a forbidden subscription gets a SUBACK failure (0x80, MQTT 3.1.1
// §3.9.3) instead of a dropped connection.

import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type AddressInfo, createServer, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { createWebSocketStream, type WebSocket } from 'ws';
import { EgressError, ErrorCode } from '../errors.js';
import { LoginThrottle, type LoginThrottleOptions } from '../http/login-throttle.js';
import { PacketGuard } from './packet-guard.js';
import { MAX_BODY } from './spool-format.js';
import { parseTopic } from './topics.js';

/** MQTT username of the agent's own connection. */
export const AGENT_USER = 'egress-agent';
/** MQTT username of dashboards and `egress tail`. */
export const VIEWER_USER = 'egress-viewer';
/** Client ids starting with this belong to the agent's own connection; nobody else may take them over. */
export const AGENT_CLIENT_PREFIX = 'egress-agent';

/** Largest packet before login: a CONNECT with a client id, user name, token and a small will. */
export const MAX_CONNECT_BYTES = 4096;
/** Largest packet of a viewer: a command (id, token, a few arguments) or a subscription. */
export const MAX_VIEWER_PACKET = 8192;
/** Largest packet of the agent: the spool's largest record and its topic. */
export const MAX_AGENT_PACKET = MAX_BODY + 64 * 1024;
/** Connections that have not logged in yet, at most; more are closed at once. */
export const MAX_UNAUTHENTICATED = 32;
/** Time a connection has to send CONNECT (aedes' default is 30 s). */
export const CONNECT_TIMEOUT_MS = 5000;
/** Commands per second a viewer's connection may publish, after a burst of COMMAND_BURST. */
export const COMMANDS_PER_SECOND = 5;
export const COMMAND_BURST = 20;

export interface EmbeddedBrokerOptions {
  /** Default 127.0.0.1: the broker is for this host; the dashboard reaches it over the HTTP server. */
  host?: string;
  /** TCP port; 0 picks a free one (see `port` after start). */
  port: number;
  /** Password of AGENT_USER. */
  agentToken: string;
  /** Password of VIEWER_USER. */
  viewerToken: string;
  /** Failed-login throttling per address (shared with the HTTP login when given). */
  throttle?: LoginThrottle | LoginThrottleOptions;
  /** Commands per second per viewer connection (default COMMANDS_PER_SECOND), burst COMMAND_BURST. */
  commandsPerSecond?: number;
  /** One line of operator log (refused logins, take-over attempts, oversize packets). */
  log?: (line: string) => void;
}

type Role = 'agent' | 'viewer';

export interface BrokerCounters {
  refused_unauthenticated_cap: number;
  refused_too_large: number;
  refused_client_id: number;
  refused_retain: number;
  refused_publish: number;
  refused_subscribe: number;
  rate_limited_commands: number;
}

interface ClientState {
  role: Role;
  tokens: number;
  atMs: number;
}

export class EmbeddedBroker {
  private constructor(
    private readonly aedes: Aedes,
    private readonly tcp: Server,
    readonly host: string,
    readonly port: number,
    private readonly guard: (raw: Duplex, address: string | undefined) => PacketGuard | null,
    private readonly brokerCounters: BrokerCounters,
    readonly throttle: LoginThrottle,
  ) {}

  /** URL for a local MQTT client. */
  get url(): string {
    return `mqtt://${this.host}:${this.port}`;
  }

  static async start(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
    const states = new WeakMap<object, ClientState>();
    const counters: BrokerCounters = {
      refused_unauthenticated_cap: 0,
      refused_too_large: 0,
      refused_client_id: 0,
      refused_retain: 0,
      refused_publish: 0,
      refused_subscribe: 0,
      rate_limited_commands: 0,
    };
    const log = options.log ?? (() => {});
    const throttle =
      options.throttle instanceof LoginThrottle ? options.throttle : new LoginThrottle(options.throttle ?? {});
    const perSecond = options.commandsPerSecond ?? COMMANDS_PER_SECOND;
    /** Connections not logged in yet. */
    const waiting = new Set<PacketGuard>();
    /** Payloads of commands over a connection's rate: accepted (MQTT 3.1.1 has no negative PUBACK) but never forwarded. */
    const dropped = new WeakSet<Buffer>();
    const addressOf = (client: Client) => (client.conn as unknown as PacketGuard).remoteAddress ?? 'unknown';
    const refuse = (done: (e: AuthenticateError | null, ok: boolean) => void, code: number, why: string) => {
      const err = new Error(why) as AuthenticateError;
      err.returnCode = code;
      // Stryker disable next-line BooleanLiteral: equivalent, aedes refuses whenever an error is given
      done(err, false);
    };

    const aedes = await Aedes.createBroker({
      connectTimeout: CONNECT_TIMEOUT_MS,
      authenticate(client, username, password, done) {
        const address = addressOf(client);
        if (!throttle.allow(address)) {
          log(
            `login from ${address} refused unchecked: too many failed logins (retry in ${throttle.retryAfter(address)} s)`,
          );
          refuse(done, 4, 'too many failed logins');
          return;
        }
        const role = roleFor(username, password, options);
        if (role === null) {
          throttle.failed(address);
          refuse(done, 4, 'bad username or password');
          return;
        }
        if (role !== 'agent' && client.id.startsWith(AGENT_CLIENT_PREFIX)) {
          // A viewer with the agent's id would take its session over (MQTT 3.1.1 §3.1.4-2) and cut it off.
          counters.refused_client_id++;
          log(`${username} from ${address} tried the agent's client id ${client.id.slice(0, 80)}: refused`);
          refuse(done, 2, 'client identifier reserved for the agent');
          return;
        }
        states.set(client, { role, tokens: COMMAND_BURST, atMs: Date.now() });
        waiting.delete(client.conn as unknown as PacketGuard);
        done(null, true);
      },
      authorizePublish(client, packet, done) {
        // client null: the broker's own messages (will messages are checked on connect).
        const state = client === null ? null : states.get(client);
        const role = client === null ? 'agent' : state?.role;
        const command = isCommandTopic(packet.topic);
        if (packet.retain && (command || role !== 'agent')) {
          // A retained command would run again at every reconnect of the agent.
          counters.refused_retain++;
          done(new Error(`retained publish to ${packet.topic} not allowed`));
          return;
        }
        if (role === 'agent') done(null);
        else if (role === 'viewer' && command && state) {
          if (!takeCommandToken(state, perSecond)) {
            counters.rate_limited_commands++;
            dropped.add(packet.payload as Buffer);
          }
          done(null);
        } else {
          counters.refused_publish++;
          done(new Error(`not allowed to publish to ${packet.topic}`));
        }
      },
      authorizeForward(_client, packet) {
        return dropped.has(packet.payload as Buffer) ? null : packet;
      },
      authorizeSubscribe(client, sub, done) {
        // Viewers read the whole topic tree (alerts, flows, stats, status, command replies).
        const role = states.get(client)?.role;
        if (role === 'agent' || (role === 'viewer' && sub.topic.startsWith('egress/'))) done(null, sub);
        else {
          // A SUBACK failure code (0x80), not a dropped connection: the client can say why.
          counters.refused_subscribe++;
          done(null, null);
        }
      },
    });

    const guard = (raw: Duplex, address: string | undefined): PacketGuard | null => {
      if (waiting.size >= MAX_UNAUTHENTICATED) {
        counters.refused_unauthenticated_cap++;
        raw.destroy();
        return null;
      }
      const g: PacketGuard = new PacketGuard(raw, {
        address,
        limit: () => {
          const role = states.get((g as unknown as { client?: object }).client ?? g)?.role;
          return role === 'agent' ? MAX_AGENT_PACKET : role === 'viewer' ? MAX_VIEWER_PACKET : MAX_CONNECT_BYTES;
        },
        onRefused: (announced) => {
          counters.refused_too_large++;
          log(
            `connection from ${g.remoteAddress ?? 'unknown'} closed: a packet of ${announced} bytes is over its limit`,
          );
        },
      });
      waiting.add(g);
      g.on('close', () => waiting.delete(g));
      return g;
    };
    const host = options.host ?? '127.0.0.1';
    const tcp = createServer((socket) => {
      const g = guard(socket, socket.remoteAddress);
      if (g) aedes.handle(g);
    });
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
    return new EmbeddedBroker(aedes, tcp, host, port, guard, counters, throttle);
  }

  /** An MQTT-over-WebSocket connection the HTTP server accepted; the client still logs in as usual. */
  acceptWebSocket(socket: WebSocket, req: IncomingMessage): void {
    const stream = createWebSocketStream(socket);
    stream.on('error', () => socket.terminate());
    stream.on('close', () => socket.terminate());
    const g = this.guard(stream, req.socket.remoteAddress);
    if (g) this.aedes.handle(g, req);
  }

  /** Refusals and limits, named "<counter>" (the agent publishes them as broker.<counter>). */
  get counters(): Record<string, number> {
    return { ...this.brokerCounters, ...this.throttle.counters };
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

function takeCommandToken(state: ClientState, perSecond: number): boolean {
  const now = Date.now();
  state.tokens = Math.min(COMMAND_BURST, state.tokens + ((now - state.atMs) * perSecond) / 1000);
  state.atMs = now;
  if (state.tokens < 1) return false;
  state.tokens--;
  return true;
}

/** Constant-time comparison of a presented secret with the expected one. */
export function sameSecret(presented: Buffer | string, expected: string): boolean {
  const a = Buffer.isBuffer(presented) ? presented : Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
