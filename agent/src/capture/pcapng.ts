// PCAP Next Generation, draft-ietf-opsawg-pcapng §3–§4
// (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html).
// Section Header (either byte order, several sections), Interface
// Description with if_tsresol/if_tsoffset, Enhanced, Simple and obsolete
// Packet Blocks, Interface Statistics (§4.6: its drop counts become a
// `capture_gap`). Every other block is skipped by its length and counted.

import { type Anomalies, Anomaly } from '../decode/anomaly.js';
import { EgressError, ErrorCode } from '../errors.js';
import { dropsSince, readStatistics } from './pcapng-stats.js';
import { type FormatParser, MAX_BLOCK_BYTES, type PacketSink } from './types.js';

export const BlockType = {
  SECTION_HEADER: 0x0a0d0d0a,
  INTERFACE_DESCRIPTION: 0x00000001,
  PACKET_OBSOLETE: 0x00000002,
  SIMPLE_PACKET: 0x00000003,
  NAME_RESOLUTION: 0x00000004,
  INTERFACE_STATISTICS: 0x00000005,
  ENHANCED_PACKET: 0x00000006,
  DECRYPTION_SECRETS: 0x0000000a,
  CUSTOM: 0x00000bad,
  CUSTOM_NO_COPY: 0x40000bad,
  SYSTEMD_JOURNAL: 0x00000009,
} as const;

const KNOWN_OTHER_BLOCKS = new Set<number>([
  BlockType.NAME_RESOLUTION,
  BlockType.DECRYPTION_SECRETS,
  BlockType.CUSTOM,
  BlockType.CUSTOM_NO_COPY,
  BlockType.SYSTEMD_JOURNAL,
]);

const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const BLOCK_MIN_LEN = 12;
const SHB_MIN_LEN = 28;
const IDB_MIN_LEN = 20;
const EPB_MIN_LEN = 32;
const SPB_MIN_LEN = 16;
const OPTION_END = 0;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;
const TWO_POW_32 = 4_294_967_296;

export interface Interface {
  linkType: number;
  snaplen: number;
  /** Timestamp units per second is 10^decimalExp, or 2^binaryExp when decimalExp < 0. */
  decimalExp: number;
  binaryExp: number;
  /** Seconds added to every timestamp (if_tsoffset). */
  offsetSec: number;
  /** Drops the last statistics block reported (they are totals since the capture began), and when. */
  dropsReported: number;
  statsUs: number;
}

export class PcapngParser implements FormatParser {
  readonly format = 'pcapng' as const;
  need = BLOCK_MIN_LEN;
  offset = 0;
  error: EgressError | null = null;
  littleEndian = true;
  private interfaces: Interface[] = [];
  private readonly seenLinkTypes = new Set<number>();

  constructor(
    private readonly sink: PacketSink,
    private readonly anomalies: Anomalies,
  ) {}

  linkTypes(): number[] {
    return [...this.seenLinkTypes];
  }

  parse(buf: Buffer, off: number, end: number): number {
    while (!this.error) {
      if (end - off < BLOCK_MIN_LEN) {
        this.need = BLOCK_MIN_LEN;
        return off;
      }
      let type = this.u32(buf, off);
      if (type === BlockType.SECTION_HEADER) {
        // The byte order of a section is known only from its own header.
        const bom = buf.readUInt32LE(off + 8);
        if (bom === BYTE_ORDER_MAGIC) this.littleEndian = true;
        else if (buf.readUInt32BE(off + 8) === BYTE_ORDER_MAGIC) this.littleEndian = false;
        else return this.fail(ErrorCode.PCAPNG_BAD_SECTION, `unknown byte-order magic 0x${bom.toString(16)}`, off);
        type = BlockType.SECTION_HEADER;
      }
      const len = this.u32(buf, off + 4);
      if (len < BLOCK_MIN_LEN || len % 4 !== 0 || len > MAX_BLOCK_BYTES) {
        return this.fail(ErrorCode.PCAPNG_BAD_BLOCK_LENGTH, `block length ${len} is not valid`, off);
      }
      if (end - off < len) {
        this.need = len;
        return off;
      }
      if (this.u32(buf, off + len - 4) !== len) {
        return this.fail(
          ErrorCode.PCAPNG_BAD_BLOCK_LENGTH,
          `block length ${len} disagrees with its trailing copy ${this.u32(buf, off + len - 4)}`,
          off,
        );
      }
      this.block(buf, off, type, len);
      if (this.error) return off;
      off += len;
      this.offset += len;
    }
    return off;
  }

