// Seeded fuzzing of the decoders on every link type and of the pipeline
// behind them (a flow table kept small so eviction runs, and whatever per-flow
// stages the pipeline has). Seeds are frames built with builders.ts plus the
// frames of the real captures under test/fixtures. A decoder may count an
// anomaly; it may not throw, read outside the frame, keep state from an
// earlier packet, or loop. FUZZ_SEED and FUZZ_ITERATIONS as in
// test/support/fuzz-run.ts; every failure message carries `seed=… case=…` and
// the replay command. The capture reader is fuzzed in fuzz-capture.test.ts;
// bash scripts/fuzz runs both in a loop over fresh seeds.

import { describe, expect, it } from 'vitest';
import { ANOMALY_NAMES, Anomaly } from '../../agent/src/decode/anomaly.js';
import { decodePacket } from '../../agent/src/decode/decode.js';
import { DecodeResult, IpProto, Packet } from '../../agent/src/decode/packet.js';
import { MAX_TUNNEL_DEPTH } from '../../agent/src/decode/tunnel.js';
import { caseRng, mutate, type Rng } from '../support/fuzz.js';
import {
  FUZZ_LINK_TYPES,
  fixtureCaptures,
  fixtureFrames,
  ipSeeds,
  randomLinkType,
  seedFrame,
} from '../support/fuzz-corpus.js';
import {
  COUNTS,
  COVERAGE_MIN,
  checkedOutput,
  checkFinished,
  describeError,
  FuzzRun,
  isPort,
  newPipeline,
  SEED,
} from '../support/fuzz-run.js';

/** Typed, so TypeScript sees that run.fail() does not return. */
const run: FuzzRun = new FuzzRun(import.meta.url);
/** Cases run in batches under the watchdog; a batch normally takes tens of milliseconds. */
const DECODE_BATCH = 1_000;
/** Counters of tunnels opened (one per packet per tunnel), and of what made a packet NOT_IP. */
const DECAP_COUNTERS = ANOMALY_NAMES.flatMap((n, i) => (n.startsWith('tunnel.') && n !== 'tunnel.too_deep' ? [i] : []));
const NOT_IP_COUNTERS = [Anomaly.LINK_NOT_IP, Anomaly.PPPOE_DISCOVERY, Anomaly.PPPOE_NOT_IP];
const SEEDS = ipSeeds();
/** Real traffic from the fixtures: half the frame seeds. */
const REAL_FRAMES = fixtureFrames(fixtureCaptures());

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
      run.fail(where, `decodePacket threw on link type ${linkType}: ${describeError(e)}`, frame);
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
      run.fail(where, `decodePacket threw at offset ${pre} on link type ${linkType}: ${describeError(e)}`, frame);
    }
    snapshot(fresh, r, 0, this.a);
    snapshot(this.reused, r2, pre, this.b);
    for (let i = 0; i < SNAP_LEN; i++) {
      if (this.a[i] !== this.b[i]) {
        run.fail(
          where,
          `decoding depends on bytes outside the frame or on the previous packet (link type ${linkType}): ` +
            `alone [${this.a.join(',')}] vs at offset ${pre} [${this.b.join(',')}]`,
          frame,
        );
      }
    }
    for (let i = 0; i < ANOMALY_NAMES.length; i++) {
      if (this.exactCounts[i] !== this.paddedCounts[i]) {
        run.fail(where, `counter ${ANOMALY_NAMES[i]} differs with the frame at offset ${pre}`, frame);
      }
    }
    this.results[r]++;
  }

  private invariants(where: string, frame: Buffer, linkType: number, p: Packet, r: number): void {
    const bad = (what: string) => run.fail(where, `${what} (link type ${linkType}, result ${r})`, frame);
    const counts = this.exactCounts;
    if (!(r === 0 || r === 1 || r === 2 || r === 3)) bad(`decodePacket returned ${r}`);
    let total = 0;
    for (const c of counts) total += c;
    if (r === DecodeResult.MALFORMED && total === 0) bad('MALFORMED without a named anomaly');
    // Tunnels opened on the way are counted too (tunnel.<kind>); what stopped the packet is exactly one counter.
    let opened = 0;
    for (const i of DECAP_COUNTERS) opened += counts[i];
    if (opened > MAX_TUNNEL_DEPTH + 1) bad(`${opened} tunnels opened`);
    let notIp = 0;
    for (const i of NOT_IP_COUNTERS) notIp += counts[i];
    if ((r === DecodeResult.NOT_IP) !== (notIp === 1)) bad('NOT_IP and its counters (link.not_ip, pppoe.*) disagree');
    if (r === DecodeResult.NOT_IP && total - opened !== 1) bad('NOT_IP counted more than once');
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
  const out = checkedOutput(run, () => where);
  const pipeline = newPipeline(out);
  let ts = 1_767_225_600_000_000;
  for (let first = 0; first < count; first += DECODE_BATCH) {
    run.bounded(
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
            run.fail(where, `pipeline threw on link type ${lt}: ${describeError(e)}`, frame);
          }
        }
      },
    );
  }
  where = `${name}#finish`;
  try {
    await pipeline.finish();
  } catch (e) {
    run.fail(where, `pipeline.finish threw: ${describeError(e)}`);
  }
  checkFinished(run, where, pipeline, out.flows);
  return { harness, pipeline };
}

// ---- The targets -------------------------------------------------------------------------

describe(run.title, () => {
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
});
