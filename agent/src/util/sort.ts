// A flow's names, sorted in place. Array.prototype.sort copies the array into
// a work area on every call; a flow has one name or a few, and a scan sorts
// them for every flow it names (names/flow-app.ts, names/dns-cache.ts), so up
// to SMALL names an insertion sort does it without that copy.

const SMALL = 16;

/** Sorts `list` in place, as sort() without a compare function sorts strings (by UTF-16 code units); returns it. */
export function sortNames(list: string[]): string[] {
  if (list.length > SMALL) return list.sort();
  for (let i = 1; i < list.length; i++) {
    const v = list[i];
    let j = i - 1;
    for (; j >= 0 && list[j] > v; j--) list[j + 1] = list[j];
    list[j + 1] = v;
  }
  return list;
}
