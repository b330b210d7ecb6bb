// The dashboard's evidence download: GET /api/sessions/<id>/export gives the
// closed flight's signed bundle (agent/src/evidence/export.ts), the same
// bytes `egress export` writes. HEAD answers whether the download would work
// without building the bundle (the page asks before it navigates).
//
//   200 the bundle (application/zip, attachment)
//   404 no such flight in this data directory
//   409 the flight is still open (end it first)
//   500 the flight's log is damaged (`egress verify` on the files says where)

import type { ServerResponse } from 'node:http';
import { EgressError, ErrorCode } from '../errors.js';
import { exportSessionBytes, readMeta } from '../evidence/index.js';
import { type DashboardServer, json } from './server.js';

const EXPORT_PATH = /^\/api\/sessions\/([^/]+)\/export$/;

/** Serve the evidence bundles of DATA_DIR's flights on `server`. */
export function addEvidenceRoutes(server: DashboardServer, dataDir: string): void {
  server.route('GET', EXPORT_PATH, (req, res, match) => {
    let id: string;
    try {
      id = decodeURIComponent(match[1] ?? '');
    } catch {
      json(res, 404, { code: ErrorCode.SESSION_UNKNOWN, message: 'not a session id' });
      return;
    }
    try {
      const meta = readMeta(dataDir, id);
      if (meta.state !== 'closed') {
        json(res, 409, { code: ErrorCode.SESSION_STATE, message: `flight ${id} is still open; end it first` });
        return;
      }
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'content-type': 'application/zip' }).end();
        return;
      }
      const zip = exportSessionBytes(dataDir, id);
      res
        .writeHead(200, {
          'content-type': 'application/zip',
          'content-length': zip.length,
          'content-disposition': `attachment; filename="${id}.zip"`,
          'cache-control': 'no-store',
        })
        .end(zip);
    } catch (err) {
      failed(res, err);
    }
  });
}

function failed(res: ServerResponse, err: unknown): void {
  if (!(err instanceof EgressError)) {
    json(res, 500, { message: String(err) });
    return;
  }
  const status = err.code === ErrorCode.SESSION_UNKNOWN ? 404 : err.code === ErrorCode.SESSION_STATE ? 409 : 500;
  json(res, status, { code: err.code, message: err.message });
}
