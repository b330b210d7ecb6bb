// Timestamps for events: ISO 8601 UTC with exactly six fractional digits,
// from integer microseconds since the epoch (the NDJSON contract).
// Formatting a Date is the costly part, so only the date (YYYY-MM-DDT) comes
// from one, cached for the day; the time of day and the fraction are table
// look-ups. A flow event's start and end can be an hour apart, so a cache of
// whole-second prefixes missed on most of them.

/** "00" … "59" */
const DIGITS2: string[] = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
/** "000" … "999" */
const DIGITS3: string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
const DAY_S = 86_400;

let cachedDay = Number.NaN;
let cachedDate = '';

export function isoMicros(us: number): string {
  const sec = Math.floor(us / 1_000_000);
  const frac = Math.floor(us - sec * 1_000_000);
  const day = Math.floor(sec / DAY_S);
  if (day !== cachedDay) {
    cachedDate = new Date(day * DAY_S * 1000).toISOString().slice(0, 11); // YYYY-MM-DDT
    cachedDay = day;
  }
  let s = sec - day * DAY_S;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const ms = Math.floor(frac / 1000);
  return `${cachedDate}${DIGITS2[h]}:${DIGITS2[m]}:${DIGITS2[s]}.${DIGITS3[ms]}${DIGITS3[frac - ms * 1000]}Z`;
}
