// The gateway's preflight in the banner, as its green light shows it, with
// the checks to fix folded under "what to do". Each check's fix is said in
// the page's language from the id and facts the agent sends (status field
// 35, i18n-fix.ts); a fix this page cannot say (a newer agent's id, an older
// agent without ids) is the agent's own English line, marked as English.

import { checkName, t } from './i18n.js';
import { preflightItems } from './i18n-fix.js';
import type { StatusMsg } from './proto.js';

export function Preflight({ st }: { st: StatusMsg | null }) {
  if (!st?.preflight) return <>{t('preflightNone')}</>;
  if (st.preflight === 'pass') return <>{t('preflightPass')}</>;
  // Each problem line starts with the check's id ("clock: …"); the page names the check in its language.
  const list = st.preflightProblems.map((p) => checkName(p.split(':')[0] ?? '')).join(', ');
  const shown = preflightItems(st);
  const english = shown.some((i) => 'english' in i);
  return (
    <>
      <strong class="warn">⚠ {t(st.preflight === 'warn' ? 'preflightWarn' : 'preflightFail', { list })}</strong>
      <details data-testid="preflight-fixes">
        <summary>{t(english ? 'preflightDetailsEnglish' : 'preflightDetails')}</summary>
        <ul class="problems">
          {shown.map((i, n) =>
            'english' in i ? (
              // The agent's own line (English): marked so a screen reader reads it as English on the Dutch page.
              <li key={n} lang="en" data-check={i.id}>
                {i.english}
              </li>
            ) : (
              <li key={n} data-check={i.id} data-fix-id={i.fixId}>
                <span class="check-name">{checkName(i.id)}:</span>{' '}
                {i.parts.map((p, k) => (p.code ? <code key={k}>{p.text}</code> : p.text))}
              </li>
            ),
          )}
        </ul>
      </details>
    </>
  );
}
