// A size limit on every MQTT packet a client sends, checked on the fixed
// header before the packet is read (MQTT 3.1.1 §2.2: one byte of type and
// flags, then the Remaining Length, a variable-length integer of 1-4 bytes,
// §2.2.3).
//
// Written here because neither aedes nor mqtt-packet has such a limit:
// mqtt-packet's parser buffers a packet until its announced Remaining Length
// (up to 256 MB) has arrived, and aedes sees it only then, so no hook of
// aedes (preConnect, authenticate, authorize*) runs before the memory is
// taken. The guard sits between the socket (TCP, or the WebSocket stream) and
// aedes, passes bytes through unchanged, and destroys the connection as soon
// as a header announces more than the limit for the client's current state
// (a few KiB before it has logged in; per role after).

import { Duplex } from 'node:stream';

/** Largest Remaining Length MQTT can encode (4 bytes of 7 bits). */
const MAX_VARINT_BYTES = 4;
const CONTINUATION = 0x80;
const VALUE_BITS = 0x7f;

enum State {
  TYPE,
  LENGTH,
  BODY,
}

export interface PacketGuardOptions {
  /** Largest Remaining Length allowed for the next packet (asked at every header: it may change after login). */
  limit: () => number;
  /** Called once when a packet is over the limit or its header is malformed; the stream is destroyed after. */
  onRefused: (announced: number) => void;
  /** The peer's address when the raw stream has none (a WebSocket stream: the HTTP request's socket). */
  address?: string;
}

/**
 * Wraps a raw duplex stream for aedes: reads are passed on after their
 * packet headers have been checked, writes go straight to the raw stream.
 */
export class PacketGuard extends Duplex {
  private state = State.TYPE;
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private bodyLeft = 0;
  private refused = false;

  constructor(
    readonly raw: Duplex,
    private readonly options: PacketGuardOptions,
  ) {
    super();
    raw.on('data', (chunk: Buffer) => {
      // Stryker disable next-line ConditionalExpression: destroy() below destroys raw, which emits no 'data' after it; a guard for streams that would
      if (this.refused) return;
      if (!this.inspect(chunk)) {
        // Stryker disable next-line BooleanLiteral: read only by the line above, which destroy() already makes unreachable
        this.refused = true;
        this.options.onRefused(this.length);
        this.destroy();
        return;
      }
      // Stryker disable next-line BooleanLiteral: pausing after a push that had room is undone by the next _read(); only extra pause/resume, nothing lost or reordered
      if (!this.push(chunk)) raw.pause();
    });
    raw.on('end', () => this.push(null));
    raw.on('error', (err) => this.destroy(err));
    raw.on('close', () => this.destroy());
  }

  /** The peer's address (aedes and the login throttle read it). */
  get remoteAddress(): string | undefined {
    return this.options.address ?? (this.raw as { remoteAddress?: string }).remoteAddress;
  }

  /** Whether every header in `chunk` stays within the limit; keeps the parse state across chunks. */
  private inspect(chunk: Buffer): boolean {
    let i = 0;
    while (i < chunk.length) {
      switch (this.state) {
        case State.TYPE:
          i++;
          this.state = State.LENGTH;
          this.length = 0;
          this.multiplier = 1;
          this.lengthBytes = 0;
          break;
        case State.LENGTH: {
          const b = chunk[i++];
          this.length += (b & VALUE_BITS) * this.multiplier;
          this.multiplier *= 128;
          this.lengthBytes++;
          if (b & CONTINUATION) {
            // A fifth length byte is malformed (§2.2.3): refuse it like an oversize packet.
            if (this.lengthBytes >= MAX_VARINT_BYTES) return false;
            break;
          }
          if (this.length > this.options.limit()) return false;
          this.bodyLeft = this.length;
          // Stryker disable next-line ConditionalExpression: a zero-length body (BODY with 0 left) goes back to TYPE at once, consuming nothing
          this.state = this.length === 0 ? State.TYPE : State.BODY;
          break;
        }
        case State.BODY: {
          const take = Math.min(this.bodyLeft, chunk.length - i);
          i += take;
          this.bodyLeft -= take;
          if (this.bodyLeft === 0) this.state = State.TYPE;
          break;
        }
      }
    }
    return true;
  }

  override _read(): void {
    this.raw.resume();
  }

  // Writes go on at once and wait only when the raw stream asks for it ('drain'): waiting for each
  // chunk's flush instead would serialise aedes' many small writes (PUBACKs, deliveries).
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.raw.destroyed || this.raw.write(chunk)) done();
    else this.raw.once('drain', () => done());
  }

  override _writev(chunks: { chunk: Buffer }[], done: (err?: Error | null) => void): void {
    // mqtt-packet corks the stream around each packet's pieces: keep them in one write to the socket.
    // Stryker disable next-line BooleanLiteral: reassigned by every write; with none (the socket destroyed) the destroyed test below decides
    let ok = true;
    this.raw.cork();
    // Stryker disable next-line ConditionalExpression: a write to a destroyed socket is a no-op (its callback gets the error, nobody listens)
    for (const c of chunks) if (!this.raw.destroyed) ok = this.raw.write(c.chunk);
    this.raw.uncork();
    if (ok || this.raw.destroyed) done();
    else this.raw.once('drain', () => done());
  }

  override _final(done: (err?: Error | null) => void): void {
    this.raw.end();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.raw.destroy();
    done(err);
  }
}
