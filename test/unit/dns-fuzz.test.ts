// A seeded fuzz run of the DNS parser and the TCP framer: random bytes,
// generated messages with compression pointers, and mutated vectors; no throw,
// sane output, bounded time, and every parser anomaly reached.
//
//   FUZZ_SEED=<u32>  FUZZ_ITERATIONS=<n>  (default 24,000 parser inputs)

import { isIP } from 'node:net';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../agent/src/decode/anomaly.js';
import { type DnsMessage, DnsType, parseDnsMessage } from '../../agent/src/names/dns.js';
import {
  A_RESPONSE,
  AAAA_RESPONSE,
  ANSWER_POINTER_LOOP,
  CNAME_CHAIN,
  frame,
  POINTER_PAST_END,
  QUERY,
  SELF_POINTER,
  tcpStream,
} from '../support/dns-vectors.js';
import { caseRng, fuzzIterations, fuzzSeed, mutate, type Rng } from '../support/fuzz.js';

const SEED = fuzzSeed();
const FUZZ_TOTAL = fuzzIterations(24_000);
const REPLAY = `FUZZ_SEED=${SEED} FUZZ_ITERATIONS=${FUZZ_TOTAL} npx vitest run test/unit/dns-fuzz.test.ts`;
/** A parse of a message of at most 64 KiB takes microseconds; this much means something is quadratic or hangs. */
const CASE_LIMIT_MS = 100;
const WATCHDOG_MS = 10_000;
const BATCH = 1_000;
const Target = { RANDOM: 0, STRUCTURED: 1, MUTATED: 2, FRAMER: 3 } as const;

function fail(where: string, what: string, input?: Uint8Array): never {
  const hex = input ? `\ninput (${input.length} bytes): ${Buffer.from(input).toString('hex')}` : '';
  throw new Error(`${what} [seed=${SEED} case=${where}]${hex}\nreplay: ${REPLAY}`);
}

// A hang blocks the event loop, so no test timeout can end it; a vm script's timeout can.
const watchdog = vm.createContext({ run: null as null | (() => void) });
const runInWatchdog = new vm.Script('run()');
function bounded(current: () => string, batch: () => void): void {
  watchdog.run = batch;
  try {
    runInWatchdog.runInContext(watchdog, { timeout: WATCHDOG_MS });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT')
      fail(current(), `no answer in ${WATCHDOG_MS} ms`);
    throw e;
  } finally {
    watchdog.run = null;
  }
}

const LABELS = ['www', 'example', 'org', 'cdn', 'edge', 'a', 'x'.repeat(63), 'Mixed', 'dji', 'com'];

/** A plausible message: names with pointers to earlier names (and now and then a bad one), records of every kind. */
function structuredMessage(rng: Rng): Buffer {
  const out: number[] = [];
  const nameStarts: number[] = [];
  const u16 = (v: number) => out.push((v >> 8) & 0xff, v & 0xff);
  const name = () => {
    const start = out.length;
    for (let n = rng.below(4); n > 0; n--) {
      if (nameStarts.length > 0 && rng.chance(0.3)) break;
      const label = rng.chance(0.9) ? rng.pick(LABELS) : rng.bytes(rng.range(1, 70)).toString('latin1');
      out.push(Math.min(label.length, 0xff), ...Buffer.from(label, 'latin1'));
    }
    if (nameStarts.length > 0 && rng.chance(0.4)) {
      const to = rng.chance(0.95) ? rng.pick(nameStarts) : rng.below(0x4000);
      u16(0xc000 | to);
    } else out.push(0);
    nameStarts.push(start);
  };
  u16(rng.below(0x10000));
  u16(rng.chance(0.8) ? 0x8180 | rng.below(16) : rng.below(0x10000));
  const qd = rng.chance(0.9) ? 1 : rng.below(3);
  const an = rng.below(7);
  u16(qd);
  u16(an);
  u16(0);
  u16(rng.below(2));
  for (let i = 0; i < qd; i++) {
    name();
    u16(rng.pick([1, 28, 5, 65]));
    u16(1);
  }
  for (let i = 0; i < an; i++) {
    name();
    const type = rng.pick([1, 28, 5, 5, 16, 46]);
    u16(type);
    u16(rng.chance(0.9) ? 1 : rng.below(5));
    u16(rng.below(0x10000));
    u16(rng.below(0x10000));
    const lenAt = out.length;
    u16(0);
    const rdStart = out.length;
    if (type === 1) out.push(...rng.bytes(rng.chance(0.9) ? 4 : rng.below(8)));
    else if (type === 28) out.push(...rng.bytes(rng.chance(0.9) ? 16 : rng.below(20)));
    else if (type === 5) name();
    else out.push(...rng.bytes(rng.below(40)));
    const rdLen = Math.max(0, out.length - rdStart + (rng.chance(0.05) ? rng.range(-2, 2) : 0));
    out[lenAt] = rdLen >> 8;
    out[lenAt + 1] = rdLen & 0xff;
  }
  return Buffer.from(out);
}

