// Domain rules of a policy: "example.com" matches the name and every
// subdomain; "*.example.com" matches subdomains only. Matching is by whole
// labels, so fakedji.com never matches dji.com and dji.com.cdn-example.org
// only matches rules for cdn-example.org.

/** Names whose answer match() keeps; when full, it starts again (counted in `memoResets`). */
export const MATCH_MEMO_MAX = 4096;

export class DomainSet {
  /** Times the memo of answers was full and started again. */
  memoResets = 0;
  /**
   * match()'s answers by the name as given: a scan asks for the same popular
   * names again and again (every flow, every decision), and each answer
   * costs a lower-cased copy and a lookup per parent domain.
   */
  private readonly memo = new Map<string, string | null>();
  /** Rules that match the name itself and its subdomains. */
  private readonly withApex = new Set<string>();
  /** Rules written "*.x": subdomains of x only. */
  private readonly subdomainsOnly = new Set<string>();

  constructor(rules: readonly string[] = []) {
    for (const r of rules) this.add(r);
  }

  add(rule: string): void {
    this.memo.clear();
    const r = normaliseName(rule);
    if (r.startsWith('*.')) this.subdomainsOnly.add(r.slice(2));
    else this.withApex.add(r);
  }

  get size(): number {
    return this.withApex.size + this.subdomainsOnly.size;
  }

  rules(): string[] {
    return [...this.withApex, ...[...this.subdomainsOnly].map((d) => `*.${d}`)].sort();
  }

  /** The rule that matches `name`, or null. */
  match(name: string): string | null {
    const known = this.memo.get(name);
    if (known !== undefined) return known;
    const rule = this.find(name);
    if (this.memo.size >= MATCH_MEMO_MAX) {
      this.memo.clear();
      this.memoResets++;
    }
    this.memo.set(name, rule);
    return rule;
  }

  private find(name: string): string | null {
    const n = normaliseName(name);
    if (this.withApex.has(n)) return n;
    for (let dot = n.indexOf('.'); dot >= 0; dot = n.indexOf('.', dot + 1)) {
      const parent = n.slice(dot + 1);
      if (this.withApex.has(parent)) return parent;
      if (this.subdomainsOnly.has(parent)) return `*.${parent}`;
    }
    return null;
  }
}

export function normaliseName(name: string): string {
  const n = name.trim().toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

/** A syntactically valid rule: labels of letters, digits, hyphens, underscores; optional leading "*.". */
export function isValidDomainRule(rule: string): boolean {
  const r = normaliseName(rule);
  const body = r.startsWith('*.') ? r.slice(2) : r;
  return (
    // An empty body is refused by the label test ("" is no label).
    body.length <= 253 && body.split('.').every((l) => /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/.test(l))
  );
}
