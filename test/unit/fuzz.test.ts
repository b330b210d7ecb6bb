// Seeded fuzzing of every stage that reads untrusted bytes: the decoders on
// every link type, the pipeline behind them (a flow table kept small so
// eviction runs, and whatever per-flow stages the pipeline has), and the
// capture reader on mutated pcap and pcapng files, whole and in random
// chunks. Seeds are frames and files built with builders.ts plus the real
// captures under test/fixtures. A stage may count an anomaly or report an
// EGRESS_ error; it may not throw, read past what was captured, loop, or
// answer differently depending on how the input was split.
//
//   FUZZ_SEED=<u32>         seed (default fixed, so CI is reproducible)
//   FUZZ_ITERATIONS=<n>     inputs across all targets (default 120,000)
//
// Every failure message carries `seed=… case=…` and the replay command;
// bash scripts/fuzz runs this file in a loop over fresh seeds.

import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { CaptureReader } from '../../agent/src/capture/reader.js';
import type { PacketSink } from '../../agent/src/capture/types.js';
import { ANOMALY_NAMES, Anomaly } from '../../agent/src/decode/anomaly.js';
import { decodePacket } from '../../agent/src/decode/decode.js';
import { DecodeResult, IpProto, Packet } from '../../agent/src/decode/packet.js';
import type { EgressError } from '../../agent/src/errors.js';
import type { FlowRecord } from '../../agent/src/output/flow-record.js';
import { ScanPipeline } from '../../agent/src/pipeline.js';
import { loadPolicy } from '../../agent/src/policy/load.js';
import {
  caseRng,
  FUZZ_LINK_TYPES,
  fixtureCaptures,
  fixtureFrames,
  fuzzIterations,
  fuzzSeed,
  ipSeeds,
  mutate,
  type Rng,
  randomChunks,
  randomLinkType,
  seedFrame,
  seedPcap,
  seedPcapng,
} from '../support/fuzz.js';

const SEED = fuzzSeed();
const TOTAL = fuzzIterations(120_000);
/** Share of the inputs per target; capture files hold several packets each, so they get fewer. */
const COUNTS = {
  random: Math.ceil(TOTAL * 0.3),
  mutated: Math.ceil(TOTAL * 0.5),
  pcap: Math.ceil(TOTAL * 0.1),
  pcapng: Math.ceil(TOTAL * 0.1),
};
const MAX_FLOWS = 64;
/** No single capture case may take longer: a parse that slows to this is as good as hung. */
const CASE_LIMIT_MS = 2_000;
/** Cases run in batches under a watchdog; a batch normally takes tens of milliseconds. */
const DECODE_BATCH = 1_000;
const CAPTURE_BATCH = 100;
const WATCHDOG_MS = 10_000;
/** Below this many inputs per target, a run is a smoke test: coverage is not asserted. */
const COVERAGE_MIN = 10_000;
const SEEDS = ipSeeds();
/** Real traffic from the fixtures: half the frame seeds and some of the capture seeds. */
const CAPTURES = fixtureCaptures();
const REAL_FRAMES = fixtureFrames(CAPTURES);
const REAL_PCAP = CAPTURES.filter((c) => c.name.endsWith('.pcap')).map((c) => c.bytes);
const REAL_PCAPNG = CAPTURES.filter((c) => c.name.endsWith('.pcapng')).map((c) => c.bytes);
/** Loaded once, as the CLI does: a pipeline left to load the default policy itself reads it from disk each time. */
const PIPELINE_OPTIONS = { maxFlows: MAX_FLOWS, policy: loadPolicy({}) };
const REPLAY = `FUZZ_SEED=${SEED} FUZZ_ITERATIONS=${TOTAL} npx vitest run test/unit/fuzz.test.ts`;

function fail(where: string, what: string, input?: Buffer): never {
  const bytes = input
    ? `\ninput (${input.length} bytes): ${input.toString('hex', 0, Math.min(input.length, 1024))}${input.length > 1024 ? '…' : ''}`
    : '';
  throw new Error(`${what} [seed=${SEED} case=${where}]${bytes}\nreplay: ${REPLAY}`);
}

const describeError = (e: unknown) => (e instanceof Error ? (e.stack ?? e.message) : String(e));

// A loop that never returns cannot be stopped by a test timeout (the event loop is blocked), but
// a vm script's timeout interrupts everything it calls. The batch runs inside one; on timeout
// the failure names the case that was in progress.
const watchdog = vm.createContext({ run: null as null | (() => void) });
const runInWatchdog = new vm.Script('run()');

