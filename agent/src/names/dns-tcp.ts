// DNS over TCP framing, RFC 1035 §4.2.2 and RFC 7766 §8: every message on
// the stream is preceded by a two-byte length field, and one segment may carry
// part of a message or several. The framer cuts one direction of a TCP
// stream (in order; reassembly happens before it) into whole messages for
// parseDnsMessage.

import type { Anomalies } from '../decode/anomaly.js';
import { u16be } from '../util/bytes.js';
import type { Outcome } from './types.js';

export const DNS_TCP_PREFIX_LEN = 2;

/** Where one message sits in the buffer, and the offset after it. */
export interface DnsTcpFrame {
  messageOff: number;
  messageLen: number;
  next: number;
}

/**
 * The frame at buf[off, end): done with where its message is; `need` with
 * the size of the whole frame starting at `off` (the 2-byte prefix while the
 * length is still unknown); invalid for a length of 0, which no message has
 * (a message is at least its 12-byte header) and which would stall the stream.
 */
export function readDnsTcpFrame(buf: Uint8Array, off: number, end: number): Outcome<DnsTcpFrame> {
  if (end - off < DNS_TCP_PREFIX_LEN) return { kind: 'need', bytes: DNS_TCP_PREFIX_LEN };
  const len = u16be(buf, off);
  if (len === 0) return { kind: 'invalid', anomaly: 'dns.tcp_bad_length' };
  const frameLen = DNS_TCP_PREFIX_LEN + len;
  if (end - off < frameLen) return { kind: 'need', bytes: frameLen };
  return { kind: 'done', value: { messageOff: off + DNS_TCP_PREFIX_LEN, messageLen: len, next: off + frameLen } };
}

/**
 * Whole DNS messages from one direction of a TCP stream, pushed as chunks
 * split anywhere. A message that lies inside one chunk is returned as a view
 * of that chunk (valid while the chunk's bytes are); one that straddles chunks
 * is assembled in a buffer of its own, handed over with it. State is bounded:
 * at most one partial message, so at most 2 + 65,535 bytes per direction.
 * After a length of 0 the stream cannot be framed again (there is no marker
 * to find the next message by): `failed` is set and the rest is ignored.
 */
export class DnsTcpFramer {
  failed = false;
  /** Bytes of the length prefix held from earlier chunks: 0, 1, or 2 once `partial` is allocated. */
  private prefixLen = 0;
  private prefixHigh = 0;
  /** The message being assembled across chunks, and how much of it has arrived. */
  private partial: Uint8Array | null = null;
  private partialLen = 0;

  constructor(private readonly anomalies: Anomalies) {}

  /** Bytes held for a message not yet complete. */
  get buffered(): number {
    return this.prefixLen + this.partialLen;
  }

  /** The messages this chunk completes, in stream order (none once `failed`). */
  push(chunk: Uint8Array): Uint8Array[] {
    const messages: Uint8Array[] = [];
    if (this.failed) return messages;
    let pos = 0;
    // First finish a frame begun in an earlier chunk.
    if (this.prefixLen === 1 && pos < chunk.length) {
      const len = (this.prefixHigh << 8) | chunk[pos++];
      if (!this.begin(len)) return messages;
    }
    if (this.partial !== null) {
      const take = Math.min(this.partial.length - this.partialLen, chunk.length - pos);
      this.partial.set(chunk.subarray(pos, pos + take), this.partialLen);
      this.partialLen += take;
      pos += take;
      if (this.partialLen < this.partial.length) return messages;
      messages.push(this.partial);
      this.reset();
    }
    // Then every whole frame inside the chunk, in place.
    // Stryker disable next-line EqualityOperator: at pos === chunk.length readDnsTcpFrame says `need` and the loop breaks, so < and <= agree
    while (pos < chunk.length) {
      const r = readDnsTcpFrame(chunk, pos, chunk.length);
      if (r.kind === 'invalid') {
        this.fail();
        return messages;
      }
      if (r.kind === 'need') break;
      messages.push(chunk.subarray(r.value.messageOff, r.value.messageOff + r.value.messageLen));
      pos = r.value.next;
    }
    // Keep what is left: a lone first prefix byte, or the start of a message.
    if (chunk.length - pos === 1) {
      this.prefixHigh = chunk[pos];
      this.prefixLen = 1;
    } else if (pos < chunk.length) {
      this.begin(u16be(chunk, pos)); // not 0: readDnsTcpFrame would have said invalid
      const rest = chunk.subarray(pos + DNS_TCP_PREFIX_LEN);
      this.partial!.set(rest, 0);
      this.partialLen = rest.length;
    }
    return messages;
  }

  /** The length prefix is complete: make room for the message, or give up on a length of 0. */
  private begin(len: number): boolean {
    if (len === 0) {
      this.fail();
      return false;
    }
    this.prefixLen = DNS_TCP_PREFIX_LEN;
    this.partial = new Uint8Array(len);
    this.partialLen = 0;
    return true;
  }

  private reset(): void {
    this.prefixLen = 0;
    this.partial = null;
    this.partialLen = 0;
  }

  private fail(): void {
    this.anomalies.count('dns.tcp_bad_length');
    this.failed = true;
    this.reset();
  }
}
