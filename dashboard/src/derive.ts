// Small questions the views ask of the store.

import { command } from './live.js';
import type { Store } from './store.js';

export function countUnacknowledged(store: Store): number {
  let n = 0;
  for (const e of store.alerts.values()) if (!e.acknowledged && (e.severity === 'high' || e.severity === 'medium')) n++;
  return n;
}

/**
 * Acknowledge one alert (or all, key null) on the page; once no high-severity
 * alert is left unacknowledged and the gateway's red light is latched, send
 * cmd/acknowledge so the light and the buzzer go off too.
 */
export async function acknowledge(
  store: Store,
  key: string | null,
  onReply: (ok: boolean, msg: string) => void,
): Promise<void> {
  if (key === null) store.acknowledgeAll();
  else store.acknowledge(key);
  for (const e of store.alerts.values()) if (e.severity === 'high' && !e.acknowledged) return;
  if (!store.status?.alertLatched) return;
  const r = await command('acknowledge');
  onReply(r.ok, r.message);
}
