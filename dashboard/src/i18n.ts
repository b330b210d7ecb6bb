// Every string a person reads, in one catalogue per language (English in
// i18n-en.ts, Dutch in i18n-nl.ts), and the lookups over them. Reason texts
// are made here from the reason codes and the destination's fields, so both
// languages work from the same message. Country names come from the browser
// (Intl.DisplayNames), offline.

import { en, type MessageKey } from './i18n-en.js';
import { nl } from './i18n-nl.js';
import type { Dest, Severity, StatusProblemMsg } from './proto.js';

export type Lang = 'en' | 'nl';
export const CATALOGUES: Record<Lang, Record<MessageKey, string>> = { en, nl };

let current: Lang = 'en';

export function setLang(l: Lang): void {
  current = l;
  document.documentElement.lang = l;
}

export function lang(): Lang {
  return current;
}

export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  return CATALOGUES[current][key].replace(/\{(\w+)\}/g, (m, p: string) => (p in params ? String(params[p]) : m));
}

const regionNames: Partial<Record<Lang, Intl.DisplayNames>> = {};

/** "China" / "China" for "CN"; the code itself when the browser does not know it. */
export function countryName(code: string | null): string {
  if (code === null) return '?';
  regionNames[current] ??= new Intl.DisplayNames([current], { type: 'region' });
  try {
    return regionNames[current]?.of(code) ?? code;
  } catch {
    return code;
  }
}

/** The flag emoji of a country code (regional indicator symbols); always shown beside the code. */
export function flag(code: string | null): string {
  if (code === null || !/^[A-Z]{2}$/.test(code)) return '';
  return String.fromCodePoint(...[...code].map((c) => 0x1f1e6 + c.charCodeAt(0) - 65));
}

export function severityLabel(s: Severity): string {
  return t(`sev${s}` as MessageKey);
}

/** The plain-language reasons of an alert or flow, in the page's language. */
export function reasonText(code: string, d: Dest): string {
  const params = {
    country: `${countryName(d.country)} (${d.country ?? '?'})`,
    asCountry: `${countryName(d.asCountry)} (${d.asCountry ?? '?'})`,
    asn: d.asn === null ? '?' : `AS${d.asn}`,
    asOrg: d.asOrg ?? '?',
    name: d.names[0] ?? '?',
    code,
  };
  const key = `reason_${code}` as MessageKey;
  return key in en ? t(key, params) : t('reason_other', params);
}

const PROBLEMS = new Set(['capture_error', 'capture_stalled', 'capture_incomplete', 'spool_full', 'traffic_held']);

/**
 * Why the agent needs attention, in the page's language, from the status's
 * problem ids and facts; the agent's English `text` for an id this page does
 * not know (a newer agent) or when the agent sent no ids (an older one).
 */
export function problemLines(problems: readonly StatusProblemMsg[], text: string): string[] {
  if (problems.length === 0) return text && text !== 'ready' ? [text] : [];
  const known = problems.every((p) => PROBLEMS.has(p.id));
  if (!known) return [text];
  return problems.map((p) => t(`problem${p.id}` as MessageKey, { n: number(p.count), detail: p.detail }));
}

/** A preflight check's name, from the stable id the agent sends (`clock`, `evidence_key`…); an unknown id as sent. */
export function checkName(id: string): string {
  const key = `check_${id}` as MessageKey;
  return key in en ? t(key) : id;
}

const AGENT_REPLIES: [RegExp, MessageKey][] = [
  [/^flight (\S+) started$/, 'agentFlightStarted'],
  [/^flight (\S+) ended$/, 'agentFlightEnded'],
  [/^(\S+) added to the allow overlay$/, 'agentAllowed'],
  [/^(\S+) is already in the allow overlay$/, 'agentAllowedAlready'],
  [/^acknowledged (\d+) high-severity alert/, 'agentAcknowledged'],
];

/** The agent answers in English; the replies the page knows are said in the page's language. */
export function agentReply(message: string): string {
  for (const [re, key] of AGENT_REPLIES) {
    const m = re.exec(message);
    if (m) return t(key, { x: m[1] });
  }
  return message;
}

/** Local time, "14:03:12"; the UTC time goes in a title (hover). */
export function localTime(us: number): string {
  return new Date(us / 1000).toLocaleTimeString(current === 'nl' ? 'nl-NL' : 'en-GB');
}

export function utcTime(us: number): string {
  return `${new Date(us / 1000).toISOString().replace('T', ' ').slice(0, 19)} ${t('utc')}`;
}

export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0
    ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`
    : `${m}:${String(sec).padStart(2, '0')}`;
}

export function bytes(n: number): string {
  const f = new Intl.NumberFormat(current === 'nl' ? 'nl-NL' : 'en-GB', { maximumFractionDigits: 1 });
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${f.format(n / 1024)} KiB`;
  return `${f.format(n / 1024 / 1024)} MiB`;
}

export function number(n: number): string {
  return new Intl.NumberFormat(current === 'nl' ? 'nl-NL' : 'en-GB').format(n);
}
