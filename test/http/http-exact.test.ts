// The dashboard server's access rules, exactly (agent/src/http): the token
// and cookie checks against every near miss (same length, prefix, another
// cookie's name), the Origin check of the WebSocket upgrade, the login
// throttle's arithmetic on an injected clock, the security headers and the
// file table. Each server is started inside its test (mutation testing's
// per-test coverage sees its start-up code) and read through real sockets.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { EgressError } from '../../agent/src/errors.js';
import { hasSession, SESSION_COOKIE, sameOrigin, sessionValue, tokenMatches } from '../../agent/src/http/auth.js';
import { csp, sha256Base64 } from '../../agent/src/http/headers.js';
import { LOGIN_STYLE_HASH, loginPage } from '../../agent/src/http/login.js';
import { LoginThrottle } from '../../agent/src/http/login-throttle.js';
import { DashboardServer } from '../../agent/src/http/server.js';
import { loadStaticFiles } from '../../agent/src/http/static.js';

const TOKEN = 'viewer-token-0123456789';
const GOOD = sessionValue(TOKEN);
const dirs: string[] = [];
const servers: DashboardServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function dist(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'egress-http-exact-'));
  dirs.push(d);
  for (const [path, body] of Object.entries(files)) {
    mkdirSync(join(d, path, '..'), { recursive: true });
    writeFileSync(join(d, path), body);
  }
  return d;
}

async function start(files: Record<string, string> = { 'index.html': '<!doctype html>app' }) {
  const s = await DashboardServer.listen({
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    gateway: 'gw9',
    staticDir: dist(files),
  });
  servers.push(s);
  const origin = `http://127.0.0.1:${s.address.port}`;
  const get = (path: string, init: RequestInit = {}) => fetch(`${origin}${path}`, { redirect: 'manual', ...init });
  return { s, origin, get, cookie: `${SESSION_COOKIE}=${GOOD}` };
}

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe('auth: tokens and cookies', () => {
  it.each([
    ['the token', TOKEN, true],
    ['one character changed, same length', `${TOKEN.slice(0, -1)}X`, false],
    ['a prefix', TOKEN.slice(0, -1), false],
    ['one character more', `${TOKEN}9`, false],
    ['empty', '', false],
    ['another role token of the same length', 'agent-token-0123456789x', false],
  ])('tokenMatches: %s', (_what, presented, want) => {
    expect(tokenMatches(presented, TOKEN)).toBe(want);
  });

  it.each([
    ['no Cookie header', undefined, false],
    ['the session cookie', `${SESSION_COOKIE}=${GOOD}`, true],
    ['among others, with spaces', `a=1;  ${SESSION_COOKIE} = ${GOOD} ; b=2`, true],
    ['after a part without "="', `junk; ${SESSION_COOKIE}=${GOOD}`, true],
    [
      'a forged value of the same length',
      `${SESSION_COOKIE}=${GOOD.slice(0, -1)}${GOOD.endsWith('A') ? 'B' : 'A'}`,
      false,
    ],
    ['a prefix of the value', `${SESSION_COOKIE}=${GOOD.slice(0, -1)}`, false],
    ['the value under another name', `x${SESSION_COOKIE}=${GOOD}`, false],
    ['the value under a name it starts', `${SESSION_COOKIE}2=${GOOD}`, false],
    ['the value of another token', `${SESSION_COOKIE}=${sessionValue(`${TOKEN}x`)}`, false],
    ['the name alone', SESSION_COOKIE, false],
    ['empty', '', false],
  ])('hasSession: %s', (_what, cookie, want) => {
    expect(hasSession(req(cookie === undefined ? {} : { cookie }), TOKEN)).toBe(want);
  });

  it('derives the cookie from the token (HMAC-SHA256, base64url), different for another token', () => {
    expect(GOOD).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(sessionValue(`${TOKEN}x`)).not.toBe(GOOD);
    expect(sessionValue(TOKEN)).toBe(GOOD);
  });

  it.each([
    ['no Origin (not a browser)', {}, true],
    ['the same host and port', { origin: 'http://127.0.0.1:8080', host: '127.0.0.1:8080' }, true],
    ['https, same host and port', { origin: 'https://gw.local:8443', host: 'gw.local:8443' }, true],
    ['another port', { origin: 'http://127.0.0.1:8081', host: '127.0.0.1:8080' }, false],
    ['another host', { origin: 'http://evil.example:8080', host: '127.0.0.1:8080' }, false],
    ['"null" (a sandboxed page)', { origin: 'null', host: '127.0.0.1:8080' }, false],
    ['not a URL', { origin: '::::', host: '127.0.0.1:8080' }, false],
  ])('sameOrigin: %s', (_what, headers, want) => {
    expect(sameOrigin(req(headers as Record<string, string>))).toBe(want);
  });
});

