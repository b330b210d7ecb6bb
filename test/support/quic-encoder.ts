// Test-side QUIC client Initial packet protector (RFC 9001 §5.3 AEAD, §5.4
// header protection; RFC 9000 §17.2.2 packet layout; RFC 9369 for v2), and
// frame builders, to make multi-packet, reordered and coalesced Initials.
// The key schedule is the product's (checked against RFC 9001/9369 A.1);
// the packet protection here is written separately and checked byte for
// byte against the protected packets of RFC 9001/9369 A.2.

import { createCipheriv } from 'node:crypto';
import { clientInitialSecrets, QuicVersion } from '../../agent/src/names/quic-keys.js';

/** RFC 9000 §16: the shortest encoding, or `width` bytes when given. */
export function varint(v: number, width?: number): Buffer {
  const n = width ?? (v < 0x40 ? 1 : v < 0x4000 ? 2 : v < 0x40000000 ? 4 : 8);
  const b = Buffer.alloc(n);
  let x = v;
  for (let i = n - 1; i >= 0; i--, x = Math.floor(x / 256)) b[i] = x % 256;
  b[0] |= { 1: 0x00, 2: 0x40, 4: 0x80, 8: 0xc0 }[n]!;
  return b;
}

export const frame = {
  padding: (n: number) => Buffer.alloc(n),
  ping: () => Buffer.from([0x01]),
  crypto: (offset: number, data: Buffer) =>
    Buffer.concat([Buffer.from([0x06]), varint(offset), varint(data.length), data]),
  /** ACK of packets [largest - first, largest], with extra (gap, length) ranges; ECN counts when given. */
  ack: (largest: number, first: number, ranges: [number, number][] = [], ecn?: [number, number, number]) =>
    Buffer.concat([
      Buffer.from([ecn ? 0x03 : 0x02]),
      varint(largest),
      varint(0),
      varint(ranges.length),
      varint(first),
      ...ranges.flatMap(([gap, len]) => [varint(gap), varint(len)]),
      ...(ecn ?? []).map((c) => varint(c)),
    ]),
  connectionClose: (code: number, reason: string) =>
    Buffer.concat([Buffer.from([0x1c]), varint(code), varint(0), varint(reason.length), Buffer.from(reason)]),
};

export interface InitialOptions {
  version?: number;
  dcid: Buffer;
  scid?: Buffer;
  token?: Buffer;
  pn: number;
  /** Bytes of packet number on the wire, 1–4. */
  pnLen?: number;
  /** The frames. */
  payload: Buffer;
  /** Add PADDING so the whole packet is this long (a client's datagram must reach 1200). */
  padTo?: number;
  /** Connection ID whose keys protect the packet, when not `dcid` (after the client switched DCIDs). */
  keysFrom?: Buffer;
  /** Width of the Length field (2 by default, as most stacks write it). */
  lengthWidth?: number;
}

/** Long-header first-byte type bits of an Initial. */
const INITIAL_TYPE: Record<number, number> = { [QuicVersion.V1]: 0b00, [QuicVersion.V2]: 0b01 };

/** A protected client Initial packet. */
export function protectInitial(o: InitialOptions): Buffer {
  const version = o.version ?? QuicVersion.V1;
  const pnLen = o.pnLen ?? 4;
  const keys = clientInitialSecrets(version, o.keysFrom ?? o.dcid);
  if (!keys) throw new Error(`no keys for version ${version.toString(16)}`);
  const scid = o.scid ?? Buffer.alloc(0);
  const token = o.token ?? Buffer.alloc(0);
  const lengthWidth = o.lengthWidth ?? 2;
  const fixed = 1 + 4 + 1 + o.dcid.length + 1 + scid.length + varint(token.length).length + token.length + lengthWidth;
  let payload = o.payload;
  // Header protection samples 16 bytes starting 4 bytes after the packet number starts.
  const minPayload = Math.max(0, 4 - pnLen);
  const padded = Math.max(minPayload, (o.padTo ?? 0) - fixed - pnLen - 16);
  if (payload.length < padded) payload = Buffer.concat([payload, Buffer.alloc(padded - payload.length)]);
  const first = 0xc0 | (INITIAL_TYPE[version] << 4) | (pnLen - 1);
  const versionBytes = Buffer.alloc(4);
  versionBytes.writeUInt32BE(version >>> 0);
  const pnBytes = Buffer.alloc(pnLen);
  for (let i = pnLen - 1, v = o.pn; i >= 0; i--, v = Math.floor(v / 256)) pnBytes[i] = v % 256;
  const header = Buffer.concat([
    Buffer.from([first]),
    versionBytes,
    Buffer.from([o.dcid.length]),
    o.dcid,
    Buffer.from([scid.length]),
    scid,
    varint(token.length),
    token,
    varint(pnLen + payload.length + 16, lengthWidth),
    pnBytes,
  ]);
  const nonce = Buffer.from(keys.iv);
  for (let i = 0, v = o.pn; i < 8; i++, v = Math.floor(v / 256)) nonce[11 - i] ^= v % 256;
  const aead = createCipheriv('aes-128-gcm', keys.key, nonce);
  aead.setAAD(header);
  const sealed = Buffer.concat([aead.update(payload), aead.final(), aead.getAuthTag()]);
  const pnOff = header.length - pnLen;
  const sample = sealed.subarray(4 - pnLen, 4 - pnLen + 16);
  const ecb = createCipheriv('aes-128-ecb', keys.hp, null);
  ecb.setAutoPadding(false);
  const mask = ecb.update(sample);
  header[0] ^= mask[0] & 0x0f;
  for (let i = 0; i < pnLen; i++) header[pnOff + i] ^= mask[1 + i];
  return Buffer.concat([header, sealed]);
}

/** A ClientHello cut into CRYPTO frames of at most `size` bytes: [offset, frame] in stream order. */
export function cryptoFrames(hello: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < hello.length; at += size) out.push(frame.crypto(at, hello.subarray(at, at + size)));
  return out;
}
