// What the alert list says when it is empty. It never claims more than the
// page knows: when the capture missed packets, or when the gateway still
// holds high alerts from before the page opened (its red light latched), an
// empty list is not "nothing left". DOM-free, so the unit tests import it.

import type { StatusMsg } from './proto.js';

export type EmptyAlerts = { key: 'noAlerts' } | { key: 'noAlertsIncomplete' } | { key: 'noAlertsLatched'; n: number };

export function emptyAlerts(st: StatusMsg | null | undefined): EmptyAlerts {
  if (st?.captureIncomplete) return { key: 'noAlertsIncomplete' };
  if (st?.alertLatched && st.state !== 'offline') return { key: 'noAlertsLatched', n: st.alertsUnacknowledged };
  return { key: 'noAlerts' };
}
