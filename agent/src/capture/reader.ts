// Streaming capture reader: detects pcap or pcapng from the first bytes and
// feeds chunks of any size, split at any byte, to the format parser. Whole
// records are parsed in place in the chunk; only a record that straddles two
// chunks is copied, into a carry buffer that grows to the largest record seen.

import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { Anomalies } from '../decode/anomaly.js';
import { EgressError, ErrorCode } from '../errors.js';
import { isPcapMagic, PcapParser } from './pcap.js';
import { BlockType, PcapngParser } from './pcapng.js';
import type { FormatParser, PacketSink } from './types.js';

const MAGIC_LEN = 4;

export class CaptureReader {
  /** Set once the input is known to be bad; nothing after it is parsed. */
  error: EgressError | null = null;
  /** Bytes of input seen so far. */
  bytesIn = 0;
  private parser: PcapParser | PcapngParser | null = null;
  private carry = Buffer.allocUnsafe(64 * 1024);
  private carryLen = 0;

  constructor(
    private readonly sink: PacketSink,
    readonly anomalies: Anomalies = new Anomalies(),
    private readonly file?: string,
  ) {}

  get format(): FormatParser['format'] | null {
    return this.parser?.format ?? null;
  }

  linkTypes(): number[] {
    return this.parser?.linkTypes() ?? [];
  }

  /** Bytes needed to complete the unit that starts at the carry buffer. */
  private get need(): number {
    return this.parser ? this.parser.need : MAGIC_LEN;
  }

  push(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    if (this.error) return;
    let pos = 0;
    // Finish the unit that straddles the previous chunk, one unit at a time.
    while (this.carryLen > 0) {
      const take = Math.min(this.need - this.carryLen, chunk.length - pos);
      if (take > 0) {
        this.ensureCarry(this.carryLen + take);
        chunk.copy(this.carry, this.carryLen, pos, pos + take);
        this.carryLen += take;
        pos += take;
      }
      if (this.carryLen < this.need) return; // chunk exhausted, still short
      const used = this.parseUnits(this.carry, 0, this.carryLen);
      if (this.error) return;
      if (used > 0) {
        this.carry.copy(this.carry, 0, used, this.carryLen);
        this.carryLen -= used;
      }
    }
    const used = this.parseUnits(chunk, pos, chunk.length);
    if (this.error) return;
    this.carryLen = chunk.length - used;
    if (this.carryLen > 0) {
      this.ensureCarry(this.carryLen);
      chunk.copy(this.carry, 0, used, chunk.length);
    }
  }

  /** Input is over: anything left over is a truncated unit. Returns the error, if any. */
  end(): EgressError | null {
    if (this.error) return this.error;
    if (this.parser === null || this.carryLen > 0) {
      const offset = this.parser ? this.parserOffset() : 0;
      const what =
        this.bytesIn === 0 ? 'input is empty' : `input ends ${this.carryLen} bytes into a ${this.need}-byte unit`;
      this.error = new EgressError(ErrorCode.PCAP_TRUNCATED, what, { offset, file: this.file });
    }
    return this.error;
  }

  private parserOffset(): number {
    return this.parser ? this.parser.offset : 0;
  }

  private parseUnits(buf: Buffer, off: number, end: number): number {
    if (this.parser === null) {
      if (end - off < MAGIC_LEN) return off;
      const be = buf.readUInt32BE(off);
      const le = buf.readUInt32LE(off);
      if (isPcapMagic(be, le)) this.parser = new PcapParser(this.sink, this.anomalies);
      else if (be === BlockType.SECTION_HEADER) this.parser = new PcapngParser(this.sink, this.anomalies);
      else {
        this.error = new EgressError(
          ErrorCode.CAPTURE_BAD_MAGIC,
          `not a pcap or pcapng file (first bytes 0x${be.toString(16).padStart(8, '0')})`,
          { offset: 0, file: this.file },
        );
        return off;
      }
    }
    const used = this.parser.parse(buf, off, end);
    if (this.parser.error) {
      this.error = this.parser.error;
      if (this.file !== undefined) this.error.facts.file = this.file;
    }
    return used;
  }

  private ensureCarry(size: number): void {
    if (size <= this.carry.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(size, this.carry.length * 2));
    this.carry.copy(bigger, 0, 0, this.carryLen);
    this.carry = bigger;
  }
}

/** Called after each chunk; the reader waits for it, so a slow output slows the input (backpressure). */
export type AfterChunk = (bytesIn: number) => void | Promise<void>;

/**
 * Chunks of a file, read into two reused buffers: while the reader parses
 * one chunk (in place, copying out only a straddling record), the next is
 * already being read, so parsing never waits on the disk and nothing is
 * allocated (or collected) per chunk.
 */
export async function* fileChunks(path: string, chunkSize = 1024 * 1024): AsyncGenerator<Buffer> {
  const fh = await open(path, 'r');
  let pending: ReturnType<typeof fh.read> | undefined;
  try {
    const bufs = [Buffer.allocUnsafe(chunkSize), Buffer.allocUnsafe(chunkSize)];
    let which = 0;
    pending = fh.read(bufs[which], 0, chunkSize, null);
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) return;
      const buffer = bufs[which];
      which ^= 1;
      pending = fh.read(bufs[which], 0, chunkSize, null); // the other buffer: the consumer is done with it
      yield bytesRead === chunkSize ? buffer : buffer.subarray(0, bytesRead);
    }
  } finally {
    await pending?.catch(() => {}); // a read still in flight when the consumer stops early
    await fh.close();
  }
}

/** Reads a whole stream into the reader, respecting backpressure; resolves with the reader's error, if any. */
export async function readCapture(
  reader: CaptureReader,
  input: AsyncIterable<Buffer> | Readable,
  onChunk?: AfterChunk,
): Promise<EgressError | null> {
  for await (const chunk of input) {
    reader.push(chunk as Buffer);
    await onChunk?.(reader.bytesIn);
    if (reader.error) break; // leaving the loop closes the file or destroys the stream
  }
  return reader.end();
}