  private block(buf: Buffer, off: number, type: number, len: number): void {
    switch (type) {
      case BlockType.ENHANCED_PACKET:
        this.timedPacket(buf, off, len, false);
        return;
      case BlockType.SIMPLE_PACKET:
        this.simplePacket(buf, off, len);
        return;
      case BlockType.PACKET_OBSOLETE:
        this.timedPacket(buf, off, len, true);
        return;
      case BlockType.INTERFACE_DESCRIPTION:
        this.interfaceDescription(buf, off, len);
        return;
      case BlockType.SECTION_HEADER:
        this.sectionHeader(buf, off, len);
        return;
      case BlockType.INTERFACE_STATISTICS:
        this.statistics(buf, off, len);
        return;
      default:
        this.anomalies.counts[
          KNOWN_OTHER_BLOCKS.has(type) ? Anomaly.PCAPNG_OTHER_BLOCK : Anomaly.PCAPNG_UNKNOWN_BLOCK
        ]++;
    }
  }

  private sectionHeader(buf: Buffer, off: number, len: number): void {
    if (len < SHB_MIN_LEN) {
      this.fail(ErrorCode.PCAPNG_BAD_BLOCK_LENGTH, `section header length ${len} is below ${SHB_MIN_LEN}`, off);
      return;
    }
    const major = this.u16(buf, off + 12);
    if (major !== 1) {
      this.fail(ErrorCode.PCAPNG_BAD_SECTION, `section major version ${major} is not 1`, off);
      return;
    }
    this.interfaces = []; // interface ids are per section
  }

  private interfaceDescription(buf: Buffer, off: number, len: number): void {
    if (len < IDB_MIN_LEN) {
      this.fail(ErrorCode.PCAPNG_BAD_BLOCK_LENGTH, `interface description length ${len} is below ${IDB_MIN_LEN}`, off);
      return;
    }
    const iface: Interface = {
      linkType: this.u16(buf, off + 8),
      snaplen: this.u32(buf, off + 12),
      decimalExp: 6,
      binaryExp: 0,
      offsetSec: 0,
      dropsReported: 0,
      statsUs: -1,
    };
    // Options: code u16, length u16, value padded to 32 bits, until opt_endofopt.
    let o = off + 16;
    const optEnd = off + len - 4;
    while (o + 4 <= optEnd) {
      const code = this.u16(buf, o);
      const olen = this.u16(buf, o + 2);
      if (code === OPTION_END) break;
      if (o + 4 + olen > optEnd) {
        this.anomalies.counts[Anomaly.PCAPNG_BAD_OPTION]++;
        break;
      }
      if (code === IF_TSRESOL && olen >= 1) {
        const v = buf[o + 4];
        if (v & 0x80) {
          iface.decimalExp = -1;
          iface.binaryExp = v & 0x7f;
        } else {
          iface.decimalExp = v;
        }
      } else if (code === IF_TSOFFSET && olen >= 8) {
        const hi = this.u32(buf, o + (this.littleEndian ? 8 : 4));
        const lo = this.u32(buf, o + (this.littleEndian ? 4 : 8));
        iface.offsetSec = (hi | 0) * TWO_POW_32 + lo; // signed 64-bit seconds
      }
      o += 4 + ((olen + 3) & ~3);
    }
    this.interfaces.push(iface);
    this.seenLinkTypes.add(iface.linkType);
  }

  /**
   * Enhanced (§4.3) and obsolete (Appendix) Packet Blocks share their layout
   * from the timestamp on; they differ only in the width of the interface id.
   */
  private timedPacket(buf: Buffer, off: number, len: number, obsolete: boolean): void {
    if (len < EPB_MIN_LEN) {
      this.countBad(Anomaly.PCAPNG_CAPLEN_OVER_BLOCK);
      return;
    }
    const iface = this.interfaces[obsolete ? this.u16(buf, off + 8) : this.u32(buf, off + 8)];
    if (iface === undefined) {
      this.countBad(Anomaly.PCAPNG_UNKNOWN_INTERFACE);
      return;
    }
    const caplen = this.u32(buf, off + 20);
    if (caplen > len - EPB_MIN_LEN) {
      this.countBad(Anomaly.PCAPNG_CAPLEN_OVER_BLOCK);
      return;
    }
    const tsUs = toMicros(iface, this.u32(buf, off + 12), this.u32(buf, off + 16));
    this.sink.packet(buf, off + 28, caplen, this.u32(buf, off + 24), tsUs, iface.linkType);
  }

