// The allow overlay: destinations a team allowed from the dashboard (the
// `allow` command), kept apart from the operator's policy file, which is
// never written. One JSON line per entry in DATA_DIR/allow-overlay.ndjson
// ({"ts":"…","rule":"maps.example.nl"}), appended with mode 0600, applied
// to the live policy on top of its allow rules at every start. Deny still
// beats allow (DESIGN.md, "Policy file"): allowing a denied destination
// changes nothing, and the reply says so. Bounded: MAX_OVERLAY entries.

import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EgressError, ErrorCode } from '../errors.js';
import { parseCidr } from './cidr.js';
import { isValidDomainRule, normaliseName } from './domains.js';
import type { Policy } from './policy.js';

export const OVERLAY_FILE = 'allow-overlay.ndjson';
export const MAX_OVERLAY = 1000;

export class AllowOverlay {
  private readonly rules: string[] = [];

  private constructor(
    private readonly file: string,
    private readonly policy: Policy,
  ) {}

  /** Read DIR/allow-overlay.ndjson (if any) and apply it to `policy`. */
  static load(dir: string, policy: Policy): AllowOverlay {
    const overlay = new AllowOverlay(join(dir, OVERLAY_FILE), policy);
    if (!existsSync(overlay.file)) return overlay;
    const lines = readFileSync(overlay.file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      let rule: unknown;
      try {
        rule = (JSON.parse(line) as { rule?: unknown }).rule;
      } catch {
        rule = undefined;
      }
      const parsed = typeof rule === 'string' ? parseRule(rule) : null;
      if (parsed === null)
        throw new EgressError(ErrorCode.POLICY_INVALID, `${overlay.file} line ${i + 1} is not an allow entry`, {
          file: overlay.file,
          line: i + 1,
        });
      overlay.apply(parsed);
    });
    return overlay;
  }

  /** The entries, oldest first. */
  entries(): string[] {
    return [...this.rules];
  }

  /** Allow a name ("maps.example.nl", "*.example.nl"), an address or a CIDR; returns the rule as stored. */
  add(value: string, nowMs = Date.now()): { rule: string; added: boolean } {
    const parsed = parseRule(value);
    if (parsed === null)
      throw new EgressError(ErrorCode.COMMAND_REJECTED, `"${value.slice(0, 100)}" is not a name, address or CIDR`);
    if (this.rules.includes(parsed.rule)) return { rule: parsed.rule, added: false };
    if (this.rules.length >= MAX_OVERLAY)
      throw new EgressError(ErrorCode.COMMAND_REJECTED, `the allow overlay is full (${MAX_OVERLAY} entries)`);
    appendFileSync(this.file, `${JSON.stringify({ ts: new Date(nowMs).toISOString(), rule: parsed.rule })}\n`, {
      mode: 0o600,
    });
    this.apply(parsed);
    return { rule: parsed.rule, added: true };
  }

  private apply(p: { rule: string; kind: 'domain' | 'cidr' }): void {
    if (this.rules.includes(p.rule)) return;
    this.rules.push(p.rule);
    if (p.kind === 'domain') this.policy.allowDomains.add(p.rule);
    else {
      const c = parseCidr(p.rule);
      if (c !== null) this.policy.allowCidrs.push(c);
    }
  }
}

function parseRule(value: string): { rule: string; kind: 'domain' | 'cidr' } | null {
  const v = value.trim();
  if (v.length === 0 || v.length > 253) return null;
  const c = parseCidr(v);
  if (c !== null) return { rule: c.text, kind: 'cidr' };
  if (isValidDomainRule(v)) return { rule: normaliseName(v), kind: 'domain' };
  return null;
}
