// Seeded fuzzing of the capture reader on mutated pcap and pcapng files, read
// whole and in random chunks through the pipeline the CLI builds. Seeds are
// files built with builders.ts plus the real captures under test/fixtures.
// The reader may report an EGRESS_ error at an offset inside the input; it may
// not throw, deliver a packet outside its buffer, loop, or answer differently
// depending on how the input was split. FUZZ_SEED and FUZZ_ITERATIONS as in
// test/support/fuzz-run.ts; every failure message carries `seed=… case=…` and
// the replay command. The decoders are fuzzed in fuzz-decode.test.ts;
// bash scripts/fuzz runs both in a loop over fresh seeds.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CaptureReader } from '../../agent/src/capture/reader.js';
import type { PacketSink } from '../../agent/src/capture/types.js';
import type { EgressError } from '../../agent/src/errors.js';
import { caseRng, mutate, type Rng, randomChunks } from '../support/fuzz.js';
import { fixtureCaptures, ipSeeds, seedPcap, seedPcapng } from '../support/fuzz-corpus.js';
import {
  COUNTS,
  COVERAGE_MIN,
  checkedOutput,
  checkFinished,
  describeError,
  FuzzRun,
  newPipeline,
  SEED,
} from '../support/fuzz-run.js';

/** Typed, so TypeScript sees that run.fail() does not return. */
const run: FuzzRun = new FuzzRun(import.meta.url);
/** No single capture case may take longer: a parse that slows to this is as good as hung. */
const CASE_LIMIT_MS = 2_000;
/** Cases run in batches under the watchdog; a batch normally takes tens of milliseconds. */
const CAPTURE_BATCH = 100;
const SEEDS = ipSeeds();
/** Real traffic from the fixtures: some of the capture seeds. */
const CAPTURES = fixtureCaptures();
const REAL_PCAP = CAPTURES.filter((c) => c.name.endsWith('.pcap')).map((c) => c.bytes);
const REAL_PCAPNG = CAPTURES.filter((c) => c.name.endsWith('.pcapng')).map((c) => c.bytes);

// ---- Capture reader harness --------------------------------------------------------------

/** Digests every delivered packet (and checks it), then passes it on to the pipeline. */
class DigestSink implements PacketSink {
  count = 0;
  private readonly hash = createHash('sha256');
  private readonly head = Buffer.alloc(32);

  constructor(
    private readonly next: PacketSink,
    /** No capture can hold more packets than this: a reader that delivers more is looping. */
    private readonly maxPackets: number,
  ) {}

