// The capture reader on files built byte by byte: both pcap resolutions and
// byte orders, pcapng with several interfaces, resolutions and block kinds,
// any chunking, and every kind of bad input with its code and offset.

import { describe, expect, it } from 'vitest';
import { LinkType } from '../../agent/src/capture/linktype.js';
import { ErrorCode } from '../../agent/src/errors.js';
import { ethernet, ipPacket, pcapFile, pcapngFile, type Rec, udpDatagram } from '../support/builders.js';
import { readInChunks } from '../support/collect.js';

const T0 = 1_767_225_600_123_456; // 2026-01-01T00:00:00.123456Z in µs

function packets(n: number): Rec[] {
  return Array.from({ length: n }, (_, i) => ({
    tsUs: T0 + i * 1_000_001,
    data: ethernet(
      ipPacket(
        { src: '10.0.0.2', dst: '198.51.100.10' },
        udpDatagram({
          src: '10.0.0.2',
          dst: '198.51.100.10',
          sport: 40000 + i,
          dport: 53,
          payload: Buffer.alloc(i * 7),
        }),
      ),
    ),
  }));
}

describe('classic pcap', () => {
  for (const bigEndian of [false, true]) {
    for (const nano of [false, true]) {
      it(`reads ${bigEndian ? 'big' : 'little'}-endian ${nano ? 'nanosecond' : 'microsecond'} files exactly`, () => {
        const recs = packets(5);
        const { packets: got, error, reader } = readInChunks(pcapFile(recs, { bigEndian, nano }));
        expect(error).toBeNull();
        expect(reader.format).toBe('pcap');
        expect(got.map((p) => p.tsUs)).toEqual(recs.map((r) => r.tsUs));
        expect(got.map((p) => p.hex)).toEqual(recs.map((r) => r.data.toString('hex')));
        expect(new Set(got.map((p) => p.linkType))).toEqual(new Set([LinkType.ETHERNET]));
      });
    }
  }

  it('keeps caplen and the original length apart for snaplen-cut records', () => {
    const recs = packets(2).map((r) => ({ ...r, origLen: r.data.length + 100 }));
    const { packets: got } = readInChunks(pcapFile(recs));
    expect(got.map((p) => p.origLen - p.caplen)).toEqual([100, 100]);
  });

  it('gives the same packets however the input is split, at every byte offset', () => {
    const file = pcapFile(packets(4), { bigEndian: true, nano: true });
    const whole = readInChunks(file).packets;
    for (let cut = 1; cut < file.length; cut++) {
      const split = readInChunks(file, [cut, file.length]);
      expect(split.error, `cut at ${cut}`).toBeNull();
      expect(split.packets, `cut at ${cut}`).toEqual(whole);
    }
    for (const size of [1, 2, 3, 7, 16, 17, 23, 24, 25]) {
      expect(readInChunks(file, [size]).packets, `chunks of ${size}`).toEqual(whole);
    }
  });
});

describe('pcapng', () => {
  const ifaces = [
    { linkType: LinkType.ETHERNET },
    { linkType: LinkType.RAW, tsresol: 9 },
    { linkType: LinkType.LINUX_SLL2, tsresol: 0x80 | 20 },
  ];
  const recs: Rec[] = packets(6).map((r, i) => {
    const iface = i % 3;
    // Strip the Ethernet header for the raw-IP interface; prepend a zero SLL2 header for the third.
    const data =
      iface === 1
        ? r.data.subarray(14)
        : iface === 2
          ? Buffer.concat([Buffer.from('0800000000000000000000000000000000000000', 'hex'), r.data.subarray(14)])
          : r.data;
    return { ...r, data, iface };
  });

  for (const bigEndian of [false, true]) {
    it(`reads ${bigEndian ? 'big' : 'little'}-endian sections with three interfaces and their own resolutions`, () => {
      const { packets: got, error, reader } = readInChunks(pcapngFile(ifaces, recs, { bigEndian }));
      expect(error).toBeNull();
      expect(reader.format).toBe('pcapng');
      expect(got.map((p) => p.linkType)).toEqual([1, 101, 276, 1, 101, 276]);
      // Microsecond and nanosecond resolutions are exact; 2^-20 s rounds down to the microsecond.
      got.forEach((p, i) => {
        expect(Math.abs(p.tsUs - recs[i].tsUs), `packet ${i}`).toBeLessThanOrEqual(i % 3 === 2 ? 1 : 0);
      });
      expect(got.map((p) => p.hex)).toEqual(recs.map((r) => r.data.toString('hex')));
      expect(reader.linkTypes().sort((a, b) => a - b)).toEqual([1, 101, 276]);
    });
  }

  it('reads Simple and obsolete Packet Blocks', () => {
    const plain = packets(3);
    const spb = readInChunks(pcapngFile([{ linkType: 1, snaplen: 60 }], plain, { block: 'spb' }));
    expect(spb.error).toBeNull();
    // An SPB has no timestamp and its caplen is bounded by the interface snaplen.
    expect(spb.packets.map((p) => [p.tsUs, p.caplen])).toEqual(plain.map((r) => [0, Math.min(60, r.data.length)]));
    const opb = readInChunks(pcapngFile([{ linkType: 1 }], plain, { block: 'opb', bigEndian: true }));
    expect(opb.packets.map((p) => p.tsUs)).toEqual(plain.map((r) => r.tsUs));
  });

  it('skips and counts blocks it does not use, known and unknown', () => {
    const nrb = Buffer.alloc(16);
    nrb.writeUInt32LE(4, 0); // Name Resolution Block
    nrb.writeUInt32LE(16, 4);
    nrb.writeUInt32LE(16, 12);
    const odd = Buffer.alloc(20);
    odd.writeUInt32LE(0x0000_7777, 0); // not a registered block type
    odd.writeUInt32LE(20, 4);
    odd.writeUInt32LE(20, 16);
    const {
      packets: got,
      reader,
      error,
    } = readInChunks(pcapngFile([{ linkType: 1 }], packets(2), { extraBlocks: [nrb, odd] }));
    expect(error).toBeNull();
    expect(got).toHaveLength(2);
    expect(reader.anomalies.get('pcapng.other_block')).toBe(1);
    expect(reader.anomalies.get('pcapng.unknown_block')).toBe(1);
  });

  it('counts packets that name an interface the section never described', () => {
    const recs2 = packets(2).map((r, i) => ({ ...r, iface: i === 1 ? 5 : 0 }));
    const { packets: got, reader } = readInChunks(pcapngFile([{ linkType: 1 }], recs2));
    expect(got).toHaveLength(1);
    expect(reader.anomalies.get('pcapng.unknown_interface')).toBe(1);
  });

  it('gives the same packets however the input is split, at every byte offset', () => {
    const file = pcapngFile(ifaces, recs, { bigEndian: true });
    const whole = readInChunks(file).packets;
    for (let cut = 1; cut < file.length; cut++) {
      expect(readInChunks(file, [cut, file.length]).packets, `cut at ${cut}`).toEqual(whole);
    }
  });
});

