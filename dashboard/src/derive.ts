// Small questions the views ask of the store.

import type { Store } from './store.js';

export function countUnacknowledged(store: Store): number {
  let n = 0;
  for (const e of store.alerts.values()) if (!e.acknowledged && (e.severity === 'high' || e.severity === 'medium')) n++;
  return n;
}
