// GET /api/history on the agent's HTTP server (behind its session cookie,
// agent/src/http/server.ts): the history panel's data (query.ts) and the
// writer's health. Absent (404) when the agent runs without --influx: the
// dashboard then hides the panel.
//
//   200 { configured, writer: { connected, error, counters }, ...HistoryAnswer }
//   503 { code: EGRESS_HISTORY_UNAVAILABLE | EGRESS_HISTORY_AUTH, message, writer }

import { type DashboardServer, json } from '../http/server.js';
import { queryHistory } from './query.js';
import type { HistorySink } from './sink.js';
import { historyError } from './writer.js';

export const HISTORY_PATH = /^\/api\/history$/;

export function addHistoryRoutes(server: DashboardServer, sink: HistorySink, gateway: string): void {
  server.route('GET', HISTORY_PATH, (_req, res) => {
    const w = sink.writer;
    const writer = { connected: w.lastError === null, error: w.lastError?.code ?? null, counters: w.counters };
    queryHistory(w.client, gateway)
      .then((answer) => json(res, 200, { configured: true, writer, ...answer }))
      .catch((err) => {
        const e = historyError(err, sink.target);
        json(res, 503, { configured: true, code: e.code, message: e.message, writer });
      });
  });
}
