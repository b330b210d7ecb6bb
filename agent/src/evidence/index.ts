// What other stages (the dashboard's HTTP server, the GPIO button) use of the
// evidence stage: list sessions, export one, verify a bundle.

export { exportSession, exportSessionBytes } from './export.js';
export { listSessions, openSessionId, readMeta, type SessionMeta } from './session-store.js';
export { verifyBundle } from './verify.js';
