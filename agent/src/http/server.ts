// The agent's HTTP server (RFC 9110): the dashboard's files, its login, a
// small route table for the agent's API, and the MQTT-over-WebSocket
// endpoint (RFC 6455) at /mqtt, upgraded only for a logged-in browser.
//
//   /?token=T or POST /login   valid token ─► session cookie, 303 to /
//   no valid cookie            401 login page on every path (the upgrade too)
//   GET /api/config            gateway id and viewer token for the page's MQTT login
//   route table                server.route('GET', /^\/api\/…$/, handler)
//   anything else              the built dashboard (dashboard/dist), else 404
//
// Its own limits: request head 8 KiB read within 10 s, whole request within
// 30 s, idle keep-alive 5 s, 64 connections, login bodies 2 KiB, WebSocket
// frames 64 KiB (the dashboard only sends small commands). Wrong tokens are
// throttled per client address (login-throttle.ts, shared with the broker's
// MQTT logins): once an address has used up its failures, it gets 429 until
// it may try again.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { EgressError, ErrorCode } from '../errors.js';
import { hasSession, sameOrigin, sessionCookie, tokenMatches } from './auth.js';
import { setSecurityHeaders } from './headers.js';
import { LOGIN_STYLE_HASH, loginPage } from './login.js';
import { LoginThrottle } from './login-throttle.js';
import { DEFAULT_DASHBOARD_DIR, loadStaticFiles, type StaticFile } from './static.js';

export const MQTT_PATH = '/mqtt';
const MAX_HEADER_BYTES = 8192;
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
const KEEP_ALIVE_MS = 5_000;
const MAX_CONNECTIONS = 64;
const MAX_LOGIN_BODY = 2048;
export const WS_MAX_PAYLOAD = 64 * 1024;

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, match: RegExpExecArray) => void;

export interface DashboardServerOptions {
  host: string;
  port: number;
  /** The viewer token: the login, and the MQTT password the page uses. */
  token: string;
  gateway: string;
  /** Built dashboard; default dashboard/dist of this repository. */
  staticDir?: string;
}

