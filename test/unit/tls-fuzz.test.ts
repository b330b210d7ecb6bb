// Seeded fuzz of ClientHello parsing: mutated hellos, in records and bare as
// QUIC carries them, never throw, decide once, and report only sane names.

import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../agent/src/decode/anomaly.js';
import { MAX_ALPN, parseClientHelloMessage, parseTlsClientHello } from '../../agent/src/names/tls.js';
import type { ClientHelloInfo, Outcome } from '../../agent/src/names/types.js';
import { caseRng, fuzzIterations, fuzzSeed, mutate } from '../support/fuzz.js';
import { clientHello, RFC9001_HELLO, records } from '../support/tls-hello.js';

describe('seeded fuzz: mutated ClientHellos', () => {
  const SEED = fuzzSeed();
  const N = fuzzIterations(20_000);
  const seeds = [
    RFC9001_HELLO,
    records(clientHello({ sni: 'example.org', alpn: ['h2', 'http/1.1'], versions: [0x0304, 0x0303] })),
    records(clientHello({ sni: 'a.example', ech: true, postQuantum: true }), [600]),
    records(clientHello({ sni: null, alpn: ['x'] }), [3, 40]),
  ];
  const bare = seeds.map((s) => s.subarray(5));
  const fail = (c: number, what: string, input: Buffer): never => {
    throw new Error(
      `${what} [seed=${SEED} case=${c}] input=${input.toString('hex')}\nreplay: FUZZ_SEED=${SEED} FUZZ_ITERATIONS=${N} npx vitest run test/unit/tls-fuzz.test.ts`,
    );
  };

  it(`never throws, decides only once, and reports only sane names (${N} cases)`, () => {
    const kinds: Record<string, number> = {};
    for (let c = 0; c < N; c++) {
      const rng = caseRng(SEED, 200, c);
      const isBare = rng.chance(0.3);
      const input = mutate(rng, rng.pick(isBare ? bare : seeds), 12);
      const fn = isBare ? parseClientHelloMessage : parseTlsClientHello;
      let full: Outcome<ClientHelloInfo>;
      let prefix: Outcome<ClientHelloInfo>;
      const k = rng.below(input.length + 1);
      try {
        full = fn(input, 0, input.length, new Anomalies());
        prefix = fn(input, 0, k, new Anomalies());
      } catch (e) {
        return fail(c, `threw ${e instanceof Error ? e.stack : e}`, input);
      }
      if (full.kind === 'need' && !(full.bytes > 0)) fail(c, `need ${full.bytes}`, input);
      if (full.kind === 'done') {
        const v = full.value;
        if (v.sni !== null && !/^[\x21-\x40\x5b-\x7e]{1,254}$/.test(v.sni))
          fail(c, `odd sni ${JSON.stringify(v.sni)}`, input);
        if (v.alpn.length > MAX_ALPN) fail(c, 'too many ALPN entries', input);
      }
      // A decision made on a prefix is final; a request for more never asks past the end of a complete hello.
      if (prefix.kind !== 'need' && JSON.stringify(prefix) !== JSON.stringify(full))
        fail(c, `prefix ${k} decided ${JSON.stringify(prefix)}, whole ${JSON.stringify(full)}`, input);
      if (prefix.kind === 'need' && full.kind === 'done' && k + prefix.bytes > input.length)
        fail(c, `prefix ${k} asked for ${prefix.bytes}, hello complete at ${input.length}`, input);
      const kind = full.kind === 'invalid' ? full.anomaly : full.kind;
      kinds[kind] = (kinds[kind] ?? 0) + 1;
    }
    // The mutants reach every outcome, so the properties above were tested on each.
    if (N >= 10_000)
      for (const k of [
        'done',
        'need',
        'tls.bad_record',
        'tls.bad_handshake',
        'tls.bad_extension',
        'tls.not_client_hello',
      ])
        expect(kinds[k] ?? 0, `${k} in ${JSON.stringify(kinds)} [seed=${SEED}]`).toBeGreaterThan(20);
  });
});
