// Shared by the QUIC tests (test/unit/quic-*.test.ts): a post-quantum
// ClientHello too big for one Initial, client Initials built around it with
// the test protector, and `feed`, which runs datagrams through one Initial
// assembler and reports every outcome and which anomaly counters fired.

import { Anomalies } from '../../agent/src/decode/anomaly.js';
import { QuicInitialAssembler } from '../../agent/src/names/quic.js';
import { cryptoFrames, type InitialOptions, protectInitial } from './quic-encoder.js';
import { clientHello, hex } from './tls-hello.js';

/**
 * Feed datagrams to one assembler; every outcome and the anomalies that fired.
 * Each datagram sits in a buffer between junk bytes (no reads outside it); `after`
 * replaces the junk that follows (an empty one: the datagram ends the buffer).
 */
export function feed(datagrams: Buffer[], after: Buffer = Buffer.alloc(9, 0xc3)) {
  const q = new QuicInitialAssembler();
  const anomalies = new Anomalies();
  const outcomes = datagrams.map((d) => {
    const buf = Buffer.concat([Buffer.alloc(7, 0xc3), d, after]);
    return q.addDatagram(buf, 7, d.length, anomalies);
  });
  const fired = Object.fromEntries(Object.entries(anomalies.toJSON()).filter(([, n]) => n !== 0));
  return { q, outcomes, fired, last: outcomes.at(-1) };
}

// A post-quantum ClientHello (about 1.8 KB) must span two Initial packets of a 1200-byte datagram.
export const PQ = clientHello({ sni: 'example.org', alpn: ['h3'], postQuantum: true, versions: [0x0304] });
export const PQ_INFO = {
  sni: 'example.org',
  alpn: ['h3'],
  ech: false,
  legacyVersion: 0x0303,
  supportedVersions: [0x0304],
};
export const CID = hex('c0ffee0123456789');

export const initial = (o: Partial<InitialOptions> & { pn: number; payload: Buffer }) =>
  protectInitial({ dcid: CID, padTo: 1200, ...o });

/** The ClientHello in `parts` CRYPTO frames, one packet each, numbered from 0. */
export function split(hello: Buffer, parts: number, o: Partial<InitialOptions> = {}): Buffer[] {
  const size = Math.ceil(hello.length / parts);
  return cryptoFrames(hello, size).map((f, pn) => initial({ pn, payload: f, ...o }));
}
