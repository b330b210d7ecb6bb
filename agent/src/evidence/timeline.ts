// The report's timeline: the session's events in the order they happened,
// not the order the log holds them. The two differ for a capture replayed
// with `egress replay --speed max`: the log opens with `session_start` at the
// gateway's clock, then records alerts and lookups dated by the packets (the
// capture's own clock, often days earlier). An investigator reads a timeline
// top to bottom as "what happened when", so it is sorted by the time each
// event carries, stable (equal times keep log order), and the rows from the
// gateway's clock (start, end) say so in the report (report.ts).
//
// Bounded: at most `max` entries, the earliest by time (not the first in log
// order); later ones are counted in `omitted`. Kept in a sorted array with
// binary insertion: a log in time order (a live flight) appends at the end.

export interface TimelineEntry {
  ts: string;
  kind: 'start' | 'alert' | 'lookup' | 'gap' | 'resume' | 'pcap_truncated' | 'end';
  text: string;
}

/** Microseconds since the epoch of an ISO 8601 UTC time (six fractional digits in the log); NaN when unreadable. */
export function isoToMicros(iso: string): number {
  const ms = Date.parse(iso);
  // Stryker disable next-line Regex: Date.parse has read the text as a time already, and such a text ends in its only Z
  const frac = /\.\d{3}(\d{1,3})Z$/.exec(iso);
  return ms * 1000 + (frac ? Number(frac[1].padEnd(3, '0')) : 0);
}

export class BoundedTimeline {
  private readonly entries: TimelineEntry[] = [];
  /** Sort keys of `entries`, index for index; an unreadable time sorts last. */
  private readonly keys: number[] = [];
  /** Entries beyond the bound (the latest by time). */
  omitted = 0;

  constructor(private readonly max: number) {}

  add(e: TimelineEntry): void {
    const t = isoToMicros(e.ts);
    const key = Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
    // Upper bound: after every entry with the same time, so equal times keep log order.
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid] <= key) lo = mid + 1;
      else hi = mid;
    }
    // Stryker disable next-line ConditionalExpression,EqualityOperator,BlockStatement: a fast exit; inserting at the end and dropping the last gives the same
    if (lo >= this.max) {
      this.omitted++;
      return;
    }
    this.entries.splice(lo, 0, e);
    this.keys.splice(lo, 0, key);
    if (this.entries.length > this.max) {
      this.entries.pop();
      this.keys.pop();
      this.omitted++;
    }
  }

  /** The kept entries, earliest first. */
  list(): TimelineEntry[] {
    return this.entries;
  }
}