const VECTORS = [QUERY, A_RESPONSE, AAAA_RESPONSE, CNAME_CHAIN, SELF_POINTER, ANSWER_POINTER_LOOP, POINTER_PAST_END];

/** Label lengths of a name as dns.ts writes it (escapes undone); null if dns.ts could not have written it. */
function labelLengths(text: string): number[] | null {
  if (text === '') return []; // the root
  const lengths: number[] = [];
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '.') {
      if (n === 0) return null;
      lengths.push(n);
      n = 0;
      continue;
    }
    if (c === '\\') {
      const digits = text.slice(i + 1, i + 4);
      if (/^\d{3}$/.test(digits)) {
        const v = Number(digits);
        if (v > 0xff || (v > 0x20 && v < 0x7f)) return null; // printable bytes are never escaped as digits
        i += 3;
      } else if (text[i + 1] === '.' || text[i + 1] === '\\') i++;
      else return null;
    } else if (c < '!' || c > '~' || (c >= 'A' && c <= 'Z')) return null;
    n++;
  }
  if (n === 0) return null; // no trailing dot
  lengths.push(n);
  return lengths;
}

/** Lowercase, escaped, labels of 1 to 63 octets, at most 255 octets on the wire. */
function nameOk(text: string): boolean {
  const lengths = labelLengths(text);
  if (lengths === null) return false;
  return lengths.every((n) => n <= 63) && lengths.reduce((sum, n) => sum + 1 + n, 1) <= 255;
}

/** What the parser inputs reached, summed over the run: proof that the fuzzing gets past the header. */
const reached = { anomalies: new Anomalies(), dropped: 0, partial: 0, withAnswers: 0 };

