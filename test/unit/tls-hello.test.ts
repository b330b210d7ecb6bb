// TLS ClientHello parsing (RFC 8446 §4.1.2, RFC 6066 §3, RFC 7301): the
// annotated RFC 9001 A.2 vector, built hellos with every field the names
// stage reads, the record layer split every way and every prefix of it, and
// every malformation with its anomaly name.

import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../agent/src/decode/anomaly.js';
import { MAX_ALPN, MAX_CLIENT_HELLO, parseClientHelloMessage, parseTlsClientHello } from '../../agent/src/names/tls.js';
import type { ClientHelloInfo } from '../../agent/src/names/types.js';
import { clientHello, extension, hex, RFC9001_HELLO, records } from '../support/tls-hello.js';

/** Parse `bytes` placed at a non-zero offset between junk, so reads outside the range would show. */
function parse(bytes: Buffer, bare = false) {
  const anomalies = new Anomalies();
  const buf = Buffer.concat([Buffer.alloc(3, 0x16), bytes, Buffer.alloc(16, 0x16)]);
  const outcome = (bare ? parseClientHelloMessage : parseTlsClientHello)(buf, 3, bytes.length, anomalies);
  const fired = Object.fromEntries(Object.entries(anomalies.toJSON()).filter(([, n]) => n !== 0));
  return { outcome, fired };
}

