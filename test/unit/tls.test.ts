// TLS ClientHello extraction: an annotated byte vector, built hellos with
// every field the names stage reads, the record layer split every way, every
// malformation with its anomaly name, real hellos from openssl captures and
// built ones written to a pcap, both checked against tshark, the hello split
// at every byte into two TCP segments (in order, reversed, retransmitted),
// and a seeded fuzz run.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../agent/src/decode/anomaly.js';
import { TcpStreamAssembler } from '../../agent/src/names/stream.js';
import { MAX_ALPN, MAX_CLIENT_HELLO, parseClientHelloMessage, parseTlsClientHello } from '../../agent/src/names/tls.js';
import type { ClientHelloInfo, Outcome } from '../../agent/src/names/types.js';
import { ethernet, ipPacket, pcapFile, tcpSegment } from '../support/builders.js';
import { caseRng, fuzzIterations, fuzzSeed, mutate } from '../support/fuzz.js';
import { clientSegments } from '../support/tcp-capture.js';
import { clientHello, extension, records } from '../support/tls-hello.js';

function hex(...fields: string[]): Buffer {
  const s = fields.join('').replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/.test(s)) throw new Error(`bad hex vector: ${s}`);
  return Buffer.from(s, 'hex');
}

/** Parse `bytes` placed at a non-zero offset between junk, so reads outside the range would show. */
function parse(bytes: Buffer, bare = false) {
  const anomalies = new Anomalies();
  const buf = Buffer.concat([Buffer.alloc(3, 0x16), bytes, Buffer.alloc(16, 0x16)]);
  const outcome = (bare ? parseClientHelloMessage : parseTlsClientHello)(buf, 3, bytes.length, anomalies);
  const fired = Object.fromEntries(Object.entries(anomalies.toJSON()).filter(([, n]) => n !== 0));
  return { outcome, fired };
}

const done = (value: Partial<ClientHelloInfo>) => ({ kind: 'done', value: expect.objectContaining(value) });

// The ClientHello of RFC 9001 Appendix A.2 (carried there in a CRYPTO frame), in one TLS record.
const RFC9001_HELLO = hex(
  '16 0301 00f1', //                          record: handshake, TLS 1.0 record version, 241 bytes
  '01 0000ed', //                             ClientHello, 237 bytes
  '0303', //                                  legacy_version TLS 1.2
  'ebf8fa56f12939b9584a3896472ec40bb863cfd3e86804fe3a47f06a2b69484c', // random
  '00', //                                    legacy_session_id: empty
  '0004 1301 1302', //                        cipher_suites: TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384
  '01 00', //                                 compression: null
  '00c0', //                                  extensions: 192 bytes
  '0000 0010 000e 00 000b 6578616d706c652e636f6d', // server_name: host_name "example.com"
  'ff01 0001 00', //                          renegotiation_info
  '000a 0008 0006 001d 0017 0018', //         supported_groups: x25519, secp256r1, secp384r1
  '0010 0007 0005 04 616c706e', //            ALPN: "alpn"
  '0005 0005 0100000000', //                  status_request
  '0033 0026 0024 001d 0020 9370b2c9caa47fbabaf4559fedba753de171fa71f50f1ce15d43e994ec74d748', // key_share x25519
  '002b 0003 02 0304', //                     supported_versions: TLS 1.3
  '000d 0010 000e 0403 0503 0603 0203 0804 0805 0806', // signature_algorithms
  '002d 0002 01 01', //                       psk_key_exchange_modes: psk_dhe_ke
  '001c 0002 4001', //                        record_size_limit
  '0039 0032', //                            quic_transport_parameters, 50 bytes:
  '0408ffffffffffffffff 05048000ffff 07048000ffff 080110 010480007530 090110 0f088394c8f03e515708 06048000ffff',
);

describe('parseTlsClientHello on an annotated vector', () => {
  it('reads the RFC 9001 A.2 ClientHello', () => {
    expect(parse(RFC9001_HELLO)).toEqual({
      outcome: {
        kind: 'done',
        value: { sni: 'example.com', alpn: ['alpn'], ech: false, legacyVersion: 0x0303, supportedVersions: [0x0304] },
      },
      fired: {},
    });
  });

  it('reads the same message bare, as QUIC carries it', () => {
    expect(parse(RFC9001_HELLO.subarray(5), true).outcome).toEqual(parse(RFC9001_HELLO).outcome);
  });
});

