// flagged.pcapng: the packets of flagged flows, written as PCAP Next
// Generation (draft-ietf-opsawg-pcapng §4.1 Section Header, §4.2 Interface
// Description, §4.3 Enhanced Packet with an opt_comment per packet). Each
// agent run appends a new section, so a resumed session keeps one file.
// Bounded: past `maxBytes` packets are counted, not written, and the log
// records the truncation.

import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { BlockType } from '../capture/pcapng.js';

const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const OPT_END = 0;
const OPT_COMMENT = 1;
const SHB_USERAPPL = 4;
const SNAPLEN = 262_144;

export interface FlaggedPcapCounters {
  packets: number;
  bytes: number;
  /** Packets not written because the file reached its bound. */
  dropped: number;
}

export class FlaggedPcap {
  private fd: number | null = null;
  /** Interface id in the current section, by link type. */
  private readonly interfaces = new Map<number, number>();
  private written: number;
  readonly counters: FlaggedPcapCounters = { packets: 0, bytes: 0, dropped: 0 };
  /** Called once, when the bound is first reached. */
  onTruncated: (() => void) | null = null;

  constructor(
    readonly file: string,
    private readonly maxBytes: number,
    private readonly application: string,
    alreadyWritten = 0,
  ) {
    this.written = alreadyWritten;
  }

  get truncated(): boolean {
    return this.counters.dropped > 0;
  }

  write(
    buf: Buffer,
    off: number,
    caplen: number,
    origLen: number,
    tsUs: number,
    linkType: number,
    comment: string,
  ): void {
    const c = Buffer.from(comment, 'utf8');
    const blockLen = 28 + pad4(caplen) + 4 + pad4(c.length) + 4 + 4;
    if (this.written + blockLen + 200 > this.maxBytes) {
      if (this.counters.dropped++ === 0) this.onTruncated?.();
      return;
    }
    const ifId = this.interfaceFor(linkType);
    const b = Buffer.alloc(blockLen);
    b.writeUInt32LE(BlockType.ENHANCED_PACKET, 0);
    b.writeUInt32LE(blockLen, 4);
    b.writeUInt32LE(ifId, 8);
    const ts = BigInt(Math.round(tsUs));
    b.writeUInt32LE(Number(ts >> 32n), 12);
    b.writeUInt32LE(Number(ts & 0xffffffffn), 16);
    b.writeUInt32LE(caplen, 20);
    b.writeUInt32LE(origLen, 24);
    buf.copy(b, 28, off, off + caplen);
    let p = 28 + pad4(caplen);
    b.writeUInt16LE(OPT_COMMENT, p);
    b.writeUInt16LE(c.length, p + 2);
    c.copy(b, p + 4);
    p += 4 + pad4(c.length);
    b.writeUInt16LE(OPT_END, p);
    b.writeUInt16LE(0, p + 2);
    b.writeUInt32LE(blockLen, p + 4);
    this.out(b);
    this.counters.packets++;
    this.counters.bytes += caplen;
  }

  close(): void {
    if (this.fd === null) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = null;
  }

  // Stryker disable next-line BlockStatement: an fsync shows only after a power cut
  sync(): void {
    if (this.fd !== null) fsyncSync(this.fd);
  }

  private interfaceFor(linkType: number): number {
    if (this.fd === null) {
      this.fd = openSync(this.file, 'a', 0o600);
      this.out(sectionHeader(this.application));
      this.interfaces.clear(); // interface ids are per section
    }
    let id = this.interfaces.get(linkType);
    if (id === undefined) {
      id = this.interfaces.size;
      this.interfaces.set(linkType, id);
      const b = Buffer.alloc(20);
      b.writeUInt32LE(BlockType.INTERFACE_DESCRIPTION, 0);
      b.writeUInt32LE(20, 4);
      b.writeUInt16LE(linkType, 8);
      b.writeUInt16LE(0, 10);
      b.writeUInt32LE(SNAPLEN, 12);
      b.writeUInt32LE(20, 16);
      this.out(b);
    }
    return id;
  }

  private out(b: Buffer): void {
    writeSync(this.fd as number, b);
    this.written += b.length;
  }
}

function sectionHeader(application: string): Buffer {
  const app = Buffer.from(application, 'utf8');
  const len = 24 + 4 + pad4(app.length) + 4 + 4;
  const b = Buffer.alloc(len);
  b.writeUInt32LE(BlockType.SECTION_HEADER, 0);
  b.writeUInt32LE(len, 4);
  b.writeUInt32LE(BYTE_ORDER_MAGIC, 8);
  b.writeUInt16LE(1, 12);
  b.writeUInt16LE(0, 14);
  b.writeBigInt64LE(-1n, 16); // section length not given
  b.writeUInt16LE(SHB_USERAPPL, 24);
  b.writeUInt16LE(app.length, 26);
  app.copy(b, 28);
  const p = 28 + pad4(app.length);
  b.writeUInt32LE(OPT_END, p);
  b.writeUInt32LE(len, p + 4);
  return b;
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** A pcapng with only a section header: a valid, empty capture (no flagged packet). */
export function emptyPcapng(application: string): Buffer {
  return sectionHeader(application);
}
