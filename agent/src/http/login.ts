// The 401 page shown on every path without a valid session cookie: a form
// where the token printed at the agent's start can be typed (in English and
// Dutch; the page has no script, so both are shown). Its one inline <style>
// is allowed by hash in the CSP.

import { sha256Base64 } from './headers.js';

const STYLE = `body{font:18px/1.5 system-ui,sans-serif;background:#fff;color:#000;margin:0;display:flex;justify-content:center}
main{max-width:32rem;padding:2rem}h1{font-size:1.5rem}label{display:block;font-weight:600;margin-top:1rem}
input{font:inherit;width:100%;box-sizing:border-box;padding:.5rem;border:2px solid #000}
button{font:inherit;margin-top:1rem;padding:.5rem 1.5rem;border:2px solid #000;background:#003d80;color:#fff}
button:focus,input:focus{outline:3px solid #b35c00;outline-offset:2px}.err{border-left:6px solid #b00020;padding-left:.75rem}
@media (prefers-color-scheme:dark){body{background:#111;color:#fff}input,button{border-color:#fff}}`;

export const LOGIN_STYLE_HASH = sha256Base64(STYLE);

export function loginPage(wrongToken: boolean): string {
  const err = wrongToken
    ? '<p class="err" role="alert"><strong>⚠ Wrong token.</strong> / <strong>Onjuist token.</strong></p>'
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Egress Sentinel — log in</title><style>${STYLE}</style></head>
<body><main>
<h1>Egress Sentinel</h1>
<p>This dashboard needs the viewer token that the agent printed when it started (or see <code>secrets.json</code> in its data directory; when the operator set <code>EGRESS_DASHBOARD_TOKEN</code>, it is that value and is not stored).</p>
<p lang="nl">Dit dashboard vraagt het kijkerstoken dat de agent bij het starten toonde (of zie <code>secrets.json</code> in de datamap; als de beheerder <code>EGRESS_DASHBOARD_TOKEN</code> heeft gezet, is het die waarde en wordt het niet bewaard).</p>
${err}
<form method="post" action="/login">
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Log in / Inloggen</button>
</form>
</main></body></html>
`;
}
