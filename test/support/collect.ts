// Collects what a capture reader delivers, copying the bytes out of the
// reader's buffer (a view valid only during the call).

import { CaptureReader } from '../../agent/src/capture/reader.js';
import type { PacketSink } from '../../agent/src/capture/types.js';
import { Anomalies } from '../../agent/src/decode/anomaly.js';

export interface Delivered {
  tsUs: number;
  caplen: number;
  origLen: number;
  linkType: number;
  hex: string;
}

export class Collector implements PacketSink {
  readonly packets: Delivered[] = [];
  packet(buf: Buffer, off: number, caplen: number, origLen: number, tsUs: number, linkType: number): void {
    this.packets.push({ tsUs, caplen, origLen, linkType, hex: buf.toString('hex', off, off + caplen) });
  }
}

/** Feed `input` in the given chunk sizes (cycled); returns what came out and the reader. */
export function readInChunks(input: Buffer, sizes: number[] = [input.length || 1]) {
  const sink = new Collector();
  const reader = new CaptureReader(sink, new Anomalies());
  let pos = 0;
  for (let i = 0; pos < input.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length]);
    // Copy, so no test passes because the reader kept a view into a chunk it no longer owns.
    reader.push(Buffer.from(input.subarray(pos, pos + n)));
    pos += n;
  }
  const error = reader.end();
  return { packets: sink.packets, reader, error };
}
