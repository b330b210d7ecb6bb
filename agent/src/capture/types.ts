// What a capture-format parser hands to the next stage, one call per record.
// The packet bytes are buf[off, off + caplen): a view into the reader's
// buffer, valid only during the call (gopacket's NoCopy contract).

export interface PacketSink {
  packet(buf: Buffer, off: number, caplen: number, origLen: number, tsUs: number, linkType: number): void;
  /** The capture says it missed packets (a pcapng Interface Statistics Block's drop count). */
  captureGap?(gap: CaptureGap): void;
}

/** A while the capture was blind (DESIGN.md `capture_gap`). */
export interface CaptureGap {
  startUs: number;
  endUs: number;
  cause: 'kernel_drop' | 'interface_drop' | 'capture_restart' | 'capture_down' | 'file_drop_count';
  /** null when unknown. */
  packetsDropped: number | null;
}

/**
 * A streaming capture-format parser. `parse` handles every complete unit
 * (header, record, block) in buf[off, end) and returns the offset after the
 * last one it consumed; when it stops short, `need` is the size of the unit
 * starting there. After an error it consumes nothing more.
 */
export interface FormatParser {
  readonly format: 'pcap' | 'pcapng';
  readonly need: number;
  parse(buf: Buffer, off: number, end: number): number;
  /** Link types seen, for the stats event. */
  linkTypes(): number[];
}

/** Largest record a capture may hold: Wireshark's WTAP_MAX_PACKET_SIZE_STANDARD. */
export const MAX_RECORD_BYTES = 262_144;
/** Largest pcapng block we accept (a packet plus generous options). */
export const MAX_BLOCK_BYTES = 16 * 1024 * 1024;
