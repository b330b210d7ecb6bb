// Every error code the agent can report is documented for operators in
// docs/errors.md, with the exit status the CLI really gives for it.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EgressError, ErrorCode, exitCodeFor } from '../../agent/src/errors.js';
import { ROOT } from '../support/cli.js';

const doc = readFileSync(`${ROOT}docs/errors.md`, 'utf8');

/** The table rows: code → the last column (exit status, or — when the code is not an exit). */
function rows(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of doc.split('\n')) {
    const m = /^\| `(EGRESS_[A-Z_]+)` \|.*\| ([^|]+) \|$/.exec(line);
    if (m) out.set(m[1], m[2].trim());
  }
  return out;
}

describe('docs/errors.md', () => {
  const table = rows();

  it.each(Object.values(ErrorCode))('documents %s with its exit status', (code) => {
    expect(table.has(code), `${code} has no row in docs/errors.md`).toBe(true);
    const exit = table.get(code);
    if (exit === '—') return; // reported in a reply or a log, not as an exit status
    expect(Number(exit)).toBe(exitCodeFor(new EgressError(code, 'x')));
  });

  it('documents no code the agent does not have', () => {
    const known = new Set<string>(Object.values(ErrorCode));
    expect([...table.keys()].filter((c) => !known.has(c))).toEqual([]);
  });
});