function bounded(current: () => string, batch: () => void): void {
  watchdog.run = batch;
  try {
    runInWatchdog.runInContext(watchdog, { timeout: WATCHDOG_MS });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
      fail(current(), `no answer within ${WATCHDOG_MS} ms: a decoder, the flow table or the reader hangs`);
    }
    throw e;
  } finally {
    watchdog.run = null;
  }
}

// ---- Decoder harness ---------------------------------------------------------------------

const SNAP_LEN = 16;

/**
 * The fields a later stage reads, with offsets relative to the frame start.
 * Addresses only mean something once an IP header was read; the payload only
 * after a transport header.
 */
function snapshot(p: Packet, r: number, base: number, out: Float64Array): void {
  out.fill(-1);
  out[0] = r;
  out[1] = p.ipVersion;
  if (p.ipVersion !== 0) {
    out[2] = p.addrLen;
    out[3] = p.srcAddrOff - base;
    out[4] = p.dstAddrOff - base;
    out[5] = p.ipOff - base;
  }
  out[6] = p.proto;
  out[7] = p.srcPort;
  out[8] = p.dstPort;
  out[9] = p.tcpFlags;
  out[10] = p.icmpType;
  out[11] = p.icmpCode;
  out[12] = p.icmpEcho ? 1 : 0;
  if (r === DecodeResult.TRANSPORT) {
    out[13] = p.payloadOff - base;
    out[14] = p.payloadLen;
  }
}

const isPort = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffff;

class DecodeHarness {
  readonly results = new Float64Array(4);
  private readonly reused = new Packet();
  private readonly exactCounts = new Float64Array(ANOMALY_NAMES.length);
  private readonly paddedCounts = new Float64Array(ANOMALY_NAMES.length);
  private readonly a = new Float64Array(SNAP_LEN);
  private readonly b = new Float64Array(SNAP_LEN);
  private scratch = Buffer.alloc(4096);

  /**
   * Decodes `frame` twice: alone in an exactly-sized buffer with a fresh Packet,
   * and at a random offset inside junk with the Packet reused from the previous
   * input. Both must agree, so no decoder reads outside [off, off + caplen) or
   * keeps state from an earlier packet.
   */
  check(where: string, rng: Rng, frame: Buffer, linkType: number): void {
    const fresh = new Packet();
    this.exactCounts.fill(0);
    let r: number;
    try {
      r = decodePacket(frame, 0, frame.length, linkType, fresh, this.exactCounts);
    } catch (e) {
      fail(where, `decodePacket threw on link type ${linkType}: ${describeError(e)}`, frame);
    }
    this.invariants(where, frame, linkType, fresh, r);

    const pre = rng.below(32);
    if (this.scratch.length < pre + frame.length + 64) this.scratch = Buffer.alloc(2 * (pre + frame.length + 64));
    this.scratch.fill(rng.below(256), 0, pre + frame.length + 64);
    frame.copy(this.scratch, pre);
    this.paddedCounts.fill(0);
    let r2: number;
    try {
      r2 = decodePacket(this.scratch, pre, frame.length, linkType, this.reused, this.paddedCounts);
    } catch (e) {
      fail(where, `decodePacket threw at offset ${pre} on link type ${linkType}: ${describeError(e)}`, frame);
    }
    snapshot(fresh, r, 0, this.a);
    snapshot(this.reused, r2, pre, this.b);
    for (let i = 0; i < SNAP_LEN; i++) {
      if (this.a[i] !== this.b[i]) {
        fail(
          where,
          `decoding depends on bytes outside the frame or on the previous packet (link type ${linkType}): ` +
            `alone [${this.a.join(',')}] vs at offset ${pre} [${this.b.join(',')}]`,
          frame,
        );
      }
    }
    for (let i = 0; i < ANOMALY_NAMES.length; i++) {
      if (this.exactCounts[i] !== this.paddedCounts[i]) {
        fail(where, `counter ${ANOMALY_NAMES[i]} differs with the frame at offset ${pre}`, frame);
      }
    }
    this.results[r]++;
  }

