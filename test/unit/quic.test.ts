// QUIC Initial decryption and CRYPTO reassembly: the RFC 9001 and RFC 9369
// sample packets (keys, header protection, the ClientHello inside), our own
// protector checked byte for byte against them, then multi-packet Initials
// built with it — out of order, coalesced, with PING/PADDING/ACK between,
// overlapping retransmissions, 1-byte packet numbers past 255, a DCID switch
// and a v1→v2 switch — checked against tshark too; every way of giving up
// with its anomaly name; and a seeded fuzz run.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../agent/src/decode/anomaly.js';
import { clientInitialSecrets, MAX_CRYPTO, QuicInitialAssembler, QuicVersion } from '../../agent/src/names/quic.js';
import type { ClientHelloInfo, Outcome } from '../../agent/src/names/types.js';
import { ethernet, ipPacket, pcapFile, udpDatagram } from '../support/builders.js';
import { caseRng, fuzzIterations, fuzzSeed, mutate, type Rng } from '../support/fuzz.js';
import { cryptoFrames, frame, type InitialOptions, protectInitial } from '../support/quic-encoder.js';
import { RFC_CRYPTO_FRAME, RFC_DCID, V1, V2 } from '../support/quic-vectors.js';
import { clientHello } from '../support/tls-hello.js';

const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const DCID = h(RFC_DCID);
const RFC_HELLO = {
  sni: 'example.com',
  alpn: ['alpn'],
  ech: false,
  legacyVersion: 0x0303,
  supportedVersions: [0x0304],
};

/** Feed datagrams to one assembler; every outcome and the anomalies that fired. */
function feed(datagrams: Buffer[]) {
  const q = new QuicInitialAssembler();
  const anomalies = new Anomalies();
  const outcomes = datagrams.map((d) => {
    const buf = Buffer.concat([Buffer.alloc(7, 0xc3), d, Buffer.alloc(9, 0xc3)]); // junk around: no reads outside
    return q.addDatagram(buf, 7, d.length, anomalies);
  });
  const fired = Object.fromEntries(Object.entries(anomalies.toJSON()).filter(([, n]) => n !== 0));
  return { q, outcomes, fired, last: outcomes.at(-1) };
}

describe('RFC 9001 and RFC 9369 Appendix A', () => {
  it.each([
    ['v1 (RFC 9001 A.1)', QuicVersion.V1, V1],
    ['v2 (RFC 9369 A.1)', QuicVersion.V2, V2],
  ])('derives the client Initial secrets and keys, %s', (_n, version, v) => {
    const s = clientInitialSecrets(version, DCID)!;
    expect({
      initialSecret: s.initialSecret.toString('hex'),
      clientSecret: s.clientSecret.toString('hex'),
      key: s.key.toString('hex'),
      iv: s.iv.toString('hex'),
      hp: s.hp.toString('hex'),
    }).toEqual({ initialSecret: v.initialSecret, clientSecret: v.clientSecret, key: v.key, iv: v.iv, hp: v.hp });
  });

  it.each([
    ['v1 (RFC 9001 A.2)', QuicVersion.V1, V1],
    ['v2 (RFC 9369 A.2)', QuicVersion.V2, V2],
  ])('opens the client Initial and reads example.com from its ClientHello, %s', (_n, version, v) => {
    const packet = h(v.packet);
    expect(packet.length).toBe(1200);
    const { q, outcomes, fired } = feed([packet]);
    expect(outcomes).toEqual([{ kind: 'done', value: RFC_HELLO }]);
    expect(q.version).toBe(version);
    expect(q.packets).toBe(1);
    expect(fired).toEqual({});
  });

  it.each([
    ['v1', QuicVersion.V1, V1],
    ['v2', QuicVersion.V2, V2],
  ])('our test protector rebuilds the RFC packet byte for byte, %s', (_n, version, v) => {
    const payload = Buffer.concat([h(RFC_CRYPTO_FRAME), Buffer.alloc(1162 - h(RFC_CRYPTO_FRAME).length)]);
    const packet = protectInitial({ version, dcid: DCID, pn: 2, pnLen: 4, payload });
    expect(packet.toString('hex')).toBe(v.packet);
    // Version, connection IDs, token and Length: the header bytes that header protection leaves alone.
    expect(packet.subarray(1, 18).toString('hex')).toBe(v.header.slice(2, 36));
  });
});

