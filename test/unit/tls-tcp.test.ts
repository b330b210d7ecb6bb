// ClientHellos over TCP: the hello read from the names stage's stream
// assembler as segments arrive; real hellos from openssl captures and built
// ones written to a pcap, both checked against tshark; and the hello split at
// every byte into two TCP segments (in order, reversed, retransmitted).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../agent/src/decode/anomaly.js';
import { TcpStreamAssembler } from '../../agent/src/names/stream.js';
import { parseTlsClientHello } from '../../agent/src/names/tls.js';
import type { ClientHelloInfo, Outcome } from '../../agent/src/names/types.js';
import { ethernet, ipPacket, pcapFile, tcpSegment } from '../support/builders.js';
import { clientSegments } from '../support/tcp-capture.js';
import { clientHello, records } from '../support/tls-hello.js';

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
    expect(outcome).toEqual({ kind: 'done', value: expect.objectContaining({ sni: 'example.org' }) });
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