  private invariants(where: string, frame: Buffer, linkType: number, p: Packet, r: number): void {
    const bad = (what: string) => fail(where, `${what} (link type ${linkType}, result ${r})`, frame);
    const counts = this.exactCounts;
    if (!(r === 0 || r === 1 || r === 2 || r === 3)) bad(`decodePacket returned ${r}`);
    let total = 0;
    for (const c of counts) total += c;
    if (r === DecodeResult.MALFORMED && total === 0) bad('MALFORMED without a named anomaly');
    if ((r === DecodeResult.NOT_IP) !== (counts[Anomaly.LINK_NOT_IP] === 1)) bad('NOT_IP and link.not_ip disagree');
    if (r === DecodeResult.NOT_IP && total !== 1) bad('NOT_IP counted more than link.not_ip');
    if (r !== DecodeResult.TRANSPORT && r !== DecodeResult.IP_ONLY) return;
    if (!((p.ipVersion === 4 && p.addrLen === 4) || (p.ipVersion === 6 && p.addrLen === 16))) {
      bad(`ipVersion ${p.ipVersion} with addrLen ${p.addrLen}`);
    }
    for (const o of [p.srcAddrOff, p.dstAddrOff]) {
      if (!(o >= p.ipOff && o + p.addrLen <= frame.length)) bad(`address at ${o} outside the frame`);
    }
    if (!(p.ipOff >= 0 && p.ipOff < frame.length)) bad(`ipOff ${p.ipOff} outside the frame`);
    if (!(Number.isInteger(p.proto) && p.proto >= 0 && p.proto <= 255)) bad(`proto ${p.proto}`);
    if (r === DecodeResult.IP_ONLY) {
      if (p.srcPort !== 0 || p.dstPort !== 0 || p.payloadLen !== 0) bad('IP_ONLY with ports or payload');
      return;
    }
    const proto = p.proto;
    if (proto !== IpProto.TCP && proto !== IpProto.UDP && proto !== IpProto.ICMP && proto !== IpProto.IPV6_ICMP) {
      bad(`TRANSPORT with protocol ${proto}`);
    }
    if (!(p.payloadOff > p.ipOff && p.payloadLen >= 0 && p.payloadOff + p.payloadLen <= frame.length)) {
      bad(`payload [${p.payloadOff}, +${p.payloadLen}) outside the frame`);
    }
    if (!isPort(p.srcPort) || !isPort(p.dstPort)) bad(`ports ${p.srcPort} → ${p.dstPort}`);
    if (p.tcpFlags !== 0 && proto !== IpProto.TCP) bad('TCP flags on a non-TCP packet');
    if (p.icmpEcho && !((proto === IpProto.ICMP || proto === IpProto.IPV6_ICMP) && p.srcPort === p.dstPort)) {
      bad('echo flag without an ICMP identifier as both ports');
    }
    if ((proto === IpProto.ICMP || proto === IpProto.IPV6_ICMP) && !p.icmpEcho && (p.srcPort || p.dstPort)) {
      bad('ports on an ICMP message that is not echo');
    }
  }
}

// ---- Flow table harness ------------------------------------------------------------------

const PROTO_NAMES = new Set(['TCP', 'UDP', 'ICMP', 'ICMPv6']);
const END_REASONS = new Set(['closed', 'timeout', 'evicted', 'end_of_input', 'port_reuse']);

/** A pipeline as the CLI builds one, with a small flow table so eviction runs. */
function newPipeline(out: ReturnType<typeof checkedOutput>): ScanPipeline {
  return new ScanPipeline(out, PIPELINE_OPTIONS);
}

