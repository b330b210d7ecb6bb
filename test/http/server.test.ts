// The agent's HTTP server for the dashboard (agent/src/http) with real
// clients (fetch, ws): the token becomes a cookie, everything else without
// it is 401, security headers on every answer, only built files are served,
// the WebSocket upgrade on /mqtt needs the cookie and the same origin, and
// frames above the limit close the socket.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { sessionValue } from '../../agent/src/http/auth.js';
import { DashboardServer, WS_MAX_PAYLOAD } from '../../agent/src/http/server.js';

const TOKEN = 'viewer-token-for-tests';
const dir = mkdtempSync(join(tmpdir(), 'egress-http-'));
let server: DashboardServer;
let origin: string;
const cookie = `egress_session=${sessionValue(TOKEN)}`;
const received: string[] = [];

beforeAll(async () => {
  mkdirSync(join(dir, 'dist/assets'), { recursive: true });
  writeFileSync(join(dir, 'dist/index.html'), '<!doctype html><title>app</title>');
  writeFileSync(join(dir, 'dist/assets/app-1.js'), 'console.log(1)');
  writeFileSync(join(dir, 'secret.txt'), 'outside');
  server = await DashboardServer.listen({
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    gateway: 'gw1',
    staticDir: join(dir, 'dist'),
  });
  server.mqttSocket = (ws) => ws.on('message', (m) => received.push(String(m)));
  server.route('GET', /^\/api\/sessions\/([^/]+)\/export$/, (_req, res, m) => res.end(`export ${m[1]}`));
  origin = `http://127.0.0.1:${server.address.port}`;
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${origin}${path}`, { headers, redirect: 'manual' });

function upgrade(path: string, headers: Record<string, string>): Promise<{ status: number; ws?: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.address.port}${path}`, { headers });
    ws.on('open', () => resolve({ status: 101, ws }));
    ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
    ws.on('error', () => resolve({ status: -1 }));
  });
}

describe('dashboard HTTP server', () => {
  it('turns a valid token into an HttpOnly SameSite=Strict cookie and redirects to /', async () => {
    const res = await get(`/?token=${TOKEN}`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    expect(res.headers.get('set-cookie')).toBe(`${cookie}; Path=/; HttpOnly; SameSite=Strict`);
    const form = await fetch(`${origin}/login`, {
      method: 'POST',
      body: new URLSearchParams({ token: TOKEN }),
      redirect: 'manual',
    });
    expect(form.status).toBe(303);
    expect(form.headers.get('set-cookie')).toContain(cookie);
  });

  it('answers 401 with the login page on every path without the cookie, and for a wrong token', async () => {
    for (const path of ['/', '/index.html', '/assets/app-1.js', '/api/config', '/api/sessions/s1/export', '/x']) {
      const res = await get(path);
      expect(res.status, path).toBe(401);
      expect(await res.text()).toContain('<form method="post" action="/login">');
    }
    const wrong = await get('/?token=wrong');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect(await wrong.text()).toContain('Wrong token');
    expect((await get('/', { cookie: 'egress_session=forged' })).status).toBe(401);
    const post = await fetch(`${origin}/login`, { method: 'POST', body: new URLSearchParams({ token: 'nope' }) });
    expect(post.status).toBe(401);
    const big = await fetch(`${origin}/login`, { method: 'POST', body: 'token='.padEnd(10_000, 'a') }).catch(
      () => null,
    );
    expect(big === null || big.status === 413).toBe(true);
  });

  it('sends the security headers on every answer', async () => {
    for (const res of [await get('/'), await get('/', { cookie }), await get('/missing', { cookie })]) {
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-eval');
      expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });

  it('serves only the built files, with the config and the route table behind the cookie', async () => {
    const index = await get('/', { cookie });
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const js = await get('/assets/app-1.js', { cookie });
    expect(await js.text()).toBe('console.log(1)');
    expect(js.headers.get('cache-control')).toContain('immutable');
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/../../secret.txt', '/nope.js'])
      expect((await get(path, { cookie })).status, path).toBe(404);
    expect(await (await get('/api/config', { cookie })).json()).toEqual({
      gateway: 'gw1',
      token: TOKEN,
      mqtt: '/mqtt',
    });
    expect(await (await get('/api/sessions/s-7/export', { cookie })).text()).toBe('export s-7');
    expect((await fetch(`${origin}/api/sessions/s-7/export`, { method: 'HEAD', headers: { cookie } })).status).toBe(
      200,
    );
    expect((await fetch(`${origin}/api/sessions/s-7/nope`, { method: 'HEAD', headers: { cookie } })).status).toBe(404);
    expect((await fetch(`${origin}/`, { method: 'DELETE', headers: { cookie } })).status).toBe(405);
  });

  it('upgrades /mqtt only with the cookie and from the same origin; big frames close the socket', async () => {
    expect((await upgrade('/mqtt', {})).status).toBe(401);
    expect((await upgrade('/mqtt', { cookie: 'egress_session=x' })).status).toBe(401);
    expect((await upgrade('/mqtt', { cookie, origin: 'http://evil.example' })).status).toBe(403);
    expect((await upgrade('/other', { cookie })).status).toBe(404);
    const ok = await upgrade('/mqtt', { cookie, origin });
    expect(ok.status).toBe(101);
    const ws = ok.ws as WebSocket;
    ws.send('small');
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    ws.send(Buffer.alloc(WS_MAX_PAYLOAD + 1));
    expect(await closed).toBe(1009); // RFC 6455 §7.4.1: message too big
    expect(received).toEqual(['small']);
  });
});