  private simplePacket(buf: Buffer, off: number, len: number): void {
    if (len < SPB_MIN_LEN) {
      this.countBad(Anomaly.PCAPNG_CAPLEN_OVER_BLOCK);
      return;
    }
    const iface = this.interfaces[0];
    if (iface === undefined) {
      this.countBad(Anomaly.PCAPNG_UNKNOWN_INTERFACE);
      return;
    }
    const origLen = this.u32(buf, off + 8);
    // An SPB has no caplen: it is the smaller of the packet length, the snaplen and the room in the block.
    let caplen = Math.min(origLen, len - SPB_MIN_LEN);
    if (iface.snaplen > 0) caplen = Math.min(caplen, iface.snaplen);
    // No timestamp in an SPB: 0, honestly, rather than a guess.
    this.sink.packet(buf, off + 12, caplen, origLen, 0, iface.linkType);
  }

  /** An Interface Statistics Block: packets dropped since the last one for that interface make a capture_gap. */
  private statistics(buf: Buffer, off: number, len: number): void {
    const s = readStatistics(buf, off, len, this.littleEndian, this.anomalies);
    if (s === null) return;
    const iface = this.interfaces[s.interfaceId];
    if (iface === undefined) {
      this.countBad(Anomaly.PCAPNG_UNKNOWN_INTERFACE);
      return;
    }
    const gap = dropsSince(iface, s, (hi, lo) => statisticsMicros(iface, hi, lo));
    if (gap !== null) this.sink.captureGap?.(gap);
  }

  private countBad(which: number): void {
    this.anomalies.counts[which]++;
  }

  private fail(code: (typeof ErrorCode)[keyof typeof ErrorCode], message: string, _off: number): number {
    this.error = new EgressError(code, message, { offset: this.offset });
    return _off;
  }

  private u32(buf: Buffer, off: number): number {
    return this.littleEndian ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
  }

  private u16(buf: Buffer, off: number): number {
    return this.littleEndian ? buf.readUInt16LE(off) : buf.readUInt16BE(off);
  }
}

/** 2000-01-01T00:00:00Z in µs: no capture file is older. */
const Y2000_US = 946_684_800_000_000;

/**
 * An ISB timestamp. dumpcap 4.0 writes them in microseconds even on an
 * interface with if_tsresol 9 (nanoseconds): read in the interface's units
 * they land in January 1970. Then the microsecond reading is the one meant.
 */
function statisticsMicros(iface: Interface, hi: number, lo: number): number {
  const us = toMicros(iface, hi, lo);
  if (iface.decimalExp === 6 || us >= Y2000_US) return us;
  const raw = hi * TWO_POW_32 + lo + iface.offsetSec * 1_000_000;
  return raw >= Y2000_US ? raw : us;
}

/** Timestamp units → microseconds since the epoch, exact for decimal resolutions without BigInt. */
export function toMicros(iface: Interface, hi: number, lo: number): number {
  let us: number;
  if (iface.decimalExp === 6) us = hi * TWO_POW_32 + lo;
  else if (iface.decimalExp > 6) {
    // value / d = floor(hi / d) * 2^32 + (hi % d * 2^32 + lo) / d; every term stays below 2^53.
    const d = 10 ** (iface.decimalExp - 6);
    if (d > 1e6) return (hi * TWO_POW_32 + lo) / d; // beyond nanoseconds: precision already lost by any writer
    us = Math.floor(hi / d) * TWO_POW_32 + Math.floor(((hi % d) * TWO_POW_32 + lo) / d);
  } else if (iface.decimalExp >= 0) us = (hi * TWO_POW_32 + lo) * 10 ** (6 - iface.decimalExp);
  else us = Math.floor(((hi * TWO_POW_32 + lo) / 2 ** iface.binaryExp) * 1e6);
  return us + iface.offsetSec * 1_000_000;
}