/** Parse `input` at offset 0 and inside random padding: no throw, sane output, same result both ways. */
function checkParse(where: string, input: Buffer, rng: Rng): void {
  const a1 = new Anomalies();
  const t = performance.now();
  let m: DnsMessage | null;
  try {
    m = parseDnsMessage(input, 0, input.length, a1);
  } catch (e) {
    fail(where, `parseDnsMessage threw: ${e instanceof Error ? e.stack : String(e)}`, input);
  }
  let ms = performance.now() - t;
  // A slow parse is parsed again: a quadratic or hanging parser is slow every time, a machine
  // busy with other work (a GC pause, another process on the core) only once in a while.
  for (let again = 0; again < 2 && ms > CASE_LIMIT_MS; again++) {
    const t2 = performance.now();
    parseDnsMessage(input, 0, input.length, new Anomalies());
    ms = Math.min(ms, performance.now() - t2);
  }
  if (ms > CASE_LIMIT_MS) fail(where, `parse took ${ms.toFixed(1)} ms (the fastest of 3)`, input);
  for (let i = 0; i < a1.counts.length; i++) reached.anomalies.counts[i] += a1.counts[i];
  if (m === null) reached.dropped++;
  else if (m.partial) reached.partial++;
  else if (m.answers.length > 0) reached.withAnswers++;
  // A dropped message counts exactly its one reason; a partial one at least the fault that ended it.
  if (m === null && a1.total() !== 1) fail(where, `a dropped message counted ${a1.total()} anomalies`, input);
  if (m?.partial && a1.total() < 1) fail(where, 'a partial message counted no anomaly', input);
  if (m !== null) {
    if (input.length < 12) fail(where, 'a message shorter than its header parsed', input);
    if (m.questions.length !== input.readUInt16BE(4)) fail(where, 'question count differs from QDCOUNT', input);
    if (m.answers.length > input.readUInt16BE(6)) fail(where, 'more answers than ANCOUNT', input);
    for (const q of m.questions) if (!nameOk(q.name)) fail(where, `bad question name ${q.name}`, input);
    for (const x of m.answers) {
      if (!nameOk(x.name) || (x.target !== undefined && !nameOk(x.target))) {
        fail(where, `bad answer name ${x.name} ${x.target ?? ''}`, input);
      }
      if (x.address !== undefined && isIP(x.address) !== (x.type === DnsType.A ? 4 : 6))
        fail(where, 'bad address', input);
      if (!(x.ttl >= 0 && x.ttl <= 0x7fffffff)) fail(where, `bad TTL ${x.ttl}`, input);
    }
  }
  // The same bytes inside a larger buffer: nothing outside [off, off + len) may matter.
  const pre = rng.below(40);
  const padded = Buffer.concat([rng.bytes(pre), input, rng.bytes(rng.below(40))]);
  const a2 = new Anomalies();
  const m2 = parseDnsMessage(padded, pre, input.length, a2);
  if (JSON.stringify(m2) !== JSON.stringify(m) || JSON.stringify(a2) !== JSON.stringify(a1)) {
    fail(where, `result differs at offset ${pre}`, input);
  }
}

/** A random stream of frames in random chunks gives the same messages as in one piece. */
function checkFramer(where: string, rng: Rng): void {
  const parts: Buffer[] = [];
  for (let n = rng.below(5); n > 0; n--) {
    const m = rng.chance(0.5) ? rng.pick(VECTORS) : rng.bytes(rng.below(300));
    parts.push(rng.chance(0.03) ? Buffer.of(0, 0) : tcpStream(m));
  }
  if (rng.chance(0.3)) parts.push(rng.bytes(rng.below(4))); // a torn end
  const stream = Buffer.concat(parts);
  const cuts: number[] = [];
  for (let n = rng.below(8); n > 0; n--) cuts.push(rng.below(stream.length + 1));
  cuts.sort((x, y) => x - y);
  try {
    const whole = frame(stream, []);
    const split = frame(stream, cuts);
    if (JSON.stringify(split.out) !== JSON.stringify(whole.out) || split.framer.failed !== whole.framer.failed) {
      fail(where, `split at ${cuts.join(',')} gives other messages`, stream);
    }
    if (split.framer.buffered > 2 + 0xffff) fail(where, 'framer holds more than one message', stream);
  } catch (e) {
    if ((e as Error).message.includes('[seed=')) throw e;
    fail(where, `framer threw: ${e instanceof Error ? e.stack : String(e)}`, stream);
  }
}

