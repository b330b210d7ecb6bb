// Dashboard access: the viewer token (the MQTT password of egress-viewer)
// becomes an HttpOnly, SameSite=Strict session cookie (RFC 6265bis §4.1.2.7)
// after `/?token=T` or the login form; without a valid cookie every path,
// the WebSocket upgrade on /mqtt included, answers 401 with a login page.
//
// The cookie value is an HMAC of a fixed label keyed with the token, so it is
// stateless (no session table to bound), survives an agent restart with the
// same token (the page reconnects by itself), and changes when the token does.

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const SESSION_COOKIE = 'egress_session';
const LABEL = 'egress-sentinel dashboard session v1';

/** The cookie value a browser holds after logging in with `token`. */
export function sessionValue(token: string): string {
  return createHmac('sha256', token).update(LABEL).digest('base64url');
}

/** Set-Cookie for a logged-in browser: not readable by scripts, never sent by other sites. */
export function sessionCookie(token: string): string {
  return `${SESSION_COOKIE}=${sessionValue(token)}; Path=/; HttpOnly; SameSite=Strict`;
}

/** Whether the request carries the session cookie for `token`. */
export function hasSession(req: IncomingMessage, token: string): boolean {
  const header = req.headers.cookie;
  if (header === undefined) return false;
  const expected = Buffer.from(sessionValue(token));
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    // Stryker disable next-line ConditionalExpression,EqualityOperator: without '=' the whole part would be the value, never the 43-character HMAC
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const presented = Buffer.from(part.slice(eq + 1).trim());
    if (presented.length === expected.length && timingSafeEqual(presented, expected)) return true;
  }
  return false;
}

/** Constant-time check of a presented token. */
export function tokenMatches(presented: string, token: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A WebSocket handshake from a page of another origin is refused even when
 * the browser would send the cookie (cross-site WebSocket hijacking): the
 * Origin header, when present, must name the Host the request was sent to.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