describe('what a ClientHello says', () => {
  it('lowercases the name and keeps the ALPN order', () => {
    const msg = clientHello({
      sni: 'Flysafe-API.DJI.com',
      alpn: ['h2', 'http/1.1'],
      versions: [0x0a0a, 0x0304, 0x0303],
    });
    expect(parse(records(msg)).outcome).toEqual(
      done({ sni: 'flysafe-api.dji.com', alpn: ['h2', 'http/1.1'], supportedVersions: [0x0a0a, 0x0304, 0x0303] }),
    );
  });

  it('reports ECH and still the outer (public) name', () => {
    const { outcome, fired } = parse(
      records(clientHello({ sni: 'public.example.net', ech: true, versions: [0x0304] })),
    );
    expect(outcome).toEqual(done({ sni: 'public.example.net', ech: true }));
    expect(fired).toEqual({});
  });

  it('reads a hello without SNI, without extensions, and a TLS 1.0 legacy_version', () => {
    expect(parse(records(clientHello({ sni: null }))).outcome).toEqual(done({ sni: null, alpn: [] }));
    const noExt = hex('01 000029 0301', '00'.repeat(32), '00 0002 002f 01 00');
    expect(parse(records(noExt)).outcome).toEqual({
      kind: 'done',
      value: { sni: null, alpn: [], ech: false, legacyVersion: 0x0301, supportedVersions: [] },
    });
  });

  it('reads a post-quantum sized hello (about 1.8 KB, as Chromium sends)', () => {
    const msg = clientHello({ sni: 'example.org', alpn: ['h2'], postQuantum: true, versions: [0x0304] });
    expect(msg.length).toBeGreaterThan(1700);
    expect(parse(records(msg)).outcome).toEqual(done({ sni: 'example.org', alpn: ['h2'] }));
  });

  it('keeps only the first host_name and skips other name types', () => {
    const list = Buffer.concat([hex('01 0003 616263'), hex('00 0005 612e636f6d'), hex('00 0005 622e636f6d')]);
    const sni = Buffer.concat([Buffer.from([list.length >> 8, list.length & 0xff]), list]);
    const msg = clientHello({ sni: null, extra: [[0, sni]] });
    expect(parse(records(msg)).outcome).toEqual(done({ sni: 'a.com' }));
  });

  it('does not report a name with control, space or non-ASCII bytes, but keeps the rest', () => {
    for (const name of [Buffer.from('evil\x00.com'), Buffer.from('a b.com'), Buffer.from('caf\xc3\xa9.fr', 'latin1')]) {
      const { outcome, fired } = parse(records(clientHello({ sni: name, alpn: ['h2'] })));
      expect(outcome).toEqual(done({ sni: null, alpn: ['h2'] }));
      expect(fired).toEqual({ 'tls.bad_extension': 1 });
    }
    const long = parse(records(clientHello({ sni: `${'a'.repeat(300)}.com` })));
    expect(long.outcome).toEqual(done({ sni: null }));
  });

  it(`keeps at most ${MAX_ALPN} ALPN entries and shows odd bytes escaped`, () => {
    const many = Array.from({ length: 40 }, (_, i) => `p${i}`);
    expect(parse(records(clientHello({ alpn: many }))).outcome).toEqual(done({ alpn: many.slice(0, MAX_ALPN) }));
    expect(parse(records(clientHello({ alpn: ['a\x01\\'] }))).outcome).toEqual(done({ alpn: ['a\\x01\\x5c'] }));
  });
});

