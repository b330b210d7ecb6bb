// Controls: the active policy and the allow overlay, start/end flight
// (authenticated commands on cmd/<verb>, answered on reply/<verb>), and the
// flights with "Export evidence" for a closed one (GET
// /api/sessions/<id>/export; a 404 or 409 is said plainly).

import { useState } from 'preact/hooks';
import { duration, localTime, t, utcTime } from './i18n.js';
import { command } from './live.js';
import type { Store } from './store.js';

export function Controls({ store, onReply }: { store: Store; onReply: (ok: boolean, msg: string) => void }) {
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const st = store.status;
  const open = st?.session ? store.sessions.get(st.session) : undefined;
  const flightOpen = (st?.session ?? '') !== '';
  const run = async (verb: string, args: Record<string, string> = {}) => {
    setBusy(true);
    const r = await command(verb, args);
    setBusy(false);
    onReply(r.ok, r.message);
  };
  const sessions = [...store.sessions.values()].sort((a, b) => b.startUs - a.startUs);
  return (
    <section class="panel controls" aria-labelledby="ctl-h">
      <h2 id="ctl-h">{t('controls')}</h2>
      <dl class="facts">
        <div>
          <dt>{t('policy')}</dt>
          <dd data-testid="policy">{st?.policy || '—'}</dd>
        </div>
        <div>
          <dt>{t('allowOverlay')}</dt>
          <dd data-testid="overlay">
            {st && st.allowOverlay.length > 0 ? (
              <ul class="overlay">
                {st.allowOverlay.map((r) => (
                  <li key={r}>{r}</li>
                ))}
              </ul>
            ) : (
              t('allowOverlayEmpty')
            )}
          </dd>
        </div>
      </dl>
      <form
        class="flight"
        onSubmit={(e) => {
          e.preventDefault();
          run('start_flight', { name });
        }}
      >
        <label>
          {t('flightName')}{' '}
          <input
            value={name}
            maxLength={200}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
            data-testid="flight-name"
          />
        </label>
        <button type="submit" disabled={busy || flightOpen} data-testid="start-flight">
          {t('startFlight')}
        </button>
        <button type="button" disabled={busy || !flightOpen} onClick={() => run('end_flight')} data-testid="end-flight">
          {t('endFlight')}
        </button>
      </form>
      {open && <p class="muted">{open.id}</p>}
      {sessions.length > 0 && (
        <>
          <h3>{t('sessions')}</h3>
          <ul class="sessions" data-testid="sessions">
            {sessions.map((s) => (
              <li key={s.id}>
                <span title={utcTime(s.startUs)}>
                  {s.name || s.id} — {localTime(s.startUs)}
                  {s.endUs !== null && ` (${duration((s.endUs - s.startUs) / 1000)})`}
                </span>
                {!s.open && <ExportButton id={s.id} onReply={onReply} />}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function ExportButton({ id, onReply }: { id: string; onReply: (ok: boolean, msg: string) => void }) {
  const url = `/api/sessions/${encodeURIComponent(id)}/export`;
  const go = async () => {
    const res = await fetch(url, { method: 'HEAD', credentials: 'same-origin' });
    if (res.status === 404) onReply(false, t('exportMissing'));
    else if (res.status === 409) onReply(false, t('exportOpen'));
    else if (!res.ok) onReply(false, t('exportFailed', { status: res.status }));
    else location.assign(url);
  };
  return (
    <button type="button" class="small" onClick={go} data-testid="export">
      {t('exportEvidence')}
    </button>
  );
}