describe(`fuzz (seed=${SEED}, ${FUZZ_TOTAL} parser inputs)`, () => {
  const parseCounts = { random: Math.ceil(FUZZ_TOTAL * 0.3), structured: Math.ceil(FUZZ_TOTAL * 0.3) };
  const mutatedCount = Math.max(0, FUZZ_TOTAL - parseCounts.random - parseCounts.structured);

  function run(target: number, label: string, count: number, one: (rng: Rng, where: string) => void) {
    let current = '';
    for (let start = 0; start < count; start += BATCH) {
      bounded(
        () => current,
        () => {
          for (let i = start; i < Math.min(count, start + BATCH); i++) {
            current = `${label}#${i}`;
            one(caseRng(SEED, target, i), current);
          }
        },
      );
    }
  }

  it('parseDnsMessage on random bytes: no throw, bounded time', () => {
    run(Target.RANDOM, 'random', parseCounts.random, (rng, where) => {
      const b = rng.bytes(rng.chance(0.8) ? rng.below(128) : rng.below(1500));
      if (b.length >= 6 && rng.chance(0.7)) b.writeUInt16BE(rng.below(8), 4); // QDCOUNT small enough to get past the counts
      if (b.length >= 8 && rng.chance(0.7)) b.writeUInt16BE(rng.below(8), 6);
      checkParse(where, b, rng);
    });
  });

  it('parseDnsMessage on generated messages with pointers: no throw, bounded time', () => {
    run(Target.STRUCTURED, 'structured', parseCounts.structured, (rng, where) => {
      checkParse(where, structuredMessage(rng), rng);
    });
  });

  it('parseDnsMessage on mutated vectors and generated messages: no throw, bounded time', () => {
    run(Target.MUTATED, 'mutated', mutatedCount, (rng, where) => {
      const seed = rng.chance(0.5) ? rng.pick(VECTORS) : structuredMessage(rng);
      checkParse(where, mutate(rng, seed), rng);
    });
  });

  it.runIf(FUZZ_TOTAL >= 10_000)('reaches every parser outcome and every dns.* anomaly of the parser', () => {
    const counted = reached.anomalies.toJSON();
    for (const name of [
      'dns.trunc_header',
      'dns.trunc_record',
      'dns.bad_label',
      'dns.pointer_loop',
      'dns.pointer_out_of_bounds',
      'dns.name_too_long',
      'dns.bad_rdata',
    ] as const) {
      expect(counted[name], `${name} never counted [seed=${SEED}]`).toBeGreaterThan(0);
    }
    const total = reached.dropped + reached.partial + reached.withAnswers;
    expect(reached.withAnswers, `complete answers in ${total} inputs`).toBeGreaterThan(FUZZ_TOTAL / 20);
    expect(reached.partial).toBeGreaterThan(FUZZ_TOTAL / 100);
  });

  it('DnsTcpFramer on random frame streams in random chunks: same messages as in one piece', () => {
    run(Target.FRAMER, 'framer', Math.ceil(FUZZ_TOTAL / 10), (rng, where) => checkFramer(where, rng));
  });

  it('stays fast on the largest messages: 5,000 answers, and answers whose names are chains of pointers', () => {
    // Question "a" A IN @12, then `n` TXT answers (skipped) of 12 bytes each: NAME pointer, TYPE, CLASS, TTL 0, RDLENGTH 0.
    const build = (n: number, chained: boolean) => {
      const msg = Buffer.alloc(19 + n * 12);
      msg.writeUInt16BE(0x8180, 2);
      msg.writeUInt16BE(1, 4);
      msg.writeUInt16BE(n, 6);
      msg.set([0x01, 0x61, 0x00, 0x00, 0x01, 0x00, 0x01], 12);
      for (let i = 0, at = 19; i < n; i++, at += 12) {
        // Each NAME points to the question, or to the previous answer's NAME (a pointer to a pointer to …).
        msg.writeUInt16BE(0xc000 | (chained && i > 0 ? (at - 12) & 0x3fff : 12), at);
        msg.writeUInt16BE(16, at + 2);
        msg.writeUInt16BE(1, at + 4);
      }
      return msg;
    };
    for (const [n, chained] of [
      [5000, false],
      [1300, true],
    ] as const) {
      const msg = build(n, chained);
      const anomalies = new Anomalies();
      let m: DnsMessage | null = null;
      const t = performance.now();
      bounded(
        () => `largest n=${n} chained=${chained}`,
        () => {
          m = parseDnsMessage(msg, 0, msg.length, anomalies);
        },
      );
      expect(performance.now() - t).toBeLessThan(500);
      // Chained: the 128th answer needs 128 jumps, one more than any 255-octet name can use.
      expect(anomalies.get('dns.pointer_loop')).toBe(chained ? 1 : 0);
      expect((m as DnsMessage | null)?.partial).toBe(chained);
    }
  });
});
