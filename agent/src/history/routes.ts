// GET /api/history on the agent's HTTP server (behind its session cookie,
// agent/src/http/server.ts): the history panel's data (query.ts) and the
// writer's health. Absent (404) when the agent runs without --influx: the
// dashboard then hides the panel.
//
//   200 { configured, writer: { connected, error, counters }, ...HistoryAnswer }
//   503 { code: EGRESS_HISTORY_UNAVAILABLE | EGRESS_HISTORY_AUTH, message, writer }

import { readMeta } from '../evidence/index.js';
import { type DashboardServer, json } from '../http/server.js';
import { queryHistory } from './query.js';
import type { HistorySink } from './sink.js';
import { historyError } from './writer.js';

export const HISTORY_PATH = /^\/api\/history$/;

export function addHistoryRoutes(server: DashboardServer, sink: HistorySink, gateway: string, dataDir: string): void {
  server.route('GET', HISTORY_PATH, (_req, res) => {
    const w = sink.writer;
    const writer = { connected: w.lastError === null, error: w.lastError?.code ?? null, counters: w.counters };
    queryHistory(w.client, gateway)
      .then((answer) => {
        // Names and start times of this gateway's flights, where its data directory still has them.
        const sessions = answer.sessions.map((s) => ({ ...s, ...flight(dataDir, s.session) }));
        json(res, 200, { configured: true, writer, ...answer, sessions });
      })
      .catch((err) => {
        const e = historyError(err, sink.target);
        json(res, 503, { configured: true, code: e.code, message: e.message, writer });
      });
  });
}

function flight(dataDir: string, id: string): { name: string; start: string | null } {
  if (id === '') return { name: '', start: null };
  try {
    const m = readMeta(dataDir, id);
    return { name: m.name, start: m.start };
  } catch {
    return { name: '', start: null }; // a flight of another data directory, or removed since
  }
}