describe('login throttle (injected clock)', () => {
  it('allows `burst` failures, then one per 1/perSecond s; a full bucket is forgotten', () => {
    let now = 1_000_000;
    const t = new LoginThrottle({ burst: 3, perSecond: 2, now: () => now });
    const after = (ms: number) => {
      now += ms;
      return t.allow('a');
    };
    const steps: [string, () => unknown, unknown][] = [
      ['unknown address may try', () => t.allow('a'), true],
      ['and need not wait', () => t.retryAfter('a'), 0],
      ['fail 1', () => t.failed('a'), undefined],
      ['remembered', () => t.size, 1],
      ['fail 2', () => t.failed('a'), undefined],
      ['still allowed after 2 of 3', () => t.allow('a'), true],
      ['fail 3', () => t.failed('a'), undefined],
      ['refused now', () => t.allow('a'), false],
      ['wait ceil(1 / 2) = 1 s', () => t.retryAfter('a'), 1],
      ['another address is not affected', () => t.allow('b'), true],
      ['after 250 ms still refused', () => after(250), false],
      ['after 500 ms one more', () => after(250), true],
      ['fail again: empty', () => t.failed('a'), undefined],
      ['refused', () => t.allow('a'), false],
      ['after 1.5 s full again: forgotten', () => after(1500), true],
      ['nothing remembered', () => t.size, 0],
    ];
    for (const [what, act, want] of steps) expect(act(), what).toBe(want);
    expect(t.counters).toEqual({ login_failures: 4, login_throttled: 3, throttle_evictions: 0 });
  });

  it.each([
    { perSecond: 0.25, waited: 0, retry: 4 },
    { perSecond: 0.25, waited: 2000, retry: 2 },
    { perSecond: 0.25, waited: 3001, retry: 1 },
    { perSecond: 4, waited: 0, retry: 1 },
  ])(
    'retryAfter rounds up: $perSecond per second, $waited ms after the last failure → $retry s',
    ({ perSecond, waited, retry }) => {
      let now = 0;
      const t = new LoginThrottle({ burst: 1, perSecond, now: () => now });
      t.failed('a');
      now += waited;
      expect(t.retryAfter('a')).toBe(retry);
      expect(t.allow('a')).toBe(false);
    },
  );

  it('defaults: 10 failures at once, then one a second', () => {
    let now = 0;
    const t = new LoginThrottle({ now: () => now });
    for (let i = 0; i < 9; i++) t.failed('a');
    expect(t.allow('a')).toBe(true);
    t.failed('a');
    expect(t.allow('a')).toBe(false);
    expect(t.retryAfter('a')).toBe(1);
    now += 1000;
    expect(t.allow('a')).toBe(true);
  });

  it('remembers at most maxAddresses, evicting the least recently failed (counted)', () => {
    const now = 0;
    const t = new LoginThrottle({ burst: 2, maxAddresses: 2, now: () => now });
    t.failed('a');
    t.failed('b');
    t.failed('a'); // a is now the most recent: b goes first
    t.failed('c');
    expect(t.size).toBe(2);
    expect(t.counters.throttle_evictions).toBe(1);
    expect(t.allow('a')).toBe(false); // a kept: two failures, empty
    t.failed('b'); // b was forgotten: a fresh bucket; a goes (c failed after it; allow() is not a failure)
    expect(t.counters.throttle_evictions).toBe(2);
    expect([t.allow('b'), t.allow('c'), t.allow('a')]).toEqual([true, true, true]);
    t.failed('b');
    expect(t.allow('b')).toBe(false);
    expect(t.size).toBe(2);
  });

  it('never goes below empty: more failures do not lengthen the wait', () => {
    let now = 0;
    const t = new LoginThrottle({ burst: 2, perSecond: 1, now: () => now });
    for (let i = 0; i < 10; i++) t.failed('a');
    expect(t.retryAfter('a')).toBe(1);
    now += 1000;
    expect(t.allow('a')).toBe(true);
  });
});

