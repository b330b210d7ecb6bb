// The preflight's checks as the banner lists them (preflight.tsx): for each
// check that warned or failed, what it saw (i18n-seen.ts) and what to do
// (i18n-fix.ts), each said in the page's language from the ids and facts the
// agent sends (status field 35), or the agent's English where the page cannot
// (a newer agent's id, a summary that is a program's own message), marked as
// English by the page. An older agent sends no ids: its English lines.

import { type FixPart, fixParts } from './i18n-fix.js';
import { summaryParts } from './i18n-seen.js';
import type { StatusMsg } from './proto.js';

/** Something the page says in its language (the catalogue's id), or the agent's English. */
export type Said = { key: string; parts: FixPart[] } | { english: string };

/**
 * One check under the preflight's details: what it saw and what to do, each
 * said by the page or the agent's English; or, from an older agent without
 * ids, its whole English line.
 */
export type PreflightItem = { id: string; seen: Said; fix: Said | null } | { id: string; english: string };

/** The checks to fix, from the status: ids and facts when the agent sends them, else its English lines. */
export function preflightItems(st: Pick<StatusMsg, 'preflightChecks' | 'preflightProblems'>): PreflightItem[] {
  if (st.preflightChecks.length === 0)
    return st.preflightProblems.map((p) => ({ id: p.split(':')[0] ?? '', english: p }));
  return st.preflightChecks.map((c) => {
    // summaryId is undefined from a status decoded before the field existed (tests' hand-made messages).
    const seenParts = c.summaryId ? summaryParts(c.summaryId, c.summaryFacts ?? {}) : null;
    const fixSaid = c.fixId === '' ? null : fixParts(c.fixId, c.fixFacts);
    const seen: Said = seenParts ? { key: c.summaryId, parts: seenParts } : { english: c.summary };
    const fix: Said | null = fixSaid ? { key: c.fixId, parts: fixSaid } : c.fix ? { english: c.fix } : null;
    return { id: c.id, seen, fix };
  });
}