// A post-quantum ClientHello (about 1.8 KB) must span two Initial packets of a 1200-byte datagram.
const PQ = clientHello({ sni: 'example.org', alpn: ['h3'], postQuantum: true, versions: [0x0304] });
const PQ_INFO = { sni: 'example.org', alpn: ['h3'], ech: false, legacyVersion: 0x0303, supportedVersions: [0x0304] };
const CID = h('c0ffee0123456789');

const initial = (o: Partial<InitialOptions> & { pn: number; payload: Buffer }) =>
  protectInitial({ dcid: CID, padTo: 1200, ...o });

/** The ClientHello in `parts` CRYPTO frames, one packet each, numbered from 0. */
function split(hello: Buffer, parts: number, o: Partial<InitialOptions> = {}): Buffer[] {
  const size = Math.ceil(hello.length / parts);
  return cryptoFrames(hello, size).map((f, pn) => initial({ pn, payload: f, ...o }));
}

describe('a ClientHello across several Initial packets', () => {
  it('needs two packets for a post-quantum hello, and says so after the first', () => {
    expect(PQ.length).toBeGreaterThan(1700);
    const { outcomes, fired, q } = feed(split(PQ, 2));
    expect(outcomes[0]).toEqual({ kind: 'need', bytes: expect.any(Number) });
    expect(outcomes[1]).toEqual({ kind: 'done', value: PQ_INFO });
    expect(q.packets).toBe(2);
    expect(fired).toEqual({});
  });

  it('reads them in any order, three packets, with PING, ACK and PADDING between the CRYPTO frames', () => {
    const f = cryptoFrames(PQ, 700);
    const pkts = [
      initial({ pn: 0, payload: Buffer.concat([frame.ping(), f[0], frame.padding(3)]) }),
      initial({ pn: 1, payload: Buffer.concat([frame.padding(5), frame.ack(0, 0), f[1], frame.ping()]) }),
      initial({ pn: 2, payload: Buffer.concat([frame.ack(3, 1, [[0, 0]], [1, 0, 0]), frame.padding(1), f[2]]) }),
    ];
    for (const order of [
      [0, 1, 2],
      [2, 1, 0],
      [1, 2, 0],
      [2, 0, 1],
    ]) {
      const { outcomes, fired } = feed(order.map((i) => pkts[i]));
      expect(outcomes.slice(0, 2).map((o) => o?.kind)).toEqual(['need', 'need']);
      expect(outcomes[2]).toEqual({ kind: 'done', value: PQ_INFO });
      expect(fired).toEqual({});
    }
  });

  it('reads CRYPTO frames out of order inside one packet, and overlapping retransmissions', () => {
    const f = cryptoFrames(PQ, 500);
    const first = initial({ pn: 0, payload: Buffer.concat([f[1], f[0]]) }); // 0..999, second half first
    // A retransmission with a new packet number, overlapping what came: 400..1399, then the rest.
    const retx = initial({ pn: 1, payload: frame.crypto(400, PQ.subarray(400, 1400)) });
    const rest = initial({ pn: 2, payload: frame.crypto(1400, PQ.subarray(1400)) });
    const { outcomes, fired } = feed([first, retx, rest]);
    expect(outcomes.map((o) => o?.kind)).toEqual(['need', 'need', 'done']);
    expect(outcomes[2]).toEqual({ kind: 'done', value: PQ_INFO });
    expect(fired).toEqual({});
  });

  it('reads two Initials coalesced in one datagram, and skips 0-RTT, short-header and trailing padding', () => {
    const [a, b] = cryptoFrames(PQ, 950).map((f, pn) => protectInitial({ dcid: CID, pn, payload: f }));
    const zeroRtt = Buffer.concat([h('d1 00000001 08'), CID, h('00 4010'), Buffer.alloc(16, 0x55)]); // type 0b01, Length 16
    const shortHeader = Buffer.concat([h('41'), CID, Buffer.alloc(30, 0x77)]);
    const datagram = Buffer.concat([a, b, zeroRtt, shortHeader]);
    const { outcomes, fired } = feed([datagram]);
    expect(outcomes).toEqual([{ kind: 'done', value: PQ_INFO }]);
    expect(fired).toEqual({});
    expect(feed([Buffer.concat([a, b, Buffer.alloc(200)])]).outcomes).toEqual([{ kind: 'done', value: PQ_INFO }]);
  });

  it('ignores a coalesced packet with another Destination Connection ID (RFC 9000 §12.2)', () => {
    const [a, b] = cryptoFrames(PQ, 950).map((f, pn) => protectInitial({ dcid: CID, pn, payload: f }));
    const other = protectInitial({
      dcid: h('0102030405060708'),
      keysFrom: CID,
      pn: 1,
      payload: cryptoFrames(PQ, 950)[1],
    });
    const { outcomes } = feed([Buffer.concat([a, other]), b]);
    expect(outcomes.map((o) => o?.kind)).toEqual(['need', 'done']);
  });

  it('reconstructs 1-byte packet numbers past 255 (RFC 9000 A.3): one packet per 5 CRYPTO bytes', () => {
    const hello = clientHello({ sni: 'pn.example', padding: 1200 });
    const pkts = cryptoFrames(hello, 5).map((f, pn) => initial({ pn, pnLen: 1, payload: f, padTo: 0 }));
    expect(pkts.length).toBeGreaterThan(256);
    const { last, fired, q } = feed(pkts);
    expect(last).toEqual({ kind: 'done', value: expect.objectContaining({ sni: 'pn.example' }) });
    expect(q.packets).toBe(pkts.length);
    expect(fired).toEqual({});
  });

  it('keeps the first connection ID’s keys after the client switches to the server’s connection ID', () => {
    const f = cryptoFrames(PQ, 950);
    const a = initial({ pn: 0, payload: f[0] });
    const b = initial({ pn: 1, payload: f[1], dcid: h('5e7e4c1d'), keysFrom: CID, scid: h('aabb') });
    expect(feed([a, b]).last).toEqual({ kind: 'done', value: PQ_INFO });
  });

  it('opens v2 Initials, and v2 after v1 (compatible version negotiation), keeping the first version', () => {
    expect(feed(split(PQ, 2, { version: QuicVersion.V2 })).last).toEqual({ kind: 'done', value: PQ_INFO });
    const f = cryptoFrames(PQ, 950);
    const { q, last } = feed([
      initial({ pn: 0, payload: f[0] }),
      initial({ pn: 1, payload: f[1], version: QuicVersion.V2 }),
    ]);
    expect(last).toEqual({ kind: 'done', value: PQ_INFO });
    expect(q.version).toBe(QuicVersion.V1);
  });

  it('reads tokens, source connection IDs, a 4-byte Length and 2-byte packet numbers', () => {
    const pkts = split(PQ, 2, { token: Buffer.alloc(60, 0x7a), scid: h('0011223344'), lengthWidth: 4, pnLen: 2 });
    expect(feed(pkts).last).toEqual({ kind: 'done', value: PQ_INFO });
  });

  it('returns null for datagrams without a client Initial, and after the decision', () => {
    const shortOnly = Buffer.concat([h('40'), CID, Buffer.alloc(40, 1)]);
    const { outcomes } = feed([shortOnly, ...split(PQ, 2), split(PQ, 2)[0]]);
    expect(outcomes.map((o) => o?.kind ?? null)).toEqual([null, 'need', 'done', null]);
    expect(feed([Buffer.alloc(0)]).outcomes).toEqual([null]);
  });
});

