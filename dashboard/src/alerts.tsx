// The alert feed, newest first: one entry per destination with a repeat
// count, severity as icon + word + colour, names, country and network, the
// reasons in the page's language, first/last seen, acknowledge and allow.

import { useState } from 'preact/hooks';
import { acknowledge, countUnacknowledged } from './derive.js';
import { emptyAlerts } from './empty-alerts.js';
import { countryName, flag, localTime, reasonText, t, utcTime } from './i18n.js';
import { SeverityBadge } from './icons.js';
import { command } from './live.js';
import type { AlertEntry, Store } from './store.js';

/** Entries in the DOM; the rest are counted (keeps layout cheap at 1,000 alerts/s). */
const SHOWN = 50;

export function AlertFeed({ store, onReply }: { store: Store; onReply: (ok: boolean, msg: string) => void }) {
  const list = store.alertList();
  const open = countUnacknowledged(store);
  return (
    <section class="panel alerts" id="alerts" aria-labelledby="alerts-h">
      <div class="panel-head">
        <h2 id="alerts-h">
          {t('alerts')} <span class="count">{list.length}</span>
        </h2>
        {open > 0 && (
          <button type="button" onClick={() => acknowledge(store, null, onReply)} data-testid="ack-all">
            {t('acknowledgeAll')}
          </button>
        )}
      </div>
      {list.length === 0 ? (
        <p class="empty" data-testid="no-alerts">
          {emptyText(store)}
        </p>
      ) : (
        <ol class="alert-list" data-testid="alert-list">
          {list.slice(0, SHOWN).map((e) => (
            <AlertItem key={e.key} e={e} store={store} onReply={onReply} />
          ))}
        </ol>
      )}
      {list.length > SHOWN && (
        <p class="muted" data-testid="alerts-more">
          {t('alertsMore', { n: list.length - SHOWN })}
        </p>
      )}
    </section>
  );
}

/** The empty list's sentence (empty-alerts.ts). */
function emptyText(store: Store): string {
  const e = emptyAlerts(store.status);
  return e.key === 'noAlertsLatched' ? t(e.key, { n: e.n }) : t(e.key);
}

function AlertItem({
  e,
  store,
  onReply,
}: {
  e: AlertEntry;
  store: Store;
  onReply: (ok: boolean, msg: string) => void;
}) {
  const [busy, setBusy] = useState(false);
  const d = e.dest;
  const denied = e.reasons.some((r) => r.startsWith('deny_'));
  const allowTarget = d.names[0] ?? e.destIp;
  const allow = async () => {
    setBusy(true);
    const r = await command('allow', { destination: allowTarget });
    setBusy(false);
    onReply(r.ok, r.message);
  };
  return (
    <li
      class={`alert alert-${e.severity}${e.acknowledged ? ' acked' : ''}`}
      data-testid="alert"
      data-dest={e.destIp}
      data-severity={e.severity}
      data-kind={e.kind}
    >
      <div class="alert-top">
        <SeverityBadge s={e.severity} />
        {e.kind === 'lookup' && (
          <span class="kind" data-testid="alert-kind">
            {t('lookupLabel')}
          </span>
        )}
        <span class="alert-name" data-testid="alert-name">
          {d.names.length > 0 ? d.names.join(', ') : <em>{t('unknownName')}</em>}
        </span>
        {e.count > 1 && (
          <span class="repeat" title={t('repeatsTitle', { n: e.count })} data-testid="repeat">
            {t('repeats', { n: e.count })}
          </span>
        )}
      </div>
      {e.kind === 'lookup' && (
        <div class="alert-where" data-testid="alert-lookup">
          {t('lookupWhere', { client: e.srcIp, resolver: e.destIp })}
        </div>
      )}
      <div class="alert-where">
        <span class="addr">
          {e.destIp}
          {e.destPort !== null ? `:${e.destPort}` : ''} {e.proto}
          {e.appProto ? `/${e.appProto}` : ''}
        </span>{' '}
        <span class="country" data-testid="alert-country" data-country={d.country ?? ''}>
          <span aria-hidden="true">{flag(d.country)}</span> {countryName(d.country)} ({d.country ?? '?'})
        </span>
        {' · '}
        <span class="net">
          {d.asn !== null ? `AS${d.asn} ` : ''}
          {d.asOrg ?? t('unknownNetwork')}
          {d.asCountry ? ` (${d.asCountry})` : ''}
        </span>
      </div>
      <ul class="reasons">
        {e.reasons.map((r) => (
          <li key={r}>{reasonText(r, d)}</li>
        ))}
        {e.namesHiddenBy.length > 0 && <li>{t('namesHidden', { list: e.namesHiddenBy.join(', ') })}</li>}
      </ul>
      <div class="alert-foot">
        <span class="when">
          {t('firstSeen')} <time title={utcTime(e.firstUs)}>{localTime(e.firstUs)}</time>
          {e.count > 1 && (
            <>
              {' · '}
              {t('lastSeen')} <time title={utcTime(e.lastUs)}>{localTime(e.lastUs)}</time>
            </>
          )}
        </span>
        <span class="actions">
          <button
            type="button"
            disabled={busy || denied}
            title={denied ? t('allowDenied') : undefined}
            onClick={allow}
            data-testid="allow"
          >
            {t('allowThis')}
          </button>
          <button
            type="button"
            disabled={e.acknowledged}
            onClick={() => acknowledge(store, e.key, onReply)}
            data-testid="ack"
          >
            {e.acknowledged ? t('acknowledged') : t('acknowledge')}
          </button>
        </span>
      </div>
    </li>
  );
}