describe('the record layer and prefixes', () => {
  const msg = clientHello({ sni: 'example.org', alpn: ['h2', 'http/1.1'], postQuantum: true, versions: [0x0304] });
  const want = parse(records(msg)).outcome;

  it.each([[[1]], [[3, 1000]], [[4]], [[5, 2]], [[100]], [[512, 512, 16_384]], [[msg.length - 1]]])(
    'reads a hello split into records of sizes %j',
    (sizes) => {
      expect(parse(records(msg, sizes))).toEqual({ outcome: want, fired: {} });
    },
  );

  it('accepts every record version from TLS 1.0 to 1.3 and a record that also holds the next message', () => {
    for (const v of [0x0301, 0x0302, 0x0303, 0x0304]) expect(parse(records(msg, [100], v)).outcome).toEqual(want);
    const withMore = Buffer.concat([msg, hex('0f 000002 0000')]);
    expect(parse(records(withMore)).outcome).toEqual(want);
  });

  it('asks for more on every prefix, never past what completes the hello, and counts nothing', () => {
    for (const sizes of [[16_384], [7], [300, 2]]) {
      const stream = records(msg, sizes);
      for (let k = 0; k < stream.length; k++) {
        const { outcome, fired } = parse(stream.subarray(0, k));
        if (outcome.kind !== 'need') throw new Error(`prefix ${k} of ${stream.length} (${sizes}): ${outcome.kind}`);
        expect(outcome.bytes).toBeGreaterThan(0);
        expect(k + outcome.bytes).toBeLessThanOrEqual(stream.length);
        expect(fired).toEqual({});
      }
    }
  });

  it('asks for exactly the rest when one record holds the hello', () => {
    const stream = records(msg);
    expect(parse(stream.subarray(0, 0)).outcome).toEqual({ kind: 'need', bytes: 9 }); // record and handshake headers
    expect(parse(stream.subarray(0, 5)).outcome).toEqual({ kind: 'need', bytes: 4 });
    expect(parse(stream.subarray(0, 100)).outcome).toEqual({ kind: 'need', bytes: stream.length - 100 });
    expect(parse(msg.subarray(0, 2), true).outcome).toEqual({ kind: 'need', bytes: 2 });
    expect(parse(msg.subarray(0, 50), true).outcome).toEqual({ kind: 'need', bytes: msg.length - 50 });
  });
});

describe('what is not a ClientHello', () => {
  const msg = clientHello({ sni: 'example.org' });
  const rec = records(msg);
  const patch = (b: Buffer, at: number, ...bytes: number[]) => {
    const c = Buffer.from(b);
    c.set(bytes, at);
    return c;
  };
  const body = 4; // offset of the body inside the handshake message
  const extStart = body + 2 + 32 + 1 + 32 + 2 + 6 + 2; // extensions length field

  it.each<[string, Buffer, string]>([
    ['an HTTP request, at its first byte', Buffer.from('G'), 'tls.bad_record'],
    ['SSL 2.0 compatible hello', hex('8031 0100 0200 18 0000 0010'), 'tls.bad_record'],
    ['application data', hex('17 0303 0010'), 'tls.not_client_hello'],
    ['an alert', hex('15 0303 0002 0200'), 'tls.not_client_hello'],
    ['record version 3.0', patch(rec, 1, 3, 0), 'tls.bad_record'],
    ['record version 3.5', patch(rec, 1, 3, 5), 'tls.bad_record'],
    ['record major 2', hex('16 02'), 'tls.bad_record'],
    ['record length 0', hex('16 0301 0000'), 'tls.bad_record'],
    ['record length over 2^14', hex('16 0301 4001'), 'tls.bad_record'],
    ['a ServerHello', hex('16 0303 0040 02'), 'tls.not_client_hello'],
    [
      'a hello over the size limit',
      hex('16 0301 0040 01', (MAX_CLIENT_HELLO + 1).toString(16).padStart(6, '0')),
      'tls.too_large',
    ],
    [
      'a ChangeCipherSpec between two fragments',
      Buffer.concat([records(msg.subarray(0, 20)), hex('14 0303 0001 01'), records(msg.subarray(20))]),
      'tls.bad_record',
    ],
    [
      'a second record with a bad version',
      Buffer.concat([records(msg.subarray(0, 20)), records(msg.subarray(20), [16_384], 0x0200)]),
      'tls.bad_record',
    ],
    ['legacy_version major 2', patch(msg, body, 2, 0), 'tls.bad_handshake'],
    ['session id of 33 bytes', patch(msg, body + 34, 33), 'tls.bad_handshake'],
    ['odd cipher_suites length', patch(msg, body + 67, 0, 5), 'tls.bad_handshake'],
    ['no compression methods', hex('01 000028 0303', '00'.repeat(32), '00 0002 002f 00'), 'tls.bad_handshake'],
    ['a body too short for the random', hex('01 000004 0303 0000'), 'tls.bad_handshake'],
    ['extensions longer than the body', patch(msg, extStart, 0xff, 0xff), 'tls.bad_handshake'],
    [
      'bytes after the extensions',
      Buffer.concat([patch(msg, 1, 0, (msg.length - 3) >> 8, (msg.length - 3) & 0xff), hex('00')]),
      'tls.bad_handshake',
    ],
    ['an extension longer than the block', patch(msg, extStart + 4, 0xff, 0xff), 'tls.bad_extension'],
    ['server_name list length that disagrees', patch(msg, extStart + 6, 0, 99), 'tls.bad_extension'],
    ['a duplicate server_name', clientHello({ extra: [[0, hex('0006 00 0003 612e62')]] }), 'tls.bad_extension'],
    ['an empty server_name extension', clientHello({ sni: null, extra: [[0, Buffer.alloc(0)]] }), 'tls.bad_extension'],
    ['an empty ALPN entry', clientHello({ extra: [[16, hex('0003 02 6832 00')]] }), 'tls.bad_extension'],
    ['supported_versions of odd length', clientHello({ extra: [[43, hex('03 030403')]] }), 'tls.bad_extension'],
    [
      'supported_versions list length that disagrees',
      clientHello({ extra: [[43, hex('04 0304')]] }),
      'tls.bad_extension',
    ],
  ])('%s', (_what, bytes, anomaly) => {
    const stream = bytes[0] === 1 ? records(bytes) : bytes;
    expect(parse(stream)).toEqual({ outcome: { kind: 'invalid', anomaly }, fired: { [anomaly]: 1 } });
  });

  it('gives up on the bare message the same way', () => {
    expect(parse(hex('02 000040'), true).outcome).toEqual({ kind: 'invalid', anomaly: 'tls.not_client_hello' });
    expect(parse(hex('01 ffffff'), true).outcome).toEqual({ kind: 'invalid', anomaly: 'tls.too_large' });
  });
});