describe('what cannot be read', () => {
  const good = split(PQ, 2);
  const invalid = (anomaly: string) => ({ kind: 'invalid', anomaly });
  const withVersion = (v: number) => {
    const b = Buffer.from(good[0]);
    b.writeUInt32BE(v >>> 0, 1);
    return b;
  };

  it.each([
    ['version negotiation', 0x00000000],
    ['a GREASE version', 0x1a2a3a4a],
    ['another GREASE version', 0xfafafafa],
    ['draft-29', 0xff00001d],
    ['Google QUIC Q050', 0x51303530],
    ['the v2 draft codepoint', 0x709a50c4],
  ])('an unknown version: %s', (_n, version) => {
    const { q, outcomes, fired } = feed([withVersion(version), good[1]]);
    expect(outcomes).toEqual([invalid('quic.unknown_version'), null]);
    expect(q.version).toBe(version);
    expect(fired).toEqual({ 'quic.unknown_version': 1 });
  });

  it('a first Initial that does not decrypt (wrong keys, altered byte)', () => {
    const altered = Buffer.from(good[0]);
    altered[600] ^= 1;
    for (const bad of [altered, initial({ pn: 0, payload: frame.ping(), keysFrom: h('0000000000000000') })]) {
      const { outcomes, fired } = feed([bad, good[1]]);
      expect(outcomes).toEqual([invalid('quic.decrypt_failed'), null]);
      expect(fired).toEqual({ 'quic.decrypt_failed': 1 });
    }
  });

  it('a corrupt packet after a good one is counted and skipped; the retransmission completes the hello', () => {
    const altered = Buffer.from(good[1]);
    altered[1100] ^= 0x80;
    const retx = initial({ pn: 5, payload: cryptoFrames(PQ, Math.ceil(PQ.length / 2))[1] });
    const { outcomes, fired } = feed([good[0], altered, retx]);
    expect(outcomes.map((o) => o?.kind)).toEqual(['need', 'need', 'done']);
    expect(fired).toEqual({ 'quic.decrypt_failed': 1 });
  });

  it.each([
    ['a STREAM frame', Buffer.from([0x08, 0x00, 0x01])],
    ['an application CONNECTION_CLOSE (0x1d)', Buffer.from([0x1d, 0x00, 0x00])],
    ['a NEW_TOKEN frame', Buffer.from([0x07, 0x01, 0xaa])],
    ['a truncated CRYPTO frame', Buffer.concat([Buffer.from([0x06, 0x00, 0x44, 0x00]), Buffer.alloc(10)])],
    ['an ACK with more ranges than bytes', Buffer.from([0x02, 0x05, 0x00, 0x7f, 0xff, 0x00])],
  ])('an authenticated Initial holding %s', (_n, frames) => {
    // Enough padding precedes the bad frame that it is the last thing in the packet.
    const pkt = protectInitial({ dcid: CID, pn: 0, payload: Buffer.concat([frame.padding(1100), frames]) });
    expect(feed([pkt])).toMatchObject({ outcomes: [invalid('quic.bad_frame')], fired: { 'quic.bad_frame': 1 } });
  });

  it('a CONNECTION_CLOSE from the client is a frame an Initial may hold', () => {
    const pkt = initial({
      pn: 0,
      payload: Buffer.concat([frame.connectionClose(0x0a, 'bye'), cryptoFrames(PQ, 2000)[0]]),
    });
    expect(feed([pkt]).last).toEqual({ kind: 'done', value: PQ_INFO });
  });

  it(`CRYPTO data beyond ${MAX_CRYPTO} bytes`, () => {
    const pkt = initial({ pn: 0, payload: frame.crypto(MAX_CRYPTO - 10, Buffer.alloc(20, 1)) });
    expect(feed([pkt])).toMatchObject({
      outcomes: [invalid('quic.crypto_overflow')],
      fired: { 'quic.crypto_overflow': 1 },
    });
  });

  it('a ClientHello that is not one', () => {
    const pkt = initial({ pn: 0, payload: frame.crypto(0, h('02000004 03030000')) });
    expect(feed([pkt])).toMatchObject({ outcomes: [invalid('tls.not_client_hello')] });
  });

  it.each([
    ['a datagram cut inside the header', good[0].subarray(0, 6)],
    ['a datagram cut inside the connection IDs', good[0].subarray(0, 12)],
    ['a 21-byte connection ID', Buffer.concat([h('c0 00000001 15'), Buffer.alloc(60)])],
    ['a Length past the datagram', good[0].subarray(0, 1000)],
    ['a token length past the datagram', Buffer.concat([h('c0 00000001 08'), CID, h('00 7fff'), Buffer.alloc(40)])],
    ['a packet too short to sample', Buffer.concat([h('c0 00000001 08'), CID, h('00 4010'), Buffer.alloc(16)])],
  ])('%s', (_n, datagram) => {
    expect(feed([datagram])).toMatchObject({ outcomes: [invalid('quic.bad_header')], fired: { 'quic.bad_header': 1 } });
  });
});

