// The status banner: ready / capturing / ALERT at a glance (ALERT also while
// the gateway's red light is latched, with the button that acknowledges it
// there), then capture health, clock, geo database, broker connection,
// gateway, the gateway's preflight and the flight.

import { CaptureIncomplete } from './capture-gap.js';
import { acknowledge, countUnacknowledged } from './derive.js';
import { duration, localTime, number, problemLines, t, utcTime } from './i18n.js';
import { SeverityIcon } from './icons.js';
import { Preflight } from './preflight.js';
import type { Store } from './store.js';

export function Banner({
  store,
  now,
  onReply,
}: {
  store: Store;
  now: number;
  onReply: (ok: boolean, msg: string) => void;
}) {
  const st = store.status;
  const stats = store.stats;
  const open = countUnacknowledged(store);
  const capturing = stats?.capture
    ? stats.capture.lastPacketAgeMs !== null && stats.capture.lastPacketAgeMs < 10_000
    : stats !== null && store.statsAtMs > now - 15_000 && stats.packets > 0;
  let state: 'alert' | 'offline' | 'degraded' | 'capturing' | 'ready' | 'connecting';
  if (open > 0 || st?.alertLatched) state = 'alert';
  else if (store.broker !== 'connected') state = 'connecting';
  else if (st === null || st.state === 'offline') state = 'offline';
  else if (st.state === 'degraded') state = 'degraded';
  else state = capturing ? 'capturing' : 'ready';
  const label = {
    alert: t('stateAlert'),
    offline: t('stateOffline'),
    degraded: t('stateDegraded'),
    capturing: t('stateCapturing'),
    ready: t('stateReady'),
    connecting: t('stateConnecting'),
  }[state];
  const drops = stats?.capture?.kernelDrops ?? 0;
  const session = st?.session ? store.sessions.get(st.session) : undefined;
  // Database versions carry their date (…2026061719 → 2026-06-17); the full names go in the title.
  const geoFull = st ? Object.entries(st.databases).map(([k, v]) => `${k} ${v}`) : [];
  const geoDates = [
    ...new Set(
      geoFull.map((v) => /(20\d\d)(\d\d)(\d\d)\d{0,2}$/.exec(v)).flatMap((m) => (m ? [`${m[1]}-${m[2]}-${m[3]}`] : [])),
    ),
  ];
  return (
    <section class={`banner banner-${state}`} aria-label={t('title')} data-acknowledgements={st?.acknowledgements}>
      <div class="banner-state" role="status" aria-live="polite">
        <span class="banner-word">
          <SeverityIcon
            s={state === 'alert' ? 'high' : state === 'ready' || state === 'capturing' ? 'allowed' : 'medium'}
          />
          {label}
        </span>
        {open > 0 && <span class="banner-sub">{t('alertsOpen', { n: open })}</span>}
        {st?.state === 'degraded' &&
          problemLines(st.problems, st.text).map((line) => (
            <span class="banner-sub" data-testid="problem" key={line}>
              {line}
            </span>
          ))}
        {st?.alertLatched && st.state !== 'offline' && (
          <span class="banner-sub" data-testid="latched">
            {t('latched', { n: st.alertsUnacknowledged })}{' '}
            <button type="button" onClick={() => acknowledge(store, null, onReply)} data-testid="ack-gateway">
              {t('ackGateway')}
            </button>
          </span>
        )}
      </div>
      <dl class="facts">
        <div>
          <dt>{t('capture')}</dt>
          <dd>
            {stats ? t('packets', { n: number(stats.capture?.packets ?? stats.packets) }) : '—'}
            {stats?.capture && (
              <>
                {' · '}
                {stats.capture.lastPacketAgeMs === null
                  ? t('noPacketYet')
                  : t('lastPacket', { age: duration(stats.capture.lastPacketAgeMs + (now - store.statsAtMs)) })}
              </>
            )}
            <br />
            {st?.captureIncomplete ? (
              <CaptureIncomplete gap={st.lastCaptureGap} drops={drops} />
            ) : drops > 0 ? (
              <span class="muted" data-testid="drops">
                {t('dropsEarlier', { n: number(drops) })}
              </span>
            ) : (
              <span class="muted">{t('noDrops')}</span>
            )}
          </dd>
        </div>
        <div>
          <dt>{t('clock')}</dt>
          <dd>
            {st?.clockSynchronised === true ? (
              t('clockSynced')
            ) : st?.clockSynchronised === false ? (
              <strong class="warn">⚠ {t('clockNotSynced')}</strong>
            ) : (
              t('clockUnknown')
            )}
          </dd>
        </div>
        <div>
          <dt>{t('geoDb')}</dt>
          <dd title={geoFull.join('\n')} data-testid="geo-db">
            {geoDates.length > 0 ? geoDates.join(', ') : geoFull.length > 0 ? geoFull.length : '—'}
          </dd>
        </div>
        <div>
          <dt>{t('broker')}</dt>
          <dd data-testid="broker" data-state={store.broker}>
            {t(`broker${store.broker}`)}
          </dd>
        </div>
        <div>
          <dt>{t('gateway')}</dt>
          <dd>
            {store.gateway || '—'}
            {st?.agentVersion ? <span class="muted"> v{st.agentVersion}</span> : null}
          </dd>
        </div>
        <div>
          <dt>{t('preflight')}</dt>
          <dd data-testid="preflight" data-result={st?.preflight ?? ''}>
            <Preflight st={st} />
          </dd>
        </div>
        <div>
          <dt>{t('flight')}</dt>
          <dd data-testid="flight">
            {session?.open ? (
              <span title={utcTime(session.startUs)}>
                {t('flightOpen', {
                  name: session.name || session.id,
                  duration: duration(now - session.startUs / 1000),
                })}{' '}
                <span class="muted">({localTime(session.startUs)})</span>
              </span>
            ) : st?.session ? (
              st.session
            ) : (
              t('noFlight')
            )}
          </dd>
        </div>
      </dl>
    </section>
  );
}