const done = (value: Partial<ClientHelloInfo>) => ({ kind: 'done', value: expect.objectContaining(value) });

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

  it('reads the protocol names every client offers, and the ones a byte away from them, as themselves', () => {
    const alpn = ['h2', 'http/1.1', 'h3', 'http/1.0', 'h3-29', 'dot', 'doq', 'h2c', 'acme-tls/1'];
    expect(parse(records(clientHello({ alpn: alpn.slice(0, MAX_ALPN) }))).outcome).toEqual(
      done({ alpn: alpn.slice(0, MAX_ALPN) }),
    );
    const near = ['H2', 'h2x', 'h', 'http/1.2', 'h3-2', 'do', 'doh', 'acme-tls/2'];
    expect(parse(records(clientHello({ alpn: near.slice(0, MAX_ALPN) }))).outcome).toEqual(
      done({ alpn: near.slice(0, MAX_ALPN) }),
    );
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

it('builds the extension helper the same as the RFC vector (self-check of the test builder)', () => {
  expect(extension(0x002b, hex('02 0304'))).toEqual(hex('002b 0003 02 0304'));
});

describe('edges of the record layer and the hello', () => {
  const msg = clientHello({ sni: 'example.org', alpn: ['h2'], versions: [0x0304] });
  const want = parse(records(msg)).outcome;
  /** A hello whose extensions block is `exts` exactly (the builder's body up to the compression methods). */
  const withExtensions = (exts: string) =>
    hex(
      '01',
      (2 + 32 + 1 + 2 + 2 + 2 + exts.replace(/\s+/g, '').length / 2).toString(16).padStart(6, '0'),
      '0303',
      '00'.repeat(32),
      '00 0002 1301 01 00',
      exts,
    );

  it.each<[string, Buffer, string]>([
    ['ChangeCipherSpec (20), the lowest record type', hex('14 0303 0001 01'), 'tls.not_client_hello'],
    ['Heartbeat (24), the highest record type', hex('18 0303 0003 01 0000'), 'tls.not_client_hello'],
    ['record type 19', hex('13 0303 0001 01'), 'tls.bad_record'],
    ['record type 25', hex('19 0303 0001 01'), 'tls.bad_record'],
    ['record version 3.0 in three bytes', hex('16 0300'), 'tls.bad_record'],
    ['no cipher suites', hex('01 000027 0303', '00'.repeat(32), '00 0000 01 00'), 'tls.bad_handshake'],
    ['stray bytes after the last extension', withExtensions('0007 ff01 0001 00 0000'), 'tls.bad_extension'],
    ['a duplicate ALPN', clientHello({ alpn: ['h2'], extra: [[16, hex('0003 02 6832')]] }), 'tls.bad_extension'],
    [
      'a duplicate supported_versions',
      clientHello({ versions: [0x0304], extra: [[43, hex('02 0304')]] }),
      'tls.bad_extension',
    ],
    ['a duplicate ECH', clientHello({ ech: true, extra: [[0xfe0d, hex('00')]] }), 'tls.bad_extension'],
    ['an empty server_name list', clientHello({ sni: null, extra: [[0, hex('0000')]] }), 'tls.bad_extension'],
    ['an empty ALPN list', clientHello({ extra: [[16, hex('0000')]] }), 'tls.bad_extension'],
    ['a server_name entry cut short', clientHello({ sni: null, extra: [[0, hex('0002 0000')]] }), 'tls.bad_extension'],
    ['an empty host_name', clientHello({ sni: null, extra: [[0, hex('0003 00 0000')]] }), 'tls.bad_extension'],
    ['an ALPN entry past its list', clientHello({ extra: [[16, hex('0003 05 6832')]] }), 'tls.bad_extension'],
    ['supported_versions with one version byte', clientHello({ extra: [[43, hex('01 03')]] }), 'tls.bad_extension'],
    ['supported_versions empty', clientHello({ extra: [[43, hex('00')]] }), 'tls.bad_extension'],
  ])('%s', (_what, bytes, anomaly) => {
    const stream = bytes[0] === 1 ? records(bytes) : bytes;
    expect(parse(stream)).toEqual({ outcome: { kind: 'invalid', anomaly }, fired: { [anomaly]: 1 } });
  });

  it.each<[string, Buffer, boolean, number]>([
    ['a record of 2^14 bytes, the largest allowed', hex('16 0301 4000'), false, 4],
    // 4 + 2^14 handshake bytes cannot fit in one record: a second record header is needed too.
    ['a hello of exactly the size limit, in records', hex('16 0301 4000 01 004000'), false, MAX_CLIENT_HELLO + 5],
    ['a hello of exactly the size limit, bare', hex('01 004000'), true, MAX_CLIENT_HELLO],
    ['nothing, bare', Buffer.alloc(0), true, 4],
  ])('asks for more: %s', (_what, bytes, bare, more) => {
    expect(parse(bytes, bare)).toEqual({ outcome: { kind: 'need', bytes: more }, fired: {} });
  });

  it('accepts an empty extensions block, and an extension seen twice that it does not read', () => {
    expect(parse(records(withExtensions('0000'))).outcome).toEqual(done({ sni: null, alpn: [] }));
    const twice = clientHello({
      sni: 'a.example',
      extra: [
        [21, hex('0000')],
        [21, hex('00')],
      ],
    });
    expect(parse(records(twice)).outcome).toEqual(done({ sni: 'a.example' }));
  });

  it('asks for exactly the rest of a hello in two records, once its handshake header is in', () => {
    const stream = records(msg, [100, 16_384]);
    expect(stream.length).toBe(msg.length + 10);
    for (let k = 9; k < stream.length; k++) {
      expect(parse(stream.subarray(0, k)).outcome, `prefix ${k}`).toEqual({ kind: 'need', bytes: stream.length - k });
    }
  });

  it('never reads outside the buffer, whatever offset and length it is given', () => {
    const stream = records(msg, [100, 16_384]);
    const anomalies = new Anomalies();
    const tail = Buffer.from(stream.subarray(0, 150));
    expect(parseTlsClientHello(stream, -5, stream.length, anomalies)).toEqual(want);
    expect(parseTlsClientHello(stream, Number.NaN, stream.length, anomalies)).toEqual(want);
    expect(parseTlsClientHello(tail, 0, 1e9, anomalies)).toEqual({ kind: 'need', bytes: stream.length - 150 });
    expect(parseTlsClientHello(stream, 0, -3, anomalies)).toEqual({ kind: 'need', bytes: 9 });
    expect(parseClientHelloMessage(msg, -5, msg.length, anomalies)).toEqual(want);
    expect(parseClientHelloMessage(msg.subarray(0, 50), 0, 1e9, anomalies)).toEqual({
      kind: 'need',
      bytes: msg.length - 50,
    });
    expect(parseClientHelloMessage(msg, 0, -3, anomalies)).toEqual({ kind: 'need', bytes: 4 });
    expect(anomalies.total()).toBe(0);
  });
});

describe('only its own bytes, and every length at its edge', () => {
  const msg = clientHello({ sni: 'example.org', alpn: ['h2'], versions: [0x0304] });
  const want = parse(records(msg)).outcome;
  const body = (hexBody: string) => {
    const b = hex(hexBody);
    return Buffer.concat([hex('01', b.length.toString(16).padStart(6, '0')), b]);
  };
  const random = '00'.repeat(32);

  it('gives the same answer whatever bytes follow the range, for every prefix, in records and bare', () => {
    for (const stream of [records(msg), records(msg, [100, 7]), records(clientHello({ sni: null }), [2])]) {
      const cases: [Buffer, typeof parseTlsClientHello][] = [[stream, parseTlsClientHello]];
      if (stream.length === msg.length + 5) cases.push([stream.subarray(5), parseClientHelloMessage]);
      for (const [bytes, parser] of cases) {
        for (let k = 0; k <= bytes.length; k++) {
          const answers = [bytes.subarray(k), Buffer.alloc(8, 0), Buffer.alloc(8, 0xff), Buffer.alloc(8, 0x16)].map(
            (after) => {
              const anomalies = new Anomalies();
              const out = parser(Buffer.concat([bytes.subarray(0, k), after]), 0, k, anomalies);
              return JSON.stringify([out, anomalies.total()]);
            },
          );
          if (new Set(answers).size !== 1) throw new Error(`prefix ${k} of ${bytes.length}: ${answers.join(' / ')}`);
        }
      }
    }
  });

  it('clips a length past the end of the buffer when the range starts inside it', () => {
    const stream = records(msg, [100, 16_384]);
    const anomalies = new Anomalies();
    const lead = Buffer.alloc(3, 0x16);
    expect(parseTlsClientHello(Buffer.concat([lead, stream.subarray(0, 150)]), 3, 1e9, anomalies)).toEqual({
      kind: 'need',
      bytes: stream.length - 150,
    });
    expect(parseClientHelloMessage(Buffer.concat([lead, msg.subarray(0, 50)]), 3, 1e9, anomalies)).toEqual({
      kind: 'need',
      bytes: msg.length - 50,
    });
  });

  it.each<[string, number[], number, number]>([
    ['the next record header and the rest of a hello spanning three records', [100, 100, 16_384], 110, 0],
    ['the handshake header cut after 2 bytes at a record end', [2], 7, 7],
    ['the handshake header cut after 1 byte at a record end', [1], 6, 8],
    ['the handshake header cut after 3 bytes at a record end', [3], 8, 6],
  ])('asks for exactly %s', (_what, sizes, k, more) => {
    const stream = records(msg, sizes);
    expect(parse(stream.subarray(0, k)).outcome).toEqual({ kind: 'need', bytes: more || stream.length - k });
  });

  it('reads a hello whose last record also holds the next handshake message', () => {
    const stream = records(Buffer.concat([msg, hex('0f 000002 0000')]), [100, 16_384]);
    expect(parse(stream)).toEqual({ outcome: want, fired: {} });
  });

  it.each<[string, Buffer, string]>([
    ['a bare message of one byte that is not a hello', hex('02'), 'tls.not_client_hello'],
    [
      'a session id of 33 bytes in an otherwise whole hello',
      body(`0303 ${random} 21 ${'00'.repeat(33)} 0002 1301 01 00`),
      'tls.bad_handshake',
    ],
    [
      'a cipher_suites list of 3 bytes in an otherwise whole hello',
      body(`0303 ${random} 00 0003 130113 01 00`),
      'tls.bad_handshake',
    ],
    [
      'a last extension longer than the block',
      body(`0303 ${random} 00 0002 1301 01 00 0005 ff01 0002 00`),
      'tls.bad_extension',
    ],
    [
      'a host_name past its list',
      clientHello({ sni: null, extra: [[0, hex('0005 00 0005 6162')]] }),
      'tls.bad_extension',
    ],
    ['an empty ALPN entry', clientHello({ extra: [[16, hex('0004 02 6832 00')]] }), 'tls.bad_extension'],
    ['an ALPN list length that disagrees', clientHello({ extra: [[16, hex('0005 02 6832')]] }), 'tls.bad_extension'],
  ])('%s', (_what, bytes, anomaly) => {
    const bare = _what.startsWith('a bare');
    const stream = bare ? bytes : records(bytes);
    expect(parse(stream, bare)).toEqual({ outcome: { kind: 'invalid', anomaly }, fired: { [anomaly]: 1 } });
  });

  it('accepts an empty last extension', () => {
    expect(parse(records(clientHello({ sni: 'a.example', extra: [[23, Buffer.alloc(0)]] }))).outcome).toEqual(
      done({ sni: 'a.example' }),
    );
    expect(parse(records(body(`0303 ${random} 00 0002 1301 01 00 0004 0017 0000`))).outcome).toEqual(
      done({ sni: null, alpn: [] }),
    );
  });

  it.each<[string, string, string | null]>([
    ['253 characters and a trailing dot (254)', `${'a.'.repeat(125)}abc.`, `${'a.'.repeat(125)}abc.`],
    ['255 characters', `${'a'.repeat(251)}.com`, null],
    ['upper case A and Z', 'AZ.Example', 'az.example'],
    ['a DEL byte', 'a\x7fb.example', null],
    ['a tilde, the last printable byte', 'a~b.example', 'a~b.example'],
    ['an exclamation mark, the first printable byte', 'a!b.example', 'a!b.example'],
  ])('server_name: %s', (_what, name, sni) => {
    const { outcome, fired } = parse(records(clientHello({ sni: Buffer.from(name, 'latin1') })));
    expect(outcome).toEqual(done({ sni }));
    expect(fired).toEqual(sni === null ? { 'tls.bad_extension': 1 } : {});
  });

  it('shows space, DEL and backslash in ALPN escaped, and the printable bytes around them as they are', () => {
    expect(parse(records(clientHello({ alpn: ['a b\x7f!~'] }))).outcome).toEqual(done({ alpn: ['a\\x20b\\x7f!~'] }));
  });
});