describe('headers, login page and files', () => {
  it('builds the CSP: nothing by default, scripts and connections from itself, one hashed inline style', () => {
    const base =
      "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; font-src 'self'; " +
      "manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
    expect(csp()).toBe(`${base}; style-src 'self'`);
    expect(csp('abc=')).toBe(`${base}; style-src 'sha256-abc='`);
    expect(sha256Base64('')).toBe('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
  });

  it('shows the wrong-token notice only after a wrong token, in English and Dutch; its style matches the hash', () => {
    expect(loginPage(true)).toContain('<strong>⚠ Wrong token.</strong> / <strong>Onjuist token.</strong>');
    expect(loginPage(false)).not.toContain('Wrong token');
    const style = /<style>([\s\S]*?)<\/style>/.exec(loginPage(false))?.[1] ?? '';
    expect(sha256Base64(style)).toBe(LOGIN_STYLE_HASH);
  });

  it('lists the built files by URL path with their type; only /assets/ is immutable; a missing folder is empty', () => {
    const d = dist({
      'index.html': 'i',
      'assets/app-1.js': 'j',
      'assets/deep/x.css': 'c',
      'favicon.ico': 'f',
      'manifest.json': '{}',
      'logo.svg': '<svg/>',
      'p.png': 'p',
      'font.woff2': 'w',
      'robots.txt': 't',
      'data.bin': 'b',
    });
    const files = loadStaticFiles(d);
    const seen = Object.fromEntries([...files].map(([p, f]) => [p, [f.type, f.immutable, f.body.toString()]]));
    expect(seen).toEqual({
      '/index.html': ['text/html; charset=utf-8', false, 'i'],
      '/assets/app-1.js': ['text/javascript; charset=utf-8', true, 'j'],
      '/assets/deep/x.css': ['text/css; charset=utf-8', true, 'c'],
      '/favicon.ico': ['image/x-icon', false, 'f'],
      '/manifest.json': ['application/json', false, '{}'],
      '/logo.svg': ['image/svg+xml', false, '<svg/>'],
      '/p.png': ['image/png', false, 'p'],
      '/font.woff2': ['font/woff2', false, 'w'],
      '/robots.txt': ['text/plain; charset=utf-8', false, 't'],
      '/data.bin': ['application/octet-stream', false, 'b'],
    });
    expect(loadStaticFiles(join(d, 'absent')).size).toBe(0);
  });
});

describe('dashboard server, one per test', () => {
  it('listens where asked with its limits set, and refuses a port in use with EGRESS_USAGE', async () => {
    const { s } = await start();
    expect([s.address.family, s.address.address]).toEqual(['IPv4', '127.0.0.1']);
    expect(s.server.headersTimeout).toBe(10_000);
    expect(s.server.requestTimeout).toBe(30_000);
    expect(s.server.keepAliveTimeout).toBe(5_000);
    expect(s.server.maxConnections).toBe(64);
    const err = await DashboardServer.listen({
      host: '127.0.0.1',
      port: s.address.port,
      token: 't',
      gateway: 'g',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EgressError);
    expect((err as EgressError).code).toBe('EGRESS_USAGE');
    expect((err as EgressError).message).toBe(`cannot listen on 127.0.0.1:${s.address.port} for HTTP: EADDRINUSE`);
  });

  it('answers every path by method and cookie, with the right status, type, caching and security headers', async () => {
    const { s, get, cookie } = await start({ 'index.html': 'app', 'assets/a-1.js': 'js', 'x.txt': 'tx' });
    s.route('POST', /^\/api\/do$/, (_q, r) => r.end('done'));
    s.route('GET', /^\/api\/item\/(\d+)$/, (_q, r, m) => r.end(`item ${m[1]}`));
    const cases: [string, RequestInit, number, string | null, string | null, string][] = [
      // path, request, status, content-type, cache-control, body
      ['/', { headers: { cookie } }, 200, 'text/html; charset=utf-8', 'no-cache', 'app'],
      ['/index.html', { headers: { cookie } }, 200, 'text/html; charset=utf-8', 'no-cache', 'app'],
      [
        '/assets/a-1.js',
        { headers: { cookie } },
        200,
        'text/javascript; charset=utf-8',
        'public, max-age=31536000, immutable',
        'js',
      ],
      ['/x.txt', { method: 'HEAD', headers: { cookie } }, 200, 'text/plain; charset=utf-8', 'no-cache', ''],
      ['/nope', { headers: { cookie } }, 404, 'text/plain; charset=utf-8', 'no-store', 'not found\n'],
      [
        '/',
        { method: 'PUT', headers: { cookie } },
        405,
        'text/plain; charset=utf-8',
        'no-store',
        'method not allowed\n',
      ],
      ['/api/do', { method: 'POST', headers: { cookie } }, 200, null, null, 'done'],
      ['/api/do', { headers: { cookie } }, 404, 'text/plain; charset=utf-8', 'no-store', 'not found\n'],
      ['/api/item/42', { headers: { cookie } }, 200, null, null, 'item 42'],
      ['/api/item/42', { method: 'HEAD', headers: { cookie } }, 200, null, null, ''],
      ['/api/item/x', { headers: { cookie } }, 404, 'text/plain; charset=utf-8', 'no-store', 'not found\n'],
      [
        '/api/item/42',
        { method: 'POST', headers: { cookie } },
        405,
        'text/plain; charset=utf-8',
        'no-store',
        'method not allowed\n',
      ],
      [
        '/api/config',
        { headers: { cookie } },
        200,
        'application/json',
        'no-store',
        '{"gateway":"gw9","token":"viewer-token-0123456789","mqtt":null}',
      ],
      ['/api/item/42', {}, 401, 'text/html; charset=utf-8', 'no-store', loginPage(false)],
      [
        '/',
        { headers: { cookie: `${SESSION_COOKIE}=${GOOD}x` } },
        401,
        'text/html; charset=utf-8',
        'no-store',
        loginPage(false),
      ],
    ];
    for (const [path, init, status, type, cache, body] of cases) {
      const res = await get(path, init);
      const what = `${init.method ?? 'GET'} ${path}`;
      expect(res.status, what).toBe(status);
      expect(res.headers.get('content-type'), what).toBe(type);
      expect(res.headers.get('cache-control'), what).toBe(cache);
      expect(await res.text(), what).toBe(body);
      expect(res.headers.get('x-content-type-options'), what).toBe('nosniff');
      expect(res.headers.get('referrer-policy'), what).toBe('no-referrer');
      expect(res.headers.get('x-frame-options'), what).toBe('DENY');
      expect(res.headers.get('cross-origin-opener-policy'), what).toBe('same-origin');
      expect(res.headers.get('cross-origin-resource-policy'), what).toBe('same-origin');
      expect(res.headers.get('permissions-policy'), what).toBe(
        'camera=(), microphone=(), geolocation=(), usb=(), serial=()',
      );
      expect(res.headers.get('content-security-policy'), what).toBe(csp(status === 401 ? LOGIN_STYLE_HASH : undefined));
    }
    const head = await get('/x.txt', { method: 'HEAD', headers: { cookie } });
    expect(head.headers.get('content-length')).toBe('2');
  });

  it('says how to build the dashboard when it is not built, and 404 elsewhere', async () => {
    const { s, get, cookie } = await start({});
    expect(s.built).toBe(false);
    const res = await get('/', { headers: { cookie } });
    expect([res.status, await res.text()]).toEqual([
      200,
      'The dashboard is not built: run `pnpm build` in the repository, then reload.\n',
    ]);
    expect((await get('/index.html', { headers: { cookie } })).status).toBe(404);
  });

  it('logs in with the token in the address or the form; wrong tokens are throttled with Retry-After', async () => {
    const { s, get, cookie } = await start();
    const ok = await get(`/x?token=${TOKEN}`);
    expect([
      ok.status,
      ok.headers.get('location'),
      ok.headers.get('set-cookie'),
      ok.headers.get('cache-control'),
    ]).toEqual([303, '/', `${cookie}; Path=/; HttpOnly; SameSite=Strict`, 'no-store']);
    const form = (token: string) => get('/login', { method: 'POST', body: new URLSearchParams({ token }) });
    expect((await form(TOKEN)).status).toBe(303);
    expect((await get('/login', { method: 'POST', body: 'other=1' })).status).toBe(401); // no token field
    const wrong = `${TOKEN.slice(0, -1)}X`;
    for (let i = 1; i < 10; i++) {
      const res = await (i % 2 ? get(`/?token=${wrong}`) : form(wrong));
      expect(res.status, `wrong token ${i}`).toBe(401);
      expect(await res.text()).toBe(loginPage(true));
    }
    expect(s.throttle.counters.login_failures).toBe(10); // the form without a token field was one
    const refused = await get(`/?token=${TOKEN}`);
    expect([refused.status, refused.headers.get('retry-after'), await refused.text()]).toEqual([
      429,
      '1',
      'too many wrong tokens from this address; wait and try again\n',
    ]);
    expect((await form(TOKEN)).status).toBe(429);
    expect(s.throttle.counters.login_throttled).toBe(2);
    // The cookie still works: only logins are throttled.
    expect((await get('/', { headers: { cookie } })).status).toBe(200);
  });

  it('takes a login form of 2 KiB, refuses a bigger one with 413', async () => {
    const { get } = await start();
    const body = (n: number) => `token=${TOKEN}&pad=${'a'.repeat(n - TOKEN.length - 11)}`;
    expect(body(2048)).toHaveLength(2048);
    expect((await get('/login', { method: 'POST', body: body(2048) })).status).toBe(303);
    const big = await get('/login', { method: 'POST', body: body(2049) }).catch(() => null);
    expect(big === null || big.status === 413).toBe(true);
    // Answered over a raw socket, where a reset cannot hide the status.
    const { s } = await start();
    const reply = await new Promise<string>((resolve) => {
      let got = '';
      const c = connect(s.address.port, '127.0.0.1', () =>
        c.write(`POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 3000\r\n\r\n${'t'.repeat(3000)}`),
      );
      c.on('data', (d) => {
        got += d.toString();
      });
      c.on('close', () => resolve(got));
      c.on('error', () => resolve(got));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('refuses a request head over 8 KiB (431)', async () => {
    const { get, cookie } = await start();
    expect((await get('/', { headers: { cookie, 'x-pad': 'a'.repeat(7000) } })).status).toBe(200);
    expect((await get('/', { headers: { cookie, 'x-pad': 'a'.repeat(9000) } })).status).toBe(431);
  });

  it('upgrades /mqtt for a logged-in page of the same origin only, and only when a broker takes it', async () => {
    const { s, origin, cookie } = await start();
    const upgrade = (path: string, headers: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${s.address.port}${path}`, { headers });
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('unexpected-response', (_q, res) => {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c.toString();
          });
          res.on('end', () => resolve(Number(`${res.statusCode}`) + (body === `${res.statusMessage}\n` ? 0 : 0.5)));
        });
        ws.on('error', () => resolve(-1));
      });
    expect(await upgrade('/mqtt', { cookie, origin })).toBe(404); // no broker yet
    const taken: string[] = [];
    s.mqttSocket = (_ws, r) => taken.push(r.url ?? '');
    expect(await (await fetch(`${origin}/api/config`, { headers: { cookie } })).json()).toEqual({
      gateway: 'gw9',
      token: TOKEN,
      mqtt: '/mqtt',
    });
    expect(await upgrade('/mqtt', { cookie, origin })).toBe(101);
    expect(await upgrade('/mqtt?x=1', { cookie })).toBe(101); // no Origin: not a browser page
    expect(await upgrade('/mqtt', { origin })).toBe(401);
    expect(await upgrade('/mqtt', { cookie, origin: 'http://127.0.0.1:1' })).toBe(403);
    expect(await upgrade('/mqtt/', { cookie, origin })).toBe(404);
    expect(taken).toEqual(['/mqtt', '/mqtt?x=1']);
  });
});

describe('dashboard server: edges (found by mutation testing)', () => {
  it('matches routes whole, by method (HEAD only for GET routes), and /login only for POST', async () => {
    const { s, get, cookie } = await start();
    expect(s.built).toBe(true);
    s.route('POST', /^\/api\/do$/, (_q, r) => r.end('done'));
    const cases: [string, string, number][] = [
      ['GET', '/api/config/x', 404],
      ['GET', '/x/api/config', 404],
      ['HEAD', '/api/do', 404],
      ['GET', '/login', 404],
      ['HEAD', '/api/config', 200],
    ];
    for (const [method, path, status] of cases)
      expect((await get(path, { method, headers: { cookie } })).status, `${method} ${path}`).toBe(status);
  });

  it('answers an over-long login form with 413, its text, and closes the connection', async () => {
    const { s } = await start();
    const reply = await new Promise<string>((resolve) => {
      let got = '';
      const c = connect(s.address.port, '127.0.0.1', () =>
        c.write(`POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 2100\r\n\r\n${'t'.repeat(2100)}`),
      );
      c.on('data', (d) => {
        got += d.toString();
      });
      c.on('close', () => resolve(got));
      c.on('error', () => resolve(got));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 413 /);
    expect(reply).toMatch(/\r\nConnection: close\r\n/i);
    expect(reply).toContain('login form too large\n');
  });

  it('refuses an upgrade with the exact status line and reason', async () => {
    const { s, origin, cookie } = await start();
    const raw = (headers: string) =>
      new Promise<string>((resolve) => {
        let got = '';
        const c = connect(s.address.port, '127.0.0.1', () =>
          c.write(
            `GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1:${s.address.port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
              `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${headers}\r\n`,
          ),
        );
        c.on('data', (d) => {
          got += d.toString();
        });
        c.on('close', () => resolve(got));
      });
    const first = (r: string) => [r.split('\r\n')[0], r.slice(r.indexOf('\r\n\r\n') + 4)];
    expect(first(await raw(''))).toEqual(['HTTP/1.1 401 Unauthorized', 'Unauthorized\n']);
    expect(first(await raw(`Cookie: ${cookie}\r\nOrigin: http://evil.example\r\n`))).toEqual([
      'HTTP/1.1 403 Forbidden',
      'Forbidden\n',
    ]);
    expect(first(await raw(`Cookie: ${cookie}\r\nOrigin: ${origin}\r\n`))).toEqual([
      'HTTP/1.1 404 Not Found',
      'Not Found\n',
    ]);
  });

  it('close() stops listening', async () => {
    const { s, get } = await start();
    await s.close();
    servers.splice(servers.indexOf(s), 1);
    expect(
      await get('/').then(
        () => 'answered',
        () => 'refused',
      ),
    ).toBe('refused');
  });

  it('the login page without the notice is the page with it, minus the notice', () => {
    const notice = '<p class="err" role="alert"><strong>⚠ Wrong token.</strong> / <strong>Onjuist token.</strong></p>';
    expect(loginPage(false)).toBe(loginPage(true).replace(notice, ''));
  });

  it('retryAfter is 0 while failures are left, however many', () => {
    const t = new LoginThrottle({ burst: 3, perSecond: 1, now: () => 0 });
    t.failed('a');
    expect(t.retryAfter('a')).toBe(0);
    t.failed('a');
    expect(t.retryAfter('a')).toBe(0);
  });
});
