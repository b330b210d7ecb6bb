// The page: banner on top; alerts beside the map and timeline; all
// connections; controls. Language, theme and reduced motion are chosen in
// the header and kept in localStorage.

import { useEffect, useState } from 'preact/hooks';
import { AlertFeed } from './alerts.js';
import { Banner } from './banner.js';
import { Connections } from './connections.js';
import { Controls } from './controls.js';
import { HistoryPanel } from './history.js';
import { agentReply, type Lang, setLang, t } from './i18n.js';
import { WorldMap } from './map.js';
import { store } from './store.js';
import { Timeline } from './timeline.js';

type Theme = 'day' | 'night';

function saved<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
  const v = localStorage.getItem(key);
  return (allowed as readonly string[]).includes(v ?? '') ? (v as T) : fallback;
}

const params = new URLSearchParams(location.search);
const HOME = /^[A-Z]{2}$/.test(params.get('home') ?? '') ? (params.get('home') as string) : 'NL';

export function App() {
  const [, setVersion] = useState(0);
  const [now, setNow] = useState(Date.now());
  const [lang, setLangState] = useState<Lang>(() =>
    saved('egress.lang', ['en', 'nl'], navigator.language.startsWith('nl') ? 'nl' : 'en'),
  );
  const [theme, setTheme] = useState<Theme>(() => saved('egress.theme', ['day', 'night'], 'day'));
  const [reply, setReply] = useState<{ ok: boolean; msg: string } | null>(null);
  setLang(lang);
  useEffect(() => store.subscribe(() => setVersion(store.version)), []);
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(id);
  }, []);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem('egress.theme', theme);
  }, [theme]);
  useEffect(() => localStorage.setItem('egress.lang', lang), [lang]);
  const onReply = (ok: boolean, msg: string) => setReply({ ok, msg });
  return (
    <>
      <a class="skip" href="#alerts">
        {t('skipToAlerts')}
      </a>
      <header class="top">
        <h1>{t('title')}</h1>
        <div class="prefs">
          <fieldset class="seg">
            <legend class="sr-only">{t('language')}</legend>
            {(['en', 'nl'] as const).map((l) => (
              <button
                key={l}
                type="button"
                aria-pressed={lang === l}
                onClick={() => setLangState(l)}
                data-testid={`lang-${l}`}
              >
                {l === 'en' ? 'English' : 'Nederlands'}
              </button>
            ))}
          </fieldset>
          <fieldset class="seg">
            <legend class="sr-only">{t('theme')}</legend>
            {(['day', 'night'] as const).map((th) => (
              <button key={th} type="button" aria-pressed={theme === th} onClick={() => setTheme(th)}>
                {th === 'day' ? t('themeDay') : t('themeNight')}
              </button>
            ))}
          </fieldset>
        </div>
      </header>
      <main>
        <Banner store={store} now={now} onReply={onReply} />
        <div class="reply" role="status" aria-live="polite" data-testid="reply" data-ok={reply ? String(reply.ok) : ''}>
          {reply &&
            (reply.ok
              ? t('replyOk', { message: agentReply(reply.msg) })
              : t('replyRefused', { message: agentReply(reply.msg) }))}
        </div>
        <div class="grid">
          <AlertFeed store={store} onReply={onReply} />
          <div class="side">
            <WorldMap store={store} home={HOME} tick={Math.floor(now / 1000)} />
            <Timeline store={store} tick={Math.floor(now / 1000)} />
          </div>
        </div>
        <Connections store={store} now={now} />
        <HistoryPanel store={store} />
        <Controls store={store} onReply={onReply} />
      </main>
      <footer>
        <a href="https://db-ip.com" rel="noopener noreferrer" target="_blank">
          {t('attribution')}
        </a>
      </footer>
    </>
  );
}
