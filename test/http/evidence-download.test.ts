// The dashboard's evidence download (agent/src/http/evidence-routes.ts): a
// recorded flight is fetched over HTTP with the session cookie and the bytes
// are a bundle `egress verify` calls intact; an open flight is 409, an unknown
// or malformed id 404, and without the cookie 401 (nothing is built).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addEvidenceRoutes } from '../../agent/src/http/evidence-routes.js';
import { DashboardServer } from '../../agent/src/http/server.js';
import { recordFlight } from '../evidence/flight.js';
import { egress } from '../support/cli.js';
import { dashboardCookie } from '../support/dashboard-http.js';

const TOKEN = 'viewer-token-for-the-download-test';
let dataDir: string;
let id: string;
let server: DashboardServer;
let origin: string;
let cookie: string;

beforeAll(async () => {
  ({ dataDir, id } = recordFlight('Download from the dashboard'));
  server = await DashboardServer.listen({ host: '127.0.0.1', port: 0, token: TOKEN, gateway: 'gw1' });
  addEvidenceRoutes(server, dataDir);
  origin = `http://127.0.0.1:${server.address.port}`;
  cookie = await dashboardCookie(origin, TOKEN);
});

afterAll(async () => {
  await server?.close();
});

const exportUrl = (sid: string) => `${origin}/api/sessions/${encodeURIComponent(sid)}/export`;

describe('GET /api/sessions/<id>/export', () => {
  it('gives the closed flight as a signed bundle that egress verify calls intact', async () => {
    const head = await fetch(exportUrl(id), { method: 'HEAD', headers: { cookie } });
    expect(head.status).toBe(200);
    const res = await fetch(exportUrl(id), { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${id}.zip"`);
    const file = join(dataDir, 'downloaded.zip');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const v = egress(['verify', file]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/^intact: \d+ records, \d+ files, signed by [0-9a-f]{64}/);
  });

  it('is 404 for an unknown flight and for an id that is not one', async () => {
    for (const sid of ['gw1-20000101T000000000Z', '.hidden', 'a b', '..%2Fkeys']) {
      const res = await fetch(exportUrl(sid), { headers: { cookie } });
      expect(res.status, sid).toBe(404);
      expect(((await res.json()) as { code: string }).code).toBe('EGRESS_SESSION_UNKNOWN');
    }
  });

  it('is 409 while the flight is open', async () => {
    const s = egress(['session', 'start', '--name', 'still flying', '--data-dir', dataDir]);
    expect(s.code, s.stderr).toBe(0);
    const open = egress(['session', 'list', '--json', '--data-dir', dataDir])
      .stdout.split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { id: string; state: string });
    const flying = open.find((x) => x.state === 'open');
    expect(flying).toBeDefined();
    const res = await fetch(exportUrl(flying?.id ?? ''), { headers: { cookie } });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { code: string }).code).toBe('EGRESS_SESSION_STATE');
  });

  it('is 401 without the session cookie', async () => {
    const res = await fetch(exportUrl(id));
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).not.toBe('application/zip');
  });
});