/** A flow output that checks every record as it comes out; counts them. */
function checkedOutput(where: () => string) {
  const out = {
    flows: 0,
    events: 0,
    alert(a: { tsUs: number }): void {
      out.events++;
      if (!Number.isFinite(a.tsUs)) fail(where(), `alert with timestamp ${a.tsUs}`);
    },
    app(e: { tsUs: number }): void {
      out.events++;
      if (!Number.isFinite(e.tsUs)) fail(where(), `app event with timestamp ${e.tsUs}`);
    },
    flow(f: FlowRecord): void {
      out.flows++;
      const bad = (what: string) => fail(where(), `flow record ${what}: ${JSON.stringify(f)}`);
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
function checkFinished(where: string, pipeline: ScanPipeline, flowsOut: number): void {
  const c = pipeline.flows.counters;
  const ended = c.endedClosed + c.endedTimeout + c.endedPortReuse + c.endedEndOfInput + c.evictedLru;
  if (c.created !== flowsOut || c.created !== ended || c.active !== 0) {
    fail(where, `flow accounting: created ${c.created}, handed out ${flowsOut}, ended ${ended}, active ${c.active}`);
  }
  if (c.activeMax > MAX_FLOWS) fail(where, `flow table grew to ${c.activeMax} > ${MAX_FLOWS}`);
  const decoded = pipeline.decoded.reduce((n, x) => n + x, 0);
  if (decoded !== pipeline.packets) fail(where, `decoded ${decoded} of ${pipeline.packets} packets`);
}

/** Mostly a few milliseconds later; one in a hundred past every flow timeout, one in a hundred back in time. */
function nextTimestamp(rng: Rng, ts: number): number {
  if (rng.chance(0.01)) return ts + rng.below(300_000_000);
  if (rng.chance(0.01)) return ts - rng.below(10_000_000);
  return ts + rng.below(5_000);
}

/**
 * Feeds `count` frames from `make` to the decode harness and then to a real
 * pipeline with a small flow table, timestamps mostly rising, sometimes
 * jumping past every timeout or stepping back.
 */
async function fuzzDecodeTarget(target: number, name: string, count: number, make: (rng: Rng, lt: number) => Buffer) {
  const harness = new DecodeHarness();
  let where = `${name}#0`;
  const out = checkedOutput(() => where);
  const pipeline = newPipeline(out);
  let ts = 1_767_225_600_000_000;
  for (let first = 0; first < count; first += DECODE_BATCH) {
    bounded(
      () => where,
      () => {
        for (let i = first; i < Math.min(count, first + DECODE_BATCH); i++) {
          where = `${name}#${i}`;
          const rng = caseRng(SEED, target, i);
          // Every link type in turn, and every ninth a random one.
          const k = i % (FUZZ_LINK_TYPES.length + 1);
          const lt = k === FUZZ_LINK_TYPES.length ? randomLinkType(rng) : FUZZ_LINK_TYPES[k];
          const frame = make(rng, lt);
          harness.check(where, rng, frame, lt);
          ts = nextTimestamp(rng, ts);
          const origLen = frame.length + (rng.chance(0.1) ? rng.below(1500) : 0);
          try {
            pipeline.packet(frame, 0, frame.length, origLen, ts, lt);
          } catch (e) {
            fail(where, `pipeline threw on link type ${lt}: ${describeError(e)}`, frame);
          }
        }
      },
    );
  }
  where = `${name}#finish`;
  try {
    await pipeline.finish();
  } catch (e) {
    fail(where, `pipeline.finish threw: ${describeError(e)}`);
  }
  checkFinished(where, pipeline, out.flows);
  return { harness, pipeline };
}

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
  const out = checkedOutput(() => `${where} (${mode})`);
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
    fail(where, `reading in ${mode} threw: ${describeError(e)}`, input);
  }
  checkFinished(`${where} (${mode})`, pipeline, out.flows);
  if (error !== null) {
    const offset = error.facts.offset;
    if (!error.code.startsWith('EGRESS_')) fail(where, `error code ${error.code} in ${mode}`, input);
    if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0 || offset > input.length) {
      fail(where, `${error.code} with offset ${offset} outside [0, ${input.length}] in ${mode}`, input);
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
  if (ms > CASE_LIMIT_MS) fail(where, `took ${ms.toFixed(0)} ms for ${input.length} bytes`, input);
  if (roll === 0 && whole.error !== null) fail(where, `an unmodified file fails: ${whole.error.code}`, input);
  const summary = (o: ReadOutcome) =>
    JSON.stringify({ ...o, error: o.error && { code: o.error.code, offset: o.error.facts.offset } });
  if (summary(whole) !== summary(split)) {
    fail(
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
    bounded(
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

describe(`fuzz (seed=${SEED}, ${TOTAL} inputs; replay: ${REPLAY})`, () => {
  const big = (n: number) => n >= COVERAGE_MIN;

  it(`decodes ${COUNTS.random} random buffers on every link type and keeps the flow table bounded`, async () => {
    const { harness } = await fuzzDecodeTarget(1, 'random', COUNTS.random, (rng) =>
      rng.bytes(rng.chance(0.5) ? rng.below(64) : rng.below(256)),
    );
    if (big(COUNTS.random)) {
      expect(harness.results[DecodeResult.MALFORMED], `seed=${SEED} case=random#*`).toBeGreaterThan(0);
    }
  });

  it(`decodes ${COUNTS.mutated} mutated valid frames on every link type and keeps the flow table bounded`, async () => {
    const { harness, pipeline } = await fuzzDecodeTarget(2, 'mutated', COUNTS.mutated, (rng, lt) => {
      const real = REAL_FRAMES.get(lt);
      const seed = real && rng.chance(0.5) ? rng.pick(real) : seedFrame(rng, lt, SEEDS);
      return rng.chance(0.03) ? Buffer.from(seed) : mutate(rng, seed);
    });
    if (big(COUNTS.mutated)) {
      // The mutants reach every outcome, and enough flows to force evictions from the 64-flow table.
      for (const r of Object.values(DecodeResult)) {
        expect(harness.results[r], `seed=${SEED} case=mutated#* result ${r}`).toBeGreaterThan(0);
      }
      expect(pipeline.flows.counters.evictedLru, `seed=${SEED} case=mutated#*`).toBeGreaterThan(0);
    }
  });

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
