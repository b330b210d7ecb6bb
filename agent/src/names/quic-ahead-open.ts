// What the look-ahead thread of quic-ahead.ts does (quic-ahead-worker.ts
// runs it): read the capture file the pipeline reads, number its packets as
// the pipeline does (the same reader and decoder), and open every UDP
// datagram that starts with a client Initial under the keys of its own
// Connection ID, as a flow's first Initial (no packet number before it).
// What opens goes into the ring, in packet order; what does not is left to
// the pipeline.

import { closeSync, openSync, readSync } from 'node:fs';
import { CaptureReader } from '../capture/reader.js';
import type { PacketSink } from '../capture/types.js';
import { Anomalies } from '../decode/anomaly.js';
import { decodePacket } from '../decode/decode.js';
import { DecodeResult, IpProto, Packet } from '../decode/packet.js';
import { aes128Schedule } from './aes.js';
import { located, locateFirstInitial, openedPn, openInitialPacket } from './quic.js';
import { type AheadRing, Ctl, MAX_PLAIN, RESUME_AT, SLOTS } from './quic-ahead.js';
import { clientInitialSecrets } from './quic-keys.js';

const CHUNK = 1024 * 1024;
/** RFC 9000 §7.2: the Destination Connection ID of a client's first Initial has at least 8 bytes. */
const MIN_FIRST_DCID = 8;
/** Client Source Connection IDs remembered (a power of two). */
const SCID_SLOTS = 4096;
const MAX_CID = 20;
const SLOT = 1 + MAX_CID + 2 + 16;

/**
 * The client Initials opened lately, by Source Connection ID and the
 * client's address and port, direct-mapped by a hash (a newer one takes an
 * older one's place): a server's Initials go to that address and port with
 * that Connection ID as their destination, and are not opened for nothing
 * (the pipeline only ever takes a client's). Written here: a Map keyed by
 * text would cost a string per datagram.
 */
class RecentClients {
  /** Per slot: the ID's length, the ID, the port (2 bytes), the address (16 bytes, IPv4 in the first 4). */
  private readonly slots = new Uint8Array(SCID_SLOTS * SLOT);

  private slotOf(
    buf: Uint8Array,
    cidOff: number,
    cidLen: number,
    addrOff: number,
    addrLen: number,
    port: number,
  ): number {
    // Any hash add() and has() share finds the same entries; a weaker one only meets more
    // collisions, which has() refuses by comparing.
    let h = Math.imul(0x811c9dc5 ^ port, 0x01000193);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: see above
    for (let i = 0; i < cidLen; i++) h = Math.imul(h ^ buf[cidOff + i], 0x01000193);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: see above
    for (let i = 0; i < addrLen; i++) h = Math.imul(h ^ buf[addrOff + i], 0x01000193);
    return ((h >>> 0) & (SCID_SLOTS - 1)) * SLOT;
  }

  add(buf: Uint8Array, cidOff: number, cidLen: number, addrOff: number, addrLen: number, port: number): void {
    const at = this.slotOf(buf, cidOff, cidLen, addrOff, addrLen, port);
    const s = this.slots;
    s[at] = cidLen;
    s.set(buf.subarray(cidOff, cidOff + cidLen), at + 1);
    s[at + 1 + MAX_CID] = port >> 8;
    s[at + 2 + MAX_CID] = port & 0xff;
    s.set(buf.subarray(addrOff, addrOff + addrLen), at + 3 + MAX_CID);
  }

  has(buf: Uint8Array, cidOff: number, cidLen: number, addrOff: number, addrLen: number, port: number): boolean {
    const at = this.slotOf(buf, cidOff, cidLen, addrOff, addrLen, port);
    const s = this.slots;
    // The comparisons tell apart only entries whose hashes meet in one of 4,096 slots. A wrong
    // answer costs an Initial opened for nothing, or one the pipeline opens itself: never
    // another result.
    // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator: see above
    if (s[at] !== cidLen || s[at + 1 + MAX_CID] !== port >> 8 || s[at + 2 + MAX_CID] !== (port & 0xff)) return false;
    // Stryker disable next-line ConditionalExpression,EqualityOperator,BooleanLiteral: see above
    for (let i = 0; i < cidLen; i++) if (s[at + 1 + i] !== buf[cidOff + i]) return false;
    // Stryker disable next-line ConditionalExpression,EqualityOperator,BooleanLiteral: see above
    for (let i = 0; i < addrLen; i++) if (s[at + 3 + MAX_CID + i] !== buf[addrOff + i]) return false;
    return true;
  }
}

