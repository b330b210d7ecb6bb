// Classic libpcap file format, draft-ietf-opsawg-pcap §4–§5
// (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html).
// Microsecond (a1b2c3d4) and nanosecond (a1b23c4d) magics in both byte
// orders, plus Alexey Kuznetsov's patched format (a1b2cd34, 24-byte records).

import { type Anomalies, Anomaly } from '../decode/anomaly.js';
import { EgressError, ErrorCode } from '../errors.js';
import { u32be, u32le } from '../util/bytes.js';
import { type FormatParser, MAX_RECORD_BYTES, type PacketSink } from './types.js';

export const PcapMagic = {
  MICRO: 0xa1b2c3d4,
  NANO: 0xa1b23c4d,
  KUZNETSOV: 0xa1b2cd34,
} as const;

const FILE_HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;
const KUZNETSOV_RECORD_HEADER_LEN = 24;
/** The link type is the low 16 bits; bits 26–31 carry FCS information. */
const LINKTYPE_MASK = 0xffff;

/** True when the first four bytes (read big-endian) are a pcap magic in either order. */
export function isPcapMagic(be: number, le: number): boolean {
  return (
    be === PcapMagic.MICRO ||
    be === PcapMagic.NANO ||
    be === PcapMagic.KUZNETSOV ||
    le === PcapMagic.MICRO ||
    le === PcapMagic.NANO ||
    le === PcapMagic.KUZNETSOV
  );
}

export class PcapParser implements FormatParser {
  readonly format = 'pcap' as const;
  need = FILE_HEADER_LEN;
  /** Absolute byte offset of the next unit in the input. */
  offset = 0;
  error: EgressError | null = null;
  nanosecond = false;
  littleEndian = true;
  linkType = -1;
  snaplen = 0;
  private recordHeaderLen = RECORD_HEADER_LEN;
  private maxRecord = MAX_RECORD_BYTES;
  private headerDone = false;

  constructor(
    private readonly sink: PacketSink,
    private readonly anomalies: Anomalies,
  ) {}

  linkTypes(): number[] {
    return this.linkType >= 0 ? [this.linkType] : [];
  }

  parse(buf: Buffer, off: number, end: number): number {
    if (this.error) return off;
    if (!this.headerDone) {
      if (end - off < FILE_HEADER_LEN) {
        this.need = FILE_HEADER_LEN;
        return off;
      }
      this.readFileHeader(buf, off);
      off += FILE_HEADER_LEN;
      this.offset += FILE_HEADER_LEN;
    }
    const le = this.littleEndian;
    const hdr = this.recordHeaderLen;
    const counts = this.anomalies.counts;
    const sink = this.sink;
    const lt = this.linkType;
    while (true) {
      if (end - off < hdr) {
        this.need = hdr;
        return off;
      }
      const sec = le ? u32le(buf, off) : u32be(buf, off);
      const frac = le ? u32le(buf, off + 4) : u32be(buf, off + 4);
      const caplen = le ? u32le(buf, off + 8) : u32be(buf, off + 8);
      const origLen = le ? u32le(buf, off + 12) : u32be(buf, off + 12);
      if (caplen > this.maxRecord) {
        this.error = new EgressError(
          ErrorCode.PCAP_RECORD_TOO_LARGE,
          `record claims ${caplen} bytes, more than the ${this.maxRecord}-byte limit`,
          { offset: this.offset, caplen },
        );
        return off;
      }
      const total = hdr + caplen;
      if (end - off < total) {
        this.need = total;
        return off;
      }
      if (caplen > origLen) counts[Anomaly.PCAP_CAPLEN_OVER_ORIGLEN]++;
      const tsUs = sec * 1_000_000 + (this.nanosecond ? Math.floor(frac / 1000) : frac);
      sink.packet(buf, off + hdr, caplen, origLen, tsUs, lt);
      off += total;
      this.offset += total;
    }
  }

  private readFileHeader(buf: Buffer, off: number): void {
    const be = u32be(buf, off);
    this.littleEndian = be !== PcapMagic.MICRO && be !== PcapMagic.NANO && be !== PcapMagic.KUZNETSOV;
    const magic = this.littleEndian ? u32le(buf, off) : be;
    this.nanosecond = magic === PcapMagic.NANO;
    if (magic === PcapMagic.KUZNETSOV) this.recordHeaderLen = KUZNETSOV_RECORD_HEADER_LEN;
    const le = this.littleEndian;
    this.snaplen = le ? u32le(buf, off + 16) : u32be(buf, off + 16);
    this.linkType = (le ? u32le(buf, off + 20) : u32be(buf, off + 20)) & LINKTYPE_MASK;
    // A file written with a larger snaplen may legitimately hold larger records.
    this.maxRecord = Math.max(MAX_RECORD_BYTES, Math.min(this.snaplen, 16 * 1024 * 1024));
    this.headerDone = true;
  }
}
