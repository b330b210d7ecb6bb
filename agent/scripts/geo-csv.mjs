// Reads the ip-location-db CSV files (`start,end,value…`, numeric addresses)
// into sorted, non-overlapping { start, end, value } ranges for
// build-geo.mjs. Plain Node, no dependencies.

import { readFileSync } from 'node:fs';

/**
 * Reads one `start,end,value…` CSV (numeric addresses), sorted by start. Some
 * rows overlap (a wide whois block, then the geofeed entries inside it): the
 * narrowest row covering an address wins, like a longest-prefix match; of two
 * equally wide rows, the later one. Returns { ranges, overlaps }.
 */
export function readCsvRanges(path, name, isV6, parseValue) {
  const lines = readFileSync(path, 'utf8').split('\n');
  const rows = [];
  const toNum = isV6 ? BigInt : Number;
  let prevStart = isV6 ? -1n : -1;
  let prevEnd = prevStart;
  let overlaps = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') continue;
    const c1 = line.indexOf(',');
    const c2 = line.indexOf(',', c1 + 1);
    const start = toNum(line.slice(0, c1));
    const end = toNum(line.slice(c1 + 1, c2));
    const where = `${name}:${i + 1}`;
    if (!(start <= end) || start < prevStart) throw new Error(`${where}: range empty or out of order`);
    if (start <= prevEnd) overlaps++;
    prevStart = start;
    if (end > prevEnd) prevEnd = end;
    rows.push({ start, end, value: parseValue(line.slice(c2 + 1), where), order: rows.length });
  }
  return { ranges: overlaps === 0 ? rows : flatten(rows, isV6 ? 1n : 1), overlaps };
}

/** Non-overlapping pieces of rows sorted by start: a sweep keeping the covering rows in a heap, narrowest on top. */
function flatten(rows, one) {
  const heap = [];
  const before = (a, b) => {
    const wa = a.end - a.start;
    const wb = b.end - b.start;
    return wa < wb || (wa === wb && a.order > b.order);
  };
  const push = (row) => {
    let i = heap.push(row) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  };
  const pop = () => {
    const last = heap.pop();
    if (heap.length === 0) return;
    heap[0] = last;
    for (let i = 0; ; ) {
      let best = i;
      for (const child of [2 * i + 1, 2 * i + 2])
        if (child < heap.length && before(heap[child], heap[best])) best = child;
      if (best === i) return;
      [heap[i], heap[best]] = [heap[best], heap[i]];
      i = best;
    }
  };
  const out = [];
  let i = 0;
  let pos = rows[0].start;
  for (;;) {
    while (i < rows.length && rows[i].start <= pos) push(rows[i++]);
    while (heap.length > 0 && heap[0].end < pos) pop();
    if (heap.length === 0) {
      if (i === rows.length) return out;
      pos = rows[i].start;
      continue;
    }
    const top = heap[0];
    let next = top.end + one;
    if (i < rows.length && rows[i].start < next) next = rows[i].start;
    out.push({ start: pos, end: next - one, value: top.value });
    pos = next;
  }
}