  packet(buf: Buffer, off: number, caplen: number, origLen: number, tsUs: number, linkType: number): void {
    if (++this.count > this.maxPackets) throw new Error(`delivered ${this.count} packets, more than the input holds`);
    if (!(Number.isInteger(off) && Number.isInteger(caplen) && off >= 0 && caplen >= 0 && off + caplen <= buf.length)) {
      throw new Error(`packet [${off}, +${caplen}) outside its ${buf.length}-byte buffer`);
    }
    if (!Number.isInteger(origLen) || origLen < 0) throw new Error(`origLen ${origLen}`);
    if (!Number.isFinite(tsUs)) throw new Error(`timestamp ${tsUs}`);
    if (!Number.isInteger(linkType) || linkType < 0 || linkType > 0xffff) throw new Error(`link type ${linkType}`);
    this.head.writeDoubleLE(tsUs, 0);
    this.head.writeDoubleLE(caplen, 8);
    this.head.writeDoubleLE(origLen, 16);
    this.head.writeDoubleLE(linkType, 24);
    this.hash.update(this.head);
    this.hash.update(buf.subarray(off, off + caplen));
    this.next.packet(buf, off, caplen, origLen, tsUs, linkType);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

interface ReadOutcome {
  packets: number;
  digest: string;
  error: EgressError | null;
  anomalies: string;
  decoded: string;
  flows: number;
  format: string | null;
  linkTypes: string;
}

/** Reads `input` whole (sizes null) or in the given chunk sizes, through a real pipeline. */
function readOnce(where: string, input: Buffer, sizes: number[] | null): ReadOutcome {
  const mode = sizes === null ? 'one chunk' : `${sizes.length} chunks`;
  const out = checkedOutput(run, () => `${where} (${mode})`);
  const pipeline = newPipeline(out);
  const sink = new DigestSink(pipeline, Math.floor(input.length / 16));
  const reader = new CaptureReader(sink, pipeline.anomalies);
  let error: EgressError | null;
  try {
    if (sizes === null) reader.push(input);
    else {
      let pos = 0;
      for (const n of sizes) {
        // A copy, so nothing passes because the reader kept a view into a chunk it no longer owns.
        reader.push(Buffer.from(input.subarray(pos, pos + n)));
        pos += n;
      }
    }
    error = reader.end();
    // pipeline.finish() without its pauses between batches of 1024 flows, so the case stays synchronous.
    for (const slot of pipeline.flows.openFlowsInOrder()) pipeline.flows.endAtEndOfInput(slot);
  } catch (e) {
    run.fail(where, `reading in ${mode} threw: ${describeError(e)}`, input);
  }
  checkFinished(run, `${where} (${mode})`, pipeline, out.flows);
  if (error !== null) {
    const offset = error.facts.offset;
    if (!error.code.startsWith('EGRESS_')) run.fail(where, `error code ${error.code} in ${mode}`, input);
    if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0 || offset > input.length) {
      run.fail(where, `${error.code} with offset ${offset} outside [0, ${input.length}] in ${mode}`, input);
    }
  }
  return {
    packets: sink.count,
    digest: sink.digest(),
    error,
    anomalies: pipeline.anomalies.counts.join(','),
    decoded: pipeline.decoded.join(','),
    flows: out.flows,
    format: reader.format,
    linkTypes: reader
      .linkTypes()
      .sort((x, y) => x - y)
      .join(','),
  };
}

/** One capture case: a (mutated) file read whole and in random chunks; both readings must agree. */
function captureCase(target: number, name: string, i: number, make: (rng: Rng) => Buffer): ReadOutcome {
  const where = `${name}#${i}`;
  const rng = caseRng(SEED, target, i);
  const file = make(rng);
  const roll = rng.below(20);
  // One in twenty unmodified (must read cleanly), one cut short and followed by random bytes, the rest mutated.
  const input =
    roll === 0
      ? file
      : roll === 1
        ? Buffer.concat([file.subarray(0, rng.below(file.length + 1)), rng.bytes(rng.below(256))])
        : mutate(rng, file, 12);
  const sizes = randomChunks(rng, input.length);
  const started = performance.now();
  const whole = readOnce(where, input, null);
  const split = readOnce(where, input, sizes);
  const ms = performance.now() - started;
  if (ms > CASE_LIMIT_MS) run.fail(where, `took ${ms.toFixed(0)} ms for ${input.length} bytes`, input);
  if (roll === 0 && whole.error !== null) run.fail(where, `an unmodified file fails: ${whole.error.code}`, input);
  const summary = (o: ReadOutcome) =>
    JSON.stringify({ ...o, error: o.error && { code: o.error.code, offset: o.error.facts.offset } });
  if (summary(whole) !== summary(split)) {
    run.fail(
      where,
      `one chunk and ${sizes.length} chunks (sizes ${sizes.slice(0, 40).join(',')}${sizes.length > 40 ? ',…' : ''}) disagree:\n` +
        `  whole: ${summary(whole)}\n  split: ${summary(split)}`,
      input,
    );
  }
  return whole;
}

/** Runs `count` capture cases; returns how many packets came out and which outcomes (error codes, `clean`) were met. */
function fuzzCaptureTarget(target: number, name: string, count: number, make: (rng: Rng) => Buffer) {
  const seen = { packets: 0, outcomes: new Set<string>() };
  let current = 0;
  for (let first = 0; first < count; first += CAPTURE_BATCH) {
    run.bounded(
      () => `${name}#${current}`,
      () => {
        for (current = first; current < Math.min(count, first + CAPTURE_BATCH); current++) {
          const whole = captureCase(target, name, current, make);
          seen.packets += whole.packets;
          seen.outcomes.add(whole.error?.code ?? 'clean');
        }
      },
    );
  }
  return seen;
}

// ---- The targets -------------------------------------------------------------------------

describe(run.title, () => {
  const big = (n: number) => n >= COVERAGE_MIN;

  it(`reads ${COUNTS.pcap} mutated pcap files the same whole and in random chunks`, () => {
    const seen = fuzzCaptureTarget(3, 'pcap', COUNTS.pcap, (rng) =>
      rng.chance(0.2) ? rng.pick(REAL_PCAP) : seedPcap(rng, SEEDS),
    );
    if (big(COUNTS.pcap)) {
      // Mutants reach the packets and every error the classic format has, not only the first check.
      expect(seen.packets, `seed=${SEED} case=pcap#*`).toBeGreaterThan(COUNTS.pcap);
      expect([...seen.outcomes], `seed=${SEED} case=pcap#*`).toEqual(
        expect.arrayContaining([
          'EGRESS_CAPTURE_BAD_MAGIC',
          'EGRESS_PCAP_RECORD_TOO_LARGE',
          'EGRESS_PCAP_TRUNCATED',
          'clean',
        ]),
      );
    }
  });

  it(`reads ${COUNTS.pcapng} mutated pcapng files the same whole and in random chunks`, () => {
    const seen = fuzzCaptureTarget(4, 'pcapng', COUNTS.pcapng, (rng) =>
      rng.chance(0.2) ? rng.pick(REAL_PCAPNG) : seedPcapng(rng, SEEDS),
    );
    if (big(COUNTS.pcapng)) {
      expect(seen.packets, `seed=${SEED} case=pcapng#*`).toBeGreaterThan(COUNTS.pcapng);
      expect([...seen.outcomes], `seed=${SEED} case=pcapng#*`).toEqual(
        expect.arrayContaining([
          'EGRESS_PCAPNG_BAD_BLOCK_LENGTH',
          'EGRESS_PCAPNG_BAD_SECTION',
          'EGRESS_PCAP_TRUNCATED',
          'clean',
        ]),
      );
    }
  });
});
