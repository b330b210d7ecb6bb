// Timestamps for events: ISO 8601 UTC with exactly six fractional digits,
// from integer microseconds since the epoch (the NDJSON contract).
// Formatting a Date is the costly part, so only the date (YYYY-MM-DDT) comes
// from one, cached for the day; the time of day and the fraction are digits
// written as bytes (event lines are encoded straight into the output buffer,
// json-bytes.ts). A flow event's start and end can be an hour apart, so a
// cache of whole-second prefixes missed on most of them.

const DAY_S = 86_400;
const ZERO = 0x30;

let cachedDay = Number.NaN;
/** The cached day's "YYYY-MM-DDT", as bytes. */
const cachedDate = Buffer.alloc(11);
/** For isoMicros: one timestamp's bytes. */
const scratch = Buffer.alloc(27);

/** Writes the timestamp of `us` (27 ASCII bytes) into buf at `at`; returns the offset after it. */
export function writeIsoMicros(buf: Uint8Array, at: number, us: number): number {
  const sec = Math.floor(us / 1_000_000);
  // Stryker disable next-line ArithmeticOperator: us + sec·10⁶ differs from the fraction by 2·sec·10⁶, a multiple of every digit's place below 10⁶
  const frac = Math.floor(us - sec * 1_000_000);
  const day = Math.floor(sec / DAY_S);
  // Stryker disable next-line ConditionalExpression: a memo; making the date again gives the same bytes
  if (day !== cachedDay) {
    // Stryker disable next-line MethodExpression: the 11-byte buffer takes the first 11 characters of the whole text too
    cachedDate.write(new Date(day * DAY_S * 1000).toISOString().slice(0, 11), 'latin1'); // YYYY-MM-DDT
    cachedDay = day;
  }
  // Stryker disable next-line EqualityOperator: a twelfth byte lands where the hour's first digit is written next
  for (let i = 0; i < 11; i++) buf[at + i] = cachedDate[i];
  let s = sec - day * DAY_S;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  let p = at + 11;
  buf[p++] = ZERO + Math.floor(h / 10);
  buf[p++] = ZERO + (h % 10);
  buf[p++] = 0x3a; // :
  buf[p++] = ZERO + Math.floor(m / 10);
  buf[p++] = ZERO + (m % 10);
  buf[p++] = 0x3a;
  buf[p++] = ZERO + Math.floor(s / 10);
  buf[p++] = ZERO + (s % 10);
  buf[p++] = 0x2e; // .
  for (let d = 100_000; d >= 1; d /= 10) buf[p++] = ZERO + (Math.floor(frac / d) % 10);
  buf[p++] = 0x5a; // Z
  return p;
}

export function isoMicros(us: number): string {
  return scratch.toString('latin1', 0, writeIsoMicros(scratch, 0, us));
}