/** Feed segments (relative offset, bytes) through a stream assembler; after each: the outcome, and whether the prefix is whole. */
function viaStream(segments: [number, Buffer][], total = -1, isn = 0xfffff000) {
  const s = new TcpStreamAssembler();
  const anomalies = new Anomalies();
  s.start(isn);
  const steps: { outcome: Outcome<ClientHelloInfo>; whole: boolean }[] = [];
  for (const [at, bytes] of segments) {
    s.add((isn + 1 + at) >>> 0, bytes, 0, bytes.length);
    const c = s.contiguous();
    steps.push({ outcome: parseTlsClientHello(c, 0, c.length, anomalies), whole: c.length === total });
  }
  return steps;
}

function tsharkHellos(file: string): string[][] {
  const r = spawnSync(
    'tshark',
    [
      '-n',
      '-r',
      file,
      '-Y',
      'tls.handshake.type == 1',
      '-T',
      'fields',
      '-E',
      'occurrence=a',
      '-E',
      'aggregator=,',
      '-e',
      'tls.handshake.extensions_server_name',
      '-e',
      'tls.handshake.extensions_alpn_str',
      '-e',
      'tls.handshake.version',
      '-e',
      'tls.handshake.extensions.supported_version',
    ],
    { encoding: 'utf8' },
  );
  if (r.error) throw new Error(`tshark is needed as the oracle (bash scripts/test installs it): ${r.error.message}`);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

/** Our answer in tshark's field format. */
function asTshark(v: ClientHelloInfo): string[] {
  const h = (n: number) => `0x${n.toString(16).padStart(4, '0')}`;
  return [v.sni ?? '', v.alpn.join(','), h(v.legacyVersion), v.supportedVersions.map(h).join(',')];
}

describe('real ClientHellos (openssl s_client captures) against tshark', () => {
  it.each(['tls13-openssl', 'tls12-openssl'])('%s', (name) => {
    const file = `test/fixtures/tcp/${name}/input.pcap`;
    const segs = clientSegments(file);
    const syn = segs.find((g) => g.syn)!;
    const s = new TcpStreamAssembler();
    s.start(syn.seq);
    let outcome: Outcome<ClientHelloInfo> = { kind: 'need', bytes: 5 };
    const anomalies = new Anomalies();
    for (const g of segs) {
      if (g.payload.length === 0) continue;
      s.add(g.seq, g.payload, 0, g.payload.length);
      const c = s.contiguous();
      outcome = parseTlsClientHello(c, 0, c.length, anomalies);
      if (outcome.kind !== 'need') break;
    }
    expect(outcome).toEqual(done({ sni: 'example.org' }));
    if (outcome.kind !== 'done') return;
    expect([asTshark(outcome.value)]).toEqual(tsharkHellos(file));
    expect(anomalies.total()).toBe(0);
  });
});

describe('built ClientHellos in a capture, against tshark', () => {
  it('agrees on name, ALPN and versions for hellos sent in two TCP segments', () => {
    const hellos = [
      clientHello({
        sni: 'example.org',
        alpn: ['h2', 'http/1.1'],
        postQuantum: true,
        versions: [0x3a3a, 0x0304, 0x0303],
      }),
      clientHello({ sni: 'public.example.net', alpn: ['h3'], ech: true, versions: [0x0304] }),
      clientHello({ sni: null, alpn: ['mqtt'], legacyVersion: 0x0301 }),
      clientHello({ sni: 'mqtt.djigate.example', padding: 400 }),
    ];
    const recs = [];
    const ours: string[][] = [];
    let t = 1_767_225_600_000_000;
    for (const [i, msg] of hellos.entries()) {
      const stream = records(msg);
      const e = { src: '10.0.0.2', dst: '203.0.113.20', sport: 40000 + i, dport: 443 };
      const isn = 0xfffffe00 + i * 1000; // some flows wrap past 2^32
      const half = stream.length >> 1;
      const seg = (seq: number, flags: number, payload?: Buffer) => ({
        tsUs: t++,
        data: ethernet(ipPacket(e, tcpSegment({ ...e, flags, seq: seq >>> 0, payload }))),
      });
      recs.push(
        seg(isn, 0x02),
        seg(isn + 1, 0x18, stream.subarray(0, half)),
        seg((isn + 1 + half) >>> 0, 0x18, stream.subarray(half)),
      );
      const out = viaStream([
        [0, stream.subarray(0, half)],
        [half, stream.subarray(half)],
      ]).at(-1)!.outcome;
      if (out.kind !== 'done') throw new Error(`hello ${i}: ${JSON.stringify(out)}`);
      ours.push(asTshark(out.value));
    }
    const dir = mkdtempSync(join(tmpdir(), 'egress-tls-'));
    try {
      const file = join(dir, 'hellos.pcap');
      writeFileSync(file, pcapFile(recs));
      expect(ours).toEqual(tsharkHellos(file));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The first TLS record of a client stream: the ClientHello, without what the client sent after it. */
const firstRecord = (stream: Buffer) => stream.subarray(0, 5 + stream.readUInt16BE(3));

describe('a ClientHello split at every byte into two TCP segments', () => {
  const cases = {
    'openssl TLS 1.3 hello (fixture)': firstRecord(
      Buffer.concat(clientSegments('test/fixtures/tcp/tls13-openssl/input.pcap').map((g) => g.payload)),
    ),
    'post-quantum hello (1.8 KB)': records(clientHello({ sni: 'example.org', alpn: ['h2'], postQuantum: true })),
  };
  it.each(Object.entries(cases))(
    '%s: same answer in order, reversed, and with an overlapping retransmission',
    (_n, stream) => {
      const want = viaStream([[0, stream]]).at(-1)!.outcome;
      expect(want.kind).toBe('done');
      const n = stream.length;
      for (let k = 1; k < n; k++) {
        const a = stream.subarray(0, k);
        const b = stream.subarray(k);
        const mid = Math.max(1, k >> 1);
        const orders: [string, [number, Buffer][]][] = [
          [
            'in order',
            [
              [0, a],
              [k, b],
            ],
          ],
          [
            'reversed',
            [
              [k, b],
              [0, a],
            ],
          ],
          [
            'retransmitted overlap',
            [
              [0, a],
              [mid, stream.subarray(mid, Math.min(n, k + 7))],
              [k, b],
            ],
          ],
          [
            'overlap first, then both',
            [
              [mid, stream.subarray(mid)],
              [k, b],
              [0, a],
            ],
          ],
        ];
        for (const [how, segs] of orders) {
          const steps = viaStream(segs, n);
          const last = steps.at(-1)!.outcome;
          if (JSON.stringify(last) !== JSON.stringify(want))
            throw new Error(`split at ${k}, ${how}: ${JSON.stringify(last)}`);
          // Until the whole hello is in, the parser must wait, not decide.
          for (const step of steps)
            if ((step.outcome.kind === 'need') === step.whole)
              throw new Error(`split at ${k}, ${how}: ${step.outcome.kind}`);
        }
      }
    },
  );
});

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
      `${what} [seed=${SEED} case=${c}] input=${input.toString('hex')}\nreplay: FUZZ_SEED=${SEED} FUZZ_ITERATIONS=${N} npx vitest run test/unit/tls.test.ts`,
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

it('builds the extension helper the same as the RFC vector (self-check of the test builder)', () => {
  expect(extension(0x002b, hex('02 0304'))).toEqual(hex('002b 0003 02 0304'));
});
