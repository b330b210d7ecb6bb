// Timestamps for events: ISO 8601 UTC with exactly six fractional digits,
// from integer microseconds since the epoch (the NDJSON contract).

export function isoMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const frac = us - Math.floor(us / 1_000_000) * 1_000_000;
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  return `${iso.slice(0, 19)}.${String(Math.floor(frac)).padStart(6, '0')}Z`;
}
