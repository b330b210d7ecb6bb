// A ClientHello reassembled from the CRYPTO frames of several QUIC Initials
// (RFC 9000 §19.6, §12.2): out of order, coalesced, with PING/PADDING/ACK
// between, overlapping retransmissions, 1-byte packet numbers past 255, a
// DCID switch and a v1→v2 switch; and the same Initials in a capture, read by
// tshark.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { QuicVersion } from '../../agent/src/names/quic-keys.js';
import { ethernet, ipPacket, pcapFile, udpDatagram } from '../support/builders.js';
import { cryptoFrames, frame, protectInitial } from '../support/quic-encoder.js';
import { CID, feed, initial, PQ, PQ_INFO, split } from '../support/quic-flows.js';
import { V1 } from '../support/quic-vectors.js';
import { clientHello, hex } from '../support/tls-hello.js';

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
    const zeroRtt = Buffer.concat([hex('d1 00000001 08'), CID, hex('00 4010'), Buffer.alloc(16, 0x55)]); // type 0b01, Length 16
    const shortHeader = Buffer.concat([hex('41'), CID, Buffer.alloc(30, 0x77)]);
    const datagram = Buffer.concat([a, b, zeroRtt, shortHeader]);
    const { outcomes, fired } = feed([datagram]);
    expect(outcomes).toEqual([{ kind: 'done', value: PQ_INFO }]);
    expect(fired).toEqual({});
    expect(feed([Buffer.concat([a, b, Buffer.alloc(200)])]).outcomes).toEqual([{ kind: 'done', value: PQ_INFO }]);
  });

  it('ignores a coalesced packet with another Destination Connection ID (RFC 9000 §12.2)', () => {
    const [a, b] = cryptoFrames(PQ, 950).map((f, pn) => protectInitial({ dcid: CID, pn, payload: f }));
    const other = protectInitial({
      dcid: hex('0102030405060708'),
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
    const b = initial({ pn: 1, payload: f[1], dcid: hex('5e7e4c1d'), keysFrom: CID, scid: hex('aabb') });
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
    const pkts = split(PQ, 2, { token: Buffer.alloc(60, 0x7a), scid: hex('0011223344'), lengthWidth: 4, pnLen: 2 });
    expect(feed(pkts).last).toEqual({ kind: 'done', value: PQ_INFO });
  });

  it('returns null for datagrams without a client Initial, and after the decision', () => {
    const shortOnly = Buffer.concat([hex('40'), CID, Buffer.alloc(40, 1)]);
    const { outcomes } = feed([shortOnly, ...split(PQ, 2), split(PQ, 2)[0]]);
    expect(outcomes.map((o) => o?.kind ?? null)).toEqual([null, 'need', 'done', null]);
    expect(feed([Buffer.alloc(0)]).outcomes).toEqual([null]);
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
      [hex(V1.packet)],
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
