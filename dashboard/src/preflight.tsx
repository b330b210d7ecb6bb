// The gateway's preflight in the banner, as its green light shows it, with
// the checks to fix folded under "what the gateway saw and what to do". For
// each check, what it saw and its fix are said in the page's language from
// the ids and facts the agent sends (status field 35, preflight-items.ts); a
// part this page cannot say (a newer agent's id, a summary that is a
// program's own message, an older agent without ids) is the agent's own
// English, marked as English so a screen reader reads it as such.

import { checkName, t } from './i18n.js';
import { type PreflightItem, preflightItems, type Said } from './preflight-items.js';
import type { StatusMsg } from './proto.js';

function SaidText({ s, cls }: { s: Said; cls: string }) {
  if ('english' in s)
    return (
      <span class={cls} lang="en">
        {s.english}
      </span>
    );
  return <span class={cls}>{s.parts.map((p, k) => (p.code ? <code key={k}>{p.text}</code> : p.text))}</span>;
}

function Item({ i }: { i: PreflightItem }) {
  // An older agent: only its whole English line.
  if ('english' in i)
    return (
      <li lang="en" data-check={i.id}>
        {i.english}
      </li>
    );
  return (
    <li
      data-check={i.id}
      data-seen-id={'key' in i.seen ? i.seen.key : undefined}
      data-fix-id={i.fix && 'key' in i.fix ? i.fix.key : undefined}
    >
      <span class="check-name">{checkName(i.id)}:</span> <SaidText s={i.seen} cls="seen" />{' '}
      {i.fix && (
        <span class="fix">
          <span class="fix-label">{t('preflightFixLabel')}</span> <SaidText s={i.fix} cls="fix-text" />
        </span>
      )}
    </li>
  );
}

/** Whether any part of the list is the agent's English. */
function anyEnglish(items: PreflightItem[]): boolean {
  return items.some((i) => 'english' in i || 'english' in i.seen || (i.fix !== null && 'english' in i.fix));
}

export function Preflight({ st }: { st: StatusMsg | null }) {
  if (!st?.preflight) return <>{t('preflightNone')}</>;
  if (st.preflight === 'pass') return <>{t('preflightPass')}</>;
  // Each problem line starts with the check's id ("clock: …"); the page names the check in its language.
  const list = st.preflightProblems.map((p) => checkName(p.split(':')[0] ?? '')).join(', ');
  const shown = preflightItems(st);
  return (
    <>
      <strong class="warn">⚠ {t(st.preflight === 'warn' ? 'preflightWarn' : 'preflightFail', { list })}</strong>
      <details data-testid="preflight-fixes">
        <summary>{t(anyEnglish(shown) ? 'preflightDetailsEnglish' : 'preflightDetails')}</summary>
        <ul class="problems">
          {shown.map((i, n) => (
            <Item key={n} i={i} />
          ))}
        </ul>
      </details>
    </>
  );
}