describe('bad input', () => {
  const good = pcapFile(packets(3));
  const recordStarts = [24];
  for (const r of packets(3)) recordStarts.push(recordStarts[recordStarts.length - 1] + 16 + r.data.length);

  it('reports an empty input as truncated at byte 0', () => {
    const { error } = readInChunks(Buffer.alloc(0));
    expect(error?.code).toBe(ErrorCode.PCAP_TRUNCATED);
    expect(error?.facts.offset).toBe(0);
  });

  it('reports a cut file header as truncated at byte 0', () => {
    const { error, packets: got } = readInChunks(good.subarray(0, 10));
    expect(error?.code).toBe(ErrorCode.PCAP_TRUNCATED);
    expect(error?.facts.offset).toBe(0);
    expect(got).toHaveLength(0);
  });

  it('reports an unknown magic without reading on', () => {
    const bad = Buffer.from(good);
    bad.write('GIF89a', 0);
    const { error, packets: got } = readInChunks(bad);
    expect(error?.code).toBe(ErrorCode.CAPTURE_BAD_MAGIC);
    expect(error?.facts.offset).toBe(0);
    expect(got).toHaveLength(0);
  });

  it('delivers every complete record before a cut record header, and names the offset', () => {
    const { error, packets: got } = readInChunks(good.subarray(0, recordStarts[2] + 9));
    expect(error?.code).toBe(ErrorCode.PCAP_TRUNCATED);
    expect(error?.facts.offset).toBe(recordStarts[2]);
    expect(got).toHaveLength(2);
  });

  it('delivers every complete record before a cut record body, and names the offset', () => {
    const { error, packets: got } = readInChunks(good.subarray(0, good.length - 3));
    expect(error?.code).toBe(ErrorCode.PCAP_TRUNCATED);
    expect(error?.facts.offset).toBe(recordStarts[2]);
    expect(got).toHaveLength(2);
  });

  it('stops at a record that claims an impossible length', () => {
    const bad = Buffer.from(good);
    bad.writeUInt32LE(0x7fffffff, recordStarts[1] + 8);
    const { error, packets: got } = readInChunks(bad, [5]);
    expect(error?.code).toBe(ErrorCode.PCAP_RECORD_TOO_LARGE);
    expect(error?.facts.offset).toBe(recordStarts[1]);
    expect(got).toHaveLength(1);
  });

  it('stops at a pcapng block whose length is unaligned or disagrees with its trailer', () => {
    const ng = pcapngFile([{ linkType: 1 }], packets(3));
    // Blocks: SHB (28 bytes), IDB (20), then EPBs.
    const epb1 = 28 + 20;
    const epb2 = epb1 + ng.readUInt32LE(epb1 + 4);
    const unaligned = Buffer.from(ng);
    unaligned.writeUInt32LE(ng.readUInt32LE(epb2 + 4) + 2, epb2 + 4);
    let r = readInChunks(unaligned, [13]);
    expect(r.error?.code).toBe(ErrorCode.PCAPNG_BAD_BLOCK_LENGTH);
    expect(r.error?.facts.offset).toBe(epb2);
    expect(r.packets).toHaveLength(1);
    const mismatch = Buffer.from(ng);
    mismatch.writeUInt32LE(12345 * 4, epb2 + ng.readUInt32LE(epb2 + 4) - 4);
    r = readInChunks(mismatch);
    expect(r.error?.code).toBe(ErrorCode.PCAPNG_BAD_BLOCK_LENGTH);
    expect(r.error?.facts.offset).toBe(epb2);
    expect(r.packets).toHaveLength(1);
  });

  it('rejects a pcapng section with an unknown byte-order magic', () => {
    const ng = Buffer.from(pcapngFile([{ linkType: 1 }], packets(1)));
    ng.writeUInt32LE(0x11223344, 8);
    const r = readInChunks(ng);
    expect(r.error?.code).toBe(ErrorCode.PCAPNG_BAD_SECTION);
    expect(r.error?.facts.offset).toBe(0);
  });

  it('ignores input after the error instead of guessing', () => {
    const bad = Buffer.from(good);
    bad.writeUInt32LE(0x7fffffff, recordStarts[1] + 8);
    const { reader } = readInChunks(bad, [1]);
    expect(reader.bytesIn).toBe(bad.length);
    expect(reader.error?.code).toBe(ErrorCode.PCAP_RECORD_TOO_LARGE);
  });
});