function tsharkQuic(file: string): string[] {
  const r = spawnSync(
    'tshark',
    ['-n', '-r', file, '-Y', 'tls.handshake.type == 1', '-T', 'fields', '-e', 'tls.handshake.extensions_server_name'],
    { encoding: 'utf8' },
  );
  if (r.error) throw new Error(`tshark is needed as the oracle (bash scripts/test installs it): ${r.error.message}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}

describe('built Initials in a capture, against tshark', () => {
  it('tshark reads the same names from the RFC packets and from our multi-packet Initials', () => {
    // Each flow its own connection ID: tshark tells QUIC connections apart by them.
    const cid = (i: number) => Buffer.from(`c1d0000${i}aabbccdd`, 'hex');
    const flows: Buffer[][] = [
      [h(V1.packet)],
      split(clientHello({ sni: 'two.example.org', postQuantum: true }), 2, { dcid: cid(1) }),
      split(clientHello({ sni: 'three.example.org', postQuantum: true }), 3, { dcid: cid(2) }).reverse(),
      [
        Buffer.concat(
          cryptoFrames(clientHello({ sni: 'coalesced.example.org', postQuantum: true }), 950).map((f, pn) =>
            protectInitial({ dcid: cid(3), pn, payload: f }),
          ),
        ),
      ],
      split(clientHello({ sni: 'v2.example.org', postQuantum: true }), 2, { dcid: cid(4), version: QuicVersion.V2 }),
    ];
    const recs = [];
    const ours: string[] = [];
    let t = 1_767_225_600_000_000;
    for (const [i, datagrams] of flows.entries()) {
      const e = { src: '10.0.0.2', dst: '203.0.113.20', sport: 50000 + i, dport: 443 };
      for (const d of datagrams)
        recs.push({ tsUs: t++, data: ethernet(ipPacket(e, udpDatagram({ ...e, payload: d }))) });
      const { last } = feed(datagrams);
      if (last?.kind !== 'done') throw new Error(`flow ${i}: ${JSON.stringify(last)}`);
      ours.push(last.value.sni ?? '');
    }
    const dir = mkdtempSync(join(tmpdir(), 'egress-quic-'));
    try {
      const file = join(dir, 'initials.pcap');
      writeFileSync(file, pcapFile(recs));
      expect(ours).toEqual(tsharkQuic(file));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('seeded fuzz: mutated Initials', () => {
  const SEED = fuzzSeed();
  const N = fuzzIterations(20_000);
  const REPLAY = `FUZZ_SEED=${SEED} FUZZ_ITERATIONS=${N} npx vitest run test/unit/quic.test.ts`;
  const hellos = [PQ, clientHello({ sni: 'a.example', alpn: ['h3'], ech: true }), h(RFC_CRYPTO_FRAME).subarray(4)];

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
