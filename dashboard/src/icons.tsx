// Severity shown by shape and word as well as colour (never colour alone):
// an octagon for high, a triangle for medium, a check for allowed.

import { severityLabel } from './i18n.js';
import type { Severity } from './proto.js';

export function SeverityIcon({ s }: { s: Severity }) {
  const common = { width: 18, height: 18, viewBox: '0 0 20 20', class: `icon icon-${s}` };
  if (s === 'high')
    return (
      <svg {...common} aria-hidden="true">
        <path d="M6 1h8l5 5v8l-5 5H6l-5-5V6z" />
        <path d="M10 5v6M10 14v1.5" class="icon-mark" />
      </svg>
    );
  if (s === 'medium')
    return (
      <svg {...common} aria-hidden="true">
        <path d="M10 1.5 19 18H1z" />
        <path d="M10 7v5M10 14.5v1.5" class="icon-mark" />
      </svg>
    );
  return (
    <svg {...common} aria-hidden="true">
      <circle cx="10" cy="10" r="9" />
      <path d="M5.5 10.5l3 3 6-7" class="icon-mark" />
    </svg>
  );
}

export function SeverityBadge({ s }: { s: Severity }) {
  return (
    <span class={`sev sev-${s}`}>
      <SeverityIcon s={s} />
      <span>{severityLabel(s)}</span>
    </span>
  );
}
