// Timestamps for events: ISO 8601 UTC with exactly six fractional digits,
// from integer microseconds since the epoch (the NDJSON contract).
// Formatting a Date is the costly part, so the whole-second prefix (with
// its decimal point) of the last few seconds is cached: consecutive events
// mostly share it. The fraction is two table look-ups, not a number
// formatted and padded.

const CACHE_SIZE = 4;
const cachedSec = new Float64Array(CACHE_SIZE).fill(Number.NaN);
const cachedPrefix: string[] = new Array(CACHE_SIZE).fill('');
let next = 0;
/** "000" … "999" */
const DIGITS3: string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

export function isoMicros(us: number): string {
  const sec = Math.floor(us / 1_000_000);
  const frac = Math.floor(us - sec * 1_000_000);
  const ms = Math.floor(frac / 1000);
  const tail = `${DIGITS3[ms]}${DIGITS3[frac - ms * 1000]}Z`;
  for (let i = 0; i < CACHE_SIZE; i++) if (cachedSec[i] === sec) return cachedPrefix[i] + tail;
  const prefix = `${new Date(sec * 1000).toISOString().slice(0, 19)}.`; // YYYY-MM-DDTHH:MM:SS.
  cachedSec[next] = sec;
  cachedPrefix[next] = prefix;
  next = (next + 1) % CACHE_SIZE;
  return prefix + tail;
}
