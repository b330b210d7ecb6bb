// Seeded fuzz of the QUIC Initial assembler: client flows of reordered and
// coalesced Initials, mutated before or after protection, never throw and
// decide at most once.

import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../agent/src/decode/anomaly.js';
import { QuicInitialAssembler } from '../../agent/src/names/quic.js';
import { QuicVersion } from '../../agent/src/names/quic-keys.js';
import type { ClientHelloInfo, Outcome } from '../../agent/src/names/types.js';
import { caseRng, fuzzIterations, fuzzSeed, mutate, type Rng } from '../support/fuzz.js';
import { cryptoFrames, frame, protectInitial } from '../support/quic-encoder.js';
import { CID, PQ } from '../support/quic-flows.js';
import { RFC_CRYPTO_FRAME } from '../support/quic-vectors.js';
import { clientHello, hex } from '../support/tls-hello.js';

describe('seeded fuzz: mutated Initials', () => {
  const SEED = fuzzSeed();
  const N = fuzzIterations(20_000);
  const REPLAY = `FUZZ_SEED=${SEED} FUZZ_ITERATIONS=${N} npx vitest run test/unit/quic-fuzz.test.ts`;
  const hellos = [PQ, clientHello({ sni: 'a.example', alpn: ['h3'], ech: true }), hex(RFC_CRYPTO_FRAME).subarray(4)];

  /** One client flow: 1–3 datagrams, each with 1–2 Initials; mutated before or after protection. */
  function flow(rng: Rng): Buffer[] {
    const version = rng.chance(0.7) ? QuicVersion.V1 : QuicVersion.V2;
    const hello = rng.pick(hellos);
    const size = rng.range(200, 2000);
    const frames = cryptoFrames(hello, size);
    const packets = frames.map((f, pn) => {
      let payload: Buffer = Buffer.concat([rng.chance(0.3) ? frame.ping() : Buffer.alloc(0), f]);
      if (rng.chance(0.3)) payload = mutate(rng, payload, 6); // bad frames, inside valid protection
      return protectInitial({
        version,
        dcid: CID,
        pn,
        pnLen: rng.range(1, 4),
        payload,
        padTo: rng.chance(0.5) ? 1200 : 0,
      });
    });
    if (rng.chance(0.5)) packets.reverse();
    const datagrams: Buffer[] = [];
    for (let i = 0; i < packets.length; ) {
      const n = rng.chance(0.3) ? 2 : 1;
      datagrams.push(Buffer.concat(packets.slice(i, i + n)));
      i += n;
    }
    if (datagrams.length === 0) datagrams.push(Buffer.alloc(0));
    const which = rng.below(datagrams.length);
    if (rng.chance(0.7)) datagrams[which] = mutate(rng, datagrams[which], 8); // bad headers, failed decryption
    return datagrams;
  }

  it(`never throws and decides at most once (${N} flows)`, () => {
    const kinds: Record<string, number> = {};
    for (let c = 0; c < N; c++) {
      const rng = caseRng(SEED, 300, c);
      const datagrams = flow(rng);
      const q = new QuicInitialAssembler();
      const anomalies = new Anomalies();
      let decided: Outcome<ClientHelloInfo> | null = null;
      for (const d of datagrams) {
        let r: Outcome<ClientHelloInfo> | null;
        try {
          r = q.addDatagram(d, 0, d.length, anomalies);
        } catch (e) {
          throw new Error(`threw ${e instanceof Error ? e.stack : e} [seed=${SEED} case=${c}]\nreplay: ${REPLAY}`);
        }
        if (decided && r !== null)
          throw new Error(`answered after deciding [seed=${SEED} case=${c}]\nreplay: ${REPLAY}`);
        if (r && r.kind !== 'need') decided = r;
        if (r?.kind === 'need' && !(r.bytes > 0)) throw new Error(`need ${r.bytes} [seed=${SEED} case=${c}]`);
        if (r?.kind === 'invalid' && anomalies.get(r.anomaly) === 0)
          throw new Error(`invalid without counting ${r.anomaly} [seed=${SEED} case=${c}]`);
      }
      const k = decided ? (decided.kind === 'invalid' ? decided.anomaly : 'done') : 'undecided';
      kinds[k] = (kinds[k] ?? 0) + 1;
    }
    // The mutants reach every stage: decryption failures, bad headers and frames, and readable hellos.
    if (N >= 10_000)
      for (const k of ['done', 'quic.decrypt_failed', 'quic.bad_header', 'quic.bad_frame', 'quic.unknown_version'])
        expect(kinds[k] ?? 0, `${k} in ${JSON.stringify(kinds)} [seed=${SEED}]`).toBeGreaterThan(20);
  });
});