export class DashboardServer {
  /** A logged-in browser's MQTT connection (set by whoever runs the broker); null: /mqtt answers 404. */
  mqttSocket: ((socket: WebSocket, req: IncomingMessage) => void) | null = null;
  private readonly routes: { method: string; pattern: RegExp; handler: RouteHandler }[] = [];
  private readonly files: Map<string, StaticFile>;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD });
  /** Failed logins per client address; the embedded broker shares it. */
  readonly throttle = new LoginThrottle();

  private constructor(
    readonly server: Server,
    private readonly options: DashboardServerOptions,
  ) {
    this.files = loadStaticFiles(options.staticDir ?? DEFAULT_DASHBOARD_DIR);
    server.on('request', (req, res) => this.request(req, res));
    server.on('upgrade', (req, socket, head) => this.upgrade(req, socket as Socket, head));
    this.route('GET', /^\/api\/config$/, (_req, res) =>
      json(res, 200, { gateway: options.gateway, token: options.token, mqtt: this.mqttSocket ? MQTT_PATH : null }),
    );
  }

  static listen(options: DashboardServerOptions): Promise<DashboardServer> {
    const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES });
    server.headersTimeout = HEADERS_TIMEOUT_MS;
    server.requestTimeout = REQUEST_TIMEOUT_MS;
    server.keepAliveTimeout = KEEP_ALIVE_MS;
    server.maxConnections = MAX_CONNECTIONS;
    const dashboard = new DashboardServer(server, options);
    return new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new EgressError(
            ErrorCode.USAGE,
            `cannot listen on ${options.host}:${options.port} for HTTP: ${err.code ?? err.message}`,
          ),
        ),
      );
      server.listen(options.port, options.host, () => resolve(dashboard));
    });
  }

  /** Add an API route for logged-in browsers, e.g. route('GET', /^\/api\/sessions\/([^/]+)\/export$/, h). */
  route(method: string, pattern: RegExp, handler: RouteHandler): void {
    this.routes.push({ method, pattern, handler });
  }

  get address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /** Whether the built dashboard was found (else the page says how to build it). */
  get built(): boolean {
    return this.files.has('/index.html');
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private request(req: IncomingMessage, res: ServerResponse): void {
    setSecurityHeaders(res);
    // Stryker disable next-line StringLiteral: Node always sets req.url on a server request
    const url = new URL(req.url ?? '/', 'http://agent');
    const token = this.options.token;
    const presented = url.searchParams.get('token');
    // Stryker disable next-line StringLiteral: a TCP socket with a request on it has its remote address
    const address = req.socket.remoteAddress ?? 'unknown';
    const login = (candidate: string) => {
      if (!this.throttle.allow(address)) {
        res.setHeader('Retry-After', String(this.throttle.retryAfter(address)));
        text(res, 429, 'too many wrong tokens from this address; wait and try again\n');
      } else if (tokenMatches(candidate, token)) loggedIn(res, token);
      else {
        this.throttle.failed(address);
        unauthorised(res, true);
      }
    };
    if (presented !== null) {
      login(presented);
      return;
    }
    if (req.method === 'POST' && url.pathname === '/login') {
      readForm(req, MAX_LOGIN_BODY)
        .then((form) => {
          // Stryker disable next-line StringLiteral: any string that is not the token is as wrong as the empty one
          const candidate = form.get('token') ?? '';
          login(candidate);
        })
        .catch(() => {
          res.setHeader('Connection', 'close');
          text(res, 413, 'login form too large\n');
        });
      return;
    }
    if (!hasSession(req, token)) {
      unauthorised(res, false);
      return;
    }
    for (const r of this.routes) {
      // HEAD is answered by the GET route (Node sends no body): the page asks HEAD before a download.
      if (r.method !== req.method && !(r.method === 'GET' && req.method === 'HEAD')) continue;
      const m = r.pattern.exec(url.pathname);
      if (m !== null) {
        r.handler(req, res, m);
        return;
      }
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      text(res, 405, 'method not allowed\n');
      return;
    }
    const file = this.files.get(url.pathname === '/' ? '/index.html' : url.pathname);
    if (file === undefined) {
      if (url.pathname === '/' && !this.built)
        text(res, 200, 'The dashboard is not built: run `pnpm build` in the repository, then reload.\n');
      else text(res, 404, 'not found\n');
      return;
    }
    res.writeHead(200, {
      'Content-Type': file.type,
      'Content-Length': file.body.length,
      'Cache-Control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    // Stryker disable next-line ConditionalExpression: Node sends no body for HEAD whatever end() gets
    res.end(req.method === 'HEAD' ? undefined : file.body);
  }

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    // Stryker disable next-line StringLiteral: Node always sets req.url on an upgrade request
    const path = new URL(req.url ?? '/', 'http://agent').pathname;
    const handler = this.mqttSocket;
    if (!hasSession(req, this.options.token)) refuse(socket, 401, 'Unauthorized');
    else if (!sameOrigin(req)) refuse(socket, 403, 'Forbidden');
    else if (path !== MQTT_PATH || handler === null) refuse(socket, 404, 'Not Found');
    else
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        // A frame above maxPayload (or any protocol error) closes this socket, never the agent.
        // Stryker disable next-line ArrowFunction: ws closes the socket itself after a protocol error (1009); terminate only makes it immediate
        ws.on('error', () => ws.terminate());
        handler(ws, req);
      });
  }
}

function loggedIn(res: ServerResponse, token: string): void {
  // The token leaves the address bar (and the history) with the redirect.
  res.writeHead(303, { 'Set-Cookie': sessionCookie(token), Location: '/', 'Cache-Control': 'no-store' }).end();
}

function unauthorised(res: ServerResponse, wrongToken: boolean): void {
  setSecurityHeaders(res, LOGIN_STYLE_HASH);
  res.writeHead(401, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(loginPage(wrongToken));
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }).end(body);
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

/** A refused WebSocket handshake: a plain HTTP answer, then the socket is closed. */
function refuse(socket: Socket, status: number, reason: string): void {
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain\r\nContent-Length: ${reason.length + 1}\r\nConnection: close\r\n\r\n${reason}\n`,
  );
}

function readForm(req: IncomingMessage, limit: number): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        // Answered 413 by the caller, then the connection closes; the rest is read and thrown away
        // (destroying the socket here would drop the answer too). The request timeout bounds it.
        // Stryker disable next-line StringLiteral: the handler returns early once over the limit either way; this only stops counting
        req.removeAllListeners('data');
        req.resume();
        // Stryker disable next-line StringLiteral: the caller answers 413 whatever the message
        reject(new Error('too large'));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}
