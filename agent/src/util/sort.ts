// A flow's names, sorted in place. Array.prototype.sort copies the array into
// a work area on every call; a flow has one name or a few, and a scan sorts
// them for every flow it names (names/flow-app.ts, names/dns-cache.ts), so up
// to SMALL names an insertion sort does it without that copy.

const SMALL = 16;

/** Sorts `list` in place, as sort() without a compare function sorts strings (by UTF-16 code units); returns it. */
export function sortNames(list: string[]): string[] {
  // Stryker disable next-line ConditionalExpression,EqualityOperator: both ways sort the list in place to the same order; the bound only picks the cheaper way
  if (list.length > SMALL) return list.sort();
  for (let i = 1; i < list.length; i++) {
    const v = list[i];
    let j = i - 1;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: without `j >= 0`, list[-1] is undefined and `undefined > v` is false (stops the same); `>=` only moves equal strings past each other, which leaves the same list (the other variants fail sort-names.test.ts)
    for (; j >= 0 && list[j] > v; j--) list[j + 1] = list[j];
    list[j + 1] = v;
  }
  return list;
}
