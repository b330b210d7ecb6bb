// The dashboard's evidence download, in process (agent/src/http/evidence-routes.ts):
// flights made with the session store (no agent process), a server started
// in each test, every answer read over a real socket: 200 with the signed
// bundle, HEAD without it, 409 while open, 404 for unknown or malformed ids,
// 500 with the stable code for a damaged log or a missing key, and 500 for a
// log that is gone.

import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOrCreateKey } from '../../agent/src/evidence/keys.js';
import { endSession, type RecorderContext, sessionDir, startSession } from '../../agent/src/evidence/session-store.js';
import { verifyBundle } from '../../agent/src/evidence/verify.js';
import { sessionValue } from '../../agent/src/http/auth.js';
import { addEvidenceRoutes } from '../../agent/src/http/evidence-routes.js';
import { DashboardServer } from '../../agent/src/http/server.js';

const TOKEN = 'viewer-token-routes';
const cookie = `egress_session=${sessionValue(TOKEN)}`;
const dirs: string[] = [];
const servers: DashboardServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function flights(): { dataDir: string; closed: string; ctx: RecorderContext } {
  const dataDir = mkdtempSync(join(tmpdir(), 'egress-routes-'));
  dirs.push(dataDir);
  let now = Date.parse('2026-05-01T10:00:00Z') * 1000;
  const ctx: RecorderContext = {
    gateway: 'gw-r',
    version: '1.0.0-test',
    policy: { source: 'p.yaml', sha256: '0'.repeat(64) },
    databases: {},
    key: loadOrCreateKey(dataDir),
    clock: () => ({ synchronized: true, source: 'test' }),
    now: () => {
      now += 1_000_000;
      return now;
    },
  };
  const s = startSession(dataDir, ctx, 'Route flight');
  const closed = endSession(s, ctx, {}).id;
  return { dataDir, closed, ctx };
}

async function serve(dataDir: string) {
  const s = await DashboardServer.listen({ host: '127.0.0.1', port: 0, token: TOKEN, gateway: 'gw-r' });
  servers.push(s);
  addEvidenceRoutes(s, dataDir);
  const base = `http://127.0.0.1:${s.address.port}/api/sessions`;
  return (id: string, method = 'GET') => fetch(`${base}/${id}/export`, { method, headers: { cookie } });
}

describe('GET /api/sessions/<id>/export, in process', () => {
  it('gives a closed flight as a bundle that verifies; HEAD says so without building it', async () => {
    const { dataDir, closed } = flights();
    const get = await serve(dataDir);
    const res = await get(closed);
    const body = Buffer.from(await res.arrayBuffer());
    expect(res.status).toBe(200);
    expect(
      Object.fromEntries(
        ['content-type', 'content-length', 'content-disposition', 'cache-control'].map((h) => [h, res.headers.get(h)]),
      ),
    ).toEqual({
      'content-type': 'application/zip',
      'content-length': String(body.length),
      'content-disposition': `attachment; filename="${closed}.zip"`,
      'cache-control': 'no-store',
    });
    expect(verifyBundle(body).status).toBe(0);
    const head = await get(closed, 'HEAD');
    expect([head.status, head.headers.get('content-type'), head.headers.get('content-disposition')]).toEqual([
      200,
      'application/zip',
      null,
    ]);
  });

  it.each([
    [
      'an unknown flight',
      'gw-r-20000101T000000000Z',
      404,
      'EGRESS_SESSION_UNKNOWN',
      /^no session "gw-r-20000101T000000000Z" in /,
    ],
    ['a malformed escape', '%E0%A4%A', 404, 'EGRESS_SESSION_UNKNOWN', /^not a session id$/],
    ['a hidden name', '.hidden', 404, 'EGRESS_SESSION_UNKNOWN', /^"\.hidden" is not a session id$/],
    ['a path', '..%2Fkeys', 404, 'EGRESS_SESSION_UNKNOWN', /^"\.\.\/keys" is not a session id$/],
  ])('%s: %i %s', async (_what, id, status, code, message) => {
    const { dataDir } = flights();
    const res = await (await serve(dataDir))(id);
    expect(res.status).toBe(status);
    const j = (await res.json()) as { code: string; message: string };
    expect(j.code).toBe(code);
    expect(j.message).toMatch(message);
  });

  it('is 409 for the open flight, for GET and HEAD', async () => {
    const { dataDir, ctx } = flights();
    const open = startSession(dataDir, ctx, 'still flying');
    const get = await serve(dataDir);
    for (const method of ['GET', 'HEAD']) {
      const res = await get(open.meta.id, method);
      expect(res.status, method).toBe(409);
      if (method === 'GET')
        expect(await res.json()).toEqual({
          code: 'EGRESS_SESSION_STATE',
          message: `flight ${open.meta.id} is still open; end it first`,
        });
    }
    open.log.close();
  });

  it('is 500 with the stable code for a damaged log or a missing key, and 500 for a log that is gone', async () => {
    const { dataDir, closed } = flights();
    const get = await serve(dataDir);
    appendFileSync(join(sessionDir(dataDir, closed), 'events.ndjson'), '{"seq":99}\n');
    const damaged = await get(closed);
    expect(damaged.status).toBe(500);
    expect(((await damaged.json()) as { code: string }).code).toBe('EGRESS_EVIDENCE_LOG_DAMAGED');
    rmSync(join(sessionDir(dataDir, closed), 'events.ndjson'));
    const gone = await get(closed);
    expect(gone.status).toBe(500);
    const g = (await gone.json()) as { code?: string; message: string };
    expect(g.code).toBeUndefined();
    expect(g.message).toMatch(/^Error: ENOENT/);
    rmSync(join(dataDir, 'keys'), { recursive: true });
    const nokey = await get(closed);
    expect(nokey.status).toBe(500);
    expect(((await nokey.json()) as { code: string }).code).toBe('EGRESS_KEY_MISSING');
  });
});
