// What the fuzz targets share (test/unit/fuzz-decode.test.ts,
// test/unit/fuzz-capture.test.ts): the seed and the inputs per target, read
// from the environment; failures that carry `seed=… case=…`, the input bytes
// and the replay command (scripts/fuzz looks for them); a watchdog that stops
// a batch that never returns; and a pipeline as the CLI builds one, with a
// small flow table and an output that checks every record it is handed.
//
//   FUZZ_SEED=<u32>         seed (default fixed, so CI is reproducible)
//   FUZZ_ITERATIONS=<n>     inputs across all targets (default 120,000)

import { isIP } from 'node:net';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import type { FlowRecord } from '../../agent/src/output/flow-record.js';
import { ScanPipeline } from '../../agent/src/pipeline.js';
import { loadPolicy } from '../../agent/src/policy/load.js';
import { fuzzIterations, fuzzSeed } from './fuzz.js';

export const SEED = fuzzSeed();
export const TOTAL = fuzzIterations(120_000);
/** Share of the inputs per target; capture files hold several packets each, so they get fewer. */
export const COUNTS = {
  random: Math.ceil(TOTAL * 0.3),
  mutated: Math.ceil(TOTAL * 0.5),
  pcap: Math.ceil(TOTAL * 0.1),
  pcapng: Math.ceil(TOTAL * 0.1),
};
export const MAX_FLOWS = 64;
const WATCHDOG_MS = 10_000;
/** Below this many inputs per target, a run is a smoke test: coverage is not asserted. */
export const COVERAGE_MIN = 10_000;
/** Loaded once, as the CLI does: a pipeline left to load the default policy itself reads it from disk each time. */
const PIPELINE_OPTIONS = { maxFlows: MAX_FLOWS, policy: loadPolicy({}) };
const REPO = fileURLToPath(new URL('../../', import.meta.url));

export const describeError = (e: unknown) => (e instanceof Error ? (e.stack ?? e.message) : String(e));
export const isPort = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffff;

// A loop that never returns cannot be stopped by a test timeout (the event loop is blocked), but
// a vm script's timeout interrupts everything it calls. The batch runs inside one; on timeout
// the failure names the case that was in progress.
const watchdog = vm.createContext({ run: null as null | (() => void) });
const runInWatchdog = new vm.Script('run()');

/** One fuzz test file: its replay command, the title that shows it, and the failures that name it. */
export class FuzzRun {
  readonly replay: string;
  readonly title: string;

  /** `testUrl` is the test file's import.meta.url. */
  constructor(testUrl: string) {
    const file = relative(REPO, fileURLToPath(testUrl));
    this.replay = `FUZZ_SEED=${SEED} FUZZ_ITERATIONS=${TOTAL} npx vitest run ${file}`;
    this.title = `fuzz (seed=${SEED}, ${TOTAL} inputs; replay: ${this.replay})`;
  }

  fail(where: string, what: string, input?: Buffer): never {
    const bytes = input
      ? `\ninput (${input.length} bytes): ${input.toString('hex', 0, Math.min(input.length, 1024))}${input.length > 1024 ? '…' : ''}`
      : '';
    throw new Error(`${what} [seed=${SEED} case=${where}]${bytes}\nreplay: ${this.replay}`);
  }

  /** Runs `batch` under the watchdog; `current` names the case in progress. */
  bounded(current: () => string, batch: () => void): void {
    watchdog.run = batch;
    try {
      runInWatchdog.runInContext(watchdog, { timeout: WATCHDOG_MS });
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
        this.fail(current(), `no answer within ${WATCHDOG_MS} ms: a decoder, the flow table or the reader hangs`);
      }
      throw e;
    } finally {
      watchdog.run = null;
    }
  }
}

// ---- Flow table checks -------------------------------------------------------------------

const PROTO_NAMES = new Set(['TCP', 'UDP', 'ICMP', 'ICMPv6']);
const END_REASONS = new Set(['closed', 'timeout', 'evicted', 'end_of_input', 'port_reuse']);

/** A pipeline as the CLI builds one, with a small flow table so eviction runs. */
export function newPipeline(out: ReturnType<typeof checkedOutput>): ScanPipeline {
  return new ScanPipeline(out, PIPELINE_OPTIONS);
}

/** A flow output that checks every record as it comes out; counts them. */
export function checkedOutput(run: FuzzRun, where: () => string) {
  const out = {
    flows: 0,
    events: 0,
    alert(a: { tsUs: number }): void {
      out.events++;
      if (!Number.isFinite(a.tsUs)) run.fail(where(), `alert with timestamp ${a.tsUs}`);
    },
    app(e: { tsUs: number }): void {
      out.events++;
      if (!Number.isFinite(e.tsUs)) run.fail(where(), `app event with timestamp ${e.tsUs}`);
    },
    flow(f: FlowRecord): void {
      out.flows++;
      const bad = (what: string) => run.fail(where(), `flow record ${what}: ${JSON.stringify(f)}`);
      const { srcIp, srcPort, destIp, destPort, proto } = f;
      if (!PROTO_NAMES.has(proto)) bad('has an unknown protocol');
      if (isIP(srcIp) === 0 || isIP(srcIp) !== isIP(destIp)) bad('has unparsable or mixed addresses');
      const icmp = proto === 'ICMP' || proto === 'ICMPv6';
      if (icmp !== (srcPort === null) || icmp !== (destPort === null)) bad('has ports that do not fit the protocol');
      if (!icmp && !(isPort(srcPort ?? -1) && isPort(destPort ?? -1))) bad('has an out-of-range port');
      if ((proto === 'TCP') !== (f.tcpState !== null)) bad('has a TCP state that does not fit the protocol');
      if (f.pktsToServer + f.pktsToClient < 1) bad('has no packets');
      const nums = [f.pktsToServer, f.pktsToClient, f.bytesToServer, f.bytesToClient, f.startUs, f.endUs];
      if (!nums.every(Number.isFinite)) bad('has a non-finite number');
      if (f.bytesToServer < 0 || f.bytesToClient < 0) bad('has negative bytes');
      if (f.startUs > f.endUs) bad('ends before it starts');
      if (!END_REASONS.has(f.endReason)) bad('has an unknown end reason');
    },
  };
  return out;
}

/** After finish(): every flow created was handed out exactly once, and the table never outgrew its bound. */
export function checkFinished(run: FuzzRun, where: string, pipeline: ScanPipeline, flowsOut: number): void {
  const c = pipeline.flows.counters;
  const ended = c.endedClosed + c.endedTimeout + c.endedPortReuse + c.endedEndOfInput + c.evictedLru;
  if (c.created !== flowsOut || c.created !== ended || c.active !== 0) {
    run.fail(
      where,
      `flow accounting: created ${c.created}, handed out ${flowsOut}, ended ${ended}, active ${c.active}`,
    );
  }
  if (c.activeMax > MAX_FLOWS) run.fail(where, `flow table grew to ${c.activeMax} > ${MAX_FLOWS}`);
  const decoded = pipeline.decoded.reduce((n, x) => n + x, 0);
  if (decoded !== pipeline.packets) run.fail(where, `decoded ${decoded} of ${pipeline.packets} packets`);
}
