// Security headers on every response of the dashboard server: a strict
// Content-Security-Policy (CSP Level 3: no inline script, no eval, nothing
// from another origin, no framing), no MIME sniffing, no Referer (the
// address may have carried the token), and no caching of anything that is
// not a content-hashed asset.

import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';

const BASE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
];

/** The policy for the app; `styleHash` allows one inline <style> (the login page). */
export function csp(styleHash?: string): string {
  const style = styleHash === undefined ? "style-src 'self'" : `style-src 'sha256-${styleHash}'`;
  return [...BASE_CSP, style].join('; ');
}

export function sha256Base64(text: string): string {
  return createHash('sha256').update(text).digest('base64');
}

export function setSecurityHeaders(res: ServerResponse, styleHash?: string): void {
  res.setHeader('Content-Security-Policy', csp(styleHash));
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), usb=(), serial=()');
}
