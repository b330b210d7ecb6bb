// V8 settings for the egress process (heap and compiler), made before anything else runs.
// The pipeline allocates objects that die within a packet or an event line
// and keeps little (per-flow state lives in typed arrays, flow/table.ts and
// names/at-rest.ts), so its young generation gains nothing from growing: at
// V8's starting size (1 MB semi-spaces) a scan takes the same CPU time as
// at the default maximum (16 MB), which adds up to 30 MB of resident memory.
// The growth factor is read each time V8 would grow the young generation, so
// setting it here, at start-up, holds it at its starting size.

//
// The old generation: V8 lets it grow to several times the live heap
// between mark-compacts when the program allocates fast. A scan's live heap
// is small and flat (the DNS answer cache, ~25 MB when full, and per-flow
// state in typed arrays), so a growth factor of 1.2 keeps peak RSS ~90 MB
// lower on a 2-million-packet capture for about the same CPU time
// (BENCHMARKS.md, "Gateway-shaped capture").

//
// The optimizing compiler: V8 inlines callees into a hot function up to 920
// bytes of bytecode in all by default, and compiles on helper threads. On two
// cores those threads take time from the pipeline and the event thread (a
// scan of 2 million gateway packets spent ~0.6 s of CPU compiling), and the
// code they make stays resident. Half the budget compiles less, runs as fast,
// and keeps ~3 MB less resident (BENCHMARKS.md, "Cost per packet").

//
// Starting a worker thread puts V8's flags back to their defaults (seen on
// Node 20: the young generation then grows to 16 MB semi-spaces and the old
// one by V8's own factor, ~45 MB more resident memory in a scan), so a
// command that starts one (scan, names/quic-ahead.ts) sets them again once
// the worker is running and after it ends.

import { setFlagsFromString } from 'node:v8';

export function applyHeapFlags(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
  setFlagsFromString('--heap-growing-percent=20');
  setFlagsFromString('--max-inlined-bytecode-size-cumulative=460');
}

applyHeapFlags();