/** How long one wait for a free slot lasts before STOP is looked at again (ms). */
export const WAIT_MS = 50;

class Opener implements PacketSink {
  private index = 0;
  private written = 0;
  private readonly view = new Packet();
  private readonly anomalies = new Anomalies();
  private readonly clients = new RecentClients();

  constructor(
    private readonly ring: AheadRing,
    private readonly waitMs: number,
    private readonly meanwhile: (() => void) | undefined,
  ) {}

  get stopped(): boolean {
    return Atomics.load(this.ring.ctl, Ctl.STOP) !== 0;
  }

  packet(buf: Buffer, off: number, caplen: number, _origLen: number, _tsUs: number, linkType: number): void {
    const index = this.index++;
    if (this.meanwhile !== undefined && (index & (MEANWHILE_EVERY - 1)) === 0) this.meanwhile();
    const p = this.view;
    if (decodePacket(buf, off, caplen, linkType, p, this.anomalies.counts) !== DecodeResult.TRANSPORT) return;
    if (p.proto !== IpProto.UDP || !locateFirstInitial(buf, p.payloadOff, p.payloadLen)) return;
    const { version, dcidOff, dcidLen, scidOff, scidLen, pnOff, end } = located;
    // A server's Initial, or no client's first: the pipeline would not take it.
    if (dcidLen < MIN_FIRST_DCID || this.clients.has(buf, dcidOff, dcidLen, p.dstAddrOff, p.addrLen, p.dstPort)) return;
    Atomics.add(this.ring.ctl, Ctl.TRIED, 1);
    const dcid = buf.subarray(dcidOff, dcidOff + dcidLen);
    const s = clientInitialSecrets(version, dcid);
    // Stryker disable next-line ConditionalExpression: locateFirstInitial() takes known versions only
    if (s === null) return;
    const keys = { key: s.key, iv: s.iv, hp: aes128Schedule(s.hp) };
    // Stryker disable next-line UnaryOperator: a flow's first packet number decodes the same after
    // -1 as after +1 (it is below one window either way: RFC 9000 A.3 adds or takes a window only further on)
    const plain = openInitialPacket(buf, p.payloadOff, pnOff, end, keys, -1);
    if (typeof plain === 'string') return;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: an empty ID is never looked up (IDs under 8 bytes are left before has())
    if (scidLen > 0) this.clients.add(buf, scidOff, scidLen, p.srcAddrOff, p.addrLen, p.srcPort);
    if (plain.length > MAX_PLAIN) return;
    const ctl = this.ring.ctl;
    // Every slot full: wait until the pipeline has passed half of them.
    if (((this.written - Atomics.load(ctl, Ctl.TAKEN)) | 0) >= SLOTS) {
      Atomics.store(ctl, Ctl.WAITING, 1);
      for (;;) {
        const taken = Atomics.load(ctl, Ctl.TAKEN);
        if (((this.written - taken) | 0) <= RESUME_AT) break;
        if (this.stopped) return;
        this.meanwhile?.();
        Atomics.wait(ctl, Ctl.TAKEN, taken, this.waitMs);
      }
      Atomics.store(ctl, Ctl.WAITING, 0);
    }
    this.ring.fill(this.written, index, buf, p.payloadOff, end, version, dcid, keys, openedPn, plain);
    this.written = (this.written + 1) | 0;
    Atomics.store(ctl, Ctl.WRITTEN, this.written);
  }
}

/** `meanwhile` runs once per this many packets (a power of two). */
const MEANWHILE_EVERY = 64;

/**
 * Opens the Initials of capture `file` into `ring`, until the file ends or
 * STOP is set; then DONE. `waitMs`: how long one wait for free slots lasts
 * at most (the pipeline wakes it sooner). `meanwhile`: other work of the
 * same thread (the scan's event lines, output/event-ring.ts), run every
 * MEANWHILE_EVERY packets and before each wait.
 */
export function openAhead(file: string, ring: AheadRing, waitMs = WAIT_MS, meanwhile?: () => void): void {
  const opener = new Opener(ring, waitMs, meanwhile);
  const reader = new CaptureReader(opener);
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const n = readSync(fd, chunk, 0, CHUNK, null);
      if (n === 0 || opener.stopped) break;
      reader.push(chunk.subarray(0, n));
      // Stryker disable next-line ConditionalExpression: reading on would only spare nothing: the reader takes no input after its error
      if (reader.error) break;
    }
  } finally {
    closeSync(fd);
  }
  Atomics.store(ring.ctl, Ctl.DONE, 1);
}
