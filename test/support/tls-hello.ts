// Test-side ClientHello builder (RFC 8446 §4.1.2): the handshake message
// with the extensions the names stage reads, optionally a post-quantum sized
// key share (X25519MLKEM768, 0x11ec: 1184 + 32 bytes, as Chromium sends), and
// the record layer split at chosen sizes; and the ClientHello of RFC 9001
// Appendix A.2 as an annotated byte vector.

export interface HelloOptions {
  sni?: string | Buffer | null;
  alpn?: string[];
  versions?: number[];
  ech?: boolean;
  /**
   * Add an X25519MLKEM768 key share beside X25519 and a 380-byte session
   * ticket: about 1.8 KB, the size of Chromium's post-quantum ClientHello.
   */
  postQuantum?: boolean;
  legacyVersion?: number;
  /** Extensions appended as given: [type, data]. */
  extra?: [number, Buffer][];
  /** Bytes of PADDING extension (21) to add. */
  padding?: number;
}

const u8 = (n: number) => Buffer.from([n]);
const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const u24 = (n: number) => Buffer.from([n >> 16, (n >> 8) & 0xff, n & 0xff]);
const vec8 = (b: Buffer) => Buffer.concat([u8(b.length), b]);
const vec16 = (b: Buffer) => Buffer.concat([u16(b.length), b]);

export function extension(type: number, data: Buffer): Buffer {
  return Buffer.concat([u16(type), vec16(data)]);
}

/** A deterministic filler, so the same options always give the same bytes. */
function filler(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** The ClientHello handshake message: type 1, u24 length, body. */
export function clientHello(o: HelloOptions = {}): Buffer {
  const exts: Buffer[] = [];
  if (o.sni !== null) {
    const name = typeof o.sni === 'string' || o.sni === undefined ? Buffer.from(o.sni ?? 'example.com') : o.sni;
    exts.push(extension(0, vec16(Buffer.concat([u8(0), vec16(name)]))));
  }
  exts.push(extension(0xff01, Buffer.from([0]))); // renegotiation_info
  exts.push(extension(10, vec16(Buffer.concat([u16(0x11ec), u16(0x001d), u16(0x0017)])))); // supported_groups
  if (o.alpn) exts.push(extension(16, vec16(Buffer.concat(o.alpn.map((a) => vec8(Buffer.from(a)))))));
  exts.push(extension(13, vec16(Buffer.concat([u16(0x0403), u16(0x0804), u16(0x0401)])))); // signature_algorithms
  const shares = [Buffer.concat([u16(0x001d), vec16(filler(32, 1))])];
  if (o.postQuantum) shares.unshift(Buffer.concat([u16(0x11ec), vec16(filler(1184 + 32, 2))]));
  exts.push(extension(51, vec16(Buffer.concat(shares)))); // key_share
  if (o.postQuantum) exts.push(extension(35, filler(380, 7))); // session_ticket
  if (o.versions) exts.push(extension(43, vec8(Buffer.concat(o.versions.map(u16)))));
  if (o.ech)
    exts.push(
      extension(0xfe0d, Buffer.concat([u8(0), u16(1), u16(1), u8(7), vec16(filler(32, 3)), vec16(filler(144, 4))])),
    );
  for (const [type, data] of o.extra ?? []) exts.push(extension(type, data));
  if (o.padding) exts.push(extension(21, Buffer.alloc(o.padding)));
  const body = Buffer.concat([
    u16(o.legacyVersion ?? 0x0303),
    filler(32, 5), // random
    vec8(filler(32, 6)), // legacy_session_id
    vec16(Buffer.concat([u16(0x1301), u16(0x1302), u16(0xc02f)])), // cipher_suites
    vec8(Buffer.from([0])), // legacy_compression_methods: null
    vec16(Buffer.concat(exts)),
  ]);
  return Buffer.concat([u8(1), u24(body.length), body]);
}

/** The message in handshake records (type 22, record version `version`) of at most the given sizes; the last size repeats. */
export function records(msg: Buffer, sizes: number[] = [16_384], version = 0x0301): Buffer {
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < msg.length; i++) {
    const n = Math.min(sizes[Math.min(i, sizes.length - 1)], msg.length - at);
    out.push(Buffer.from([22, version >> 8, version & 0xff]), u16(n), msg.subarray(at, at + n));
    at += n;
  }
  return Buffer.concat(out);
}

/** Bytes from hex written field by field; spaces between fields are ignored. */
export function hex(...fields: string[]): Buffer {
  const s = fields.join('').replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/.test(s)) throw new Error(`bad hex vector: ${s}`);
  return Buffer.from(s, 'hex');
}

// The ClientHello of RFC 9001 Appendix A.2 (carried there in a CRYPTO frame), in one TLS record.
export const RFC9001_HELLO = hex(
  '16 0301 00f1', //                          record: handshake, TLS 1.0 record version, 241 bytes
  '01 0000ed', //                             ClientHello, 237 bytes
  '0303', //                                  legacy_version TLS 1.2
  'ebf8fa56f12939b9584a3896472ec40bb863cfd3e86804fe3a47f06a2b69484c', // random
  '00', //                                    legacy_session_id: empty
  '0004 1301 1302', //                        cipher_suites: TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384
  '01 00', //                                 compression: null
  '00c0', //                                  extensions: 192 bytes
  '0000 0010 000e 00 000b 6578616d706c652e636f6d', // server_name: host_name "example.com"
  'ff01 0001 00', //                          renegotiation_info
  '000a 0008 0006 001d 0017 0018', //         supported_groups: x25519, secp256r1, secp384r1
  '0010 0007 0005 04 616c706e', //            ALPN: "alpn"
  '0005 0005 0100000000', //                  status_request
  '0033 0026 0024 001d 0020 9370b2c9caa47fbabaf4559fedba753de171fa71f50f1ce15d43e994ec74d748', // key_share x25519
  '002b 0003 02 0304', //                     supported_versions: TLS 1.3
  '000d 0010 000e 0403 0503 0603 0203 0804 0805 0806', // signature_algorithms
  '002d 0002 01 01', //                       psk_key_exchange_modes: psk_dhe_ke
  '001c 0002 4001', //                        record_size_limit
  '0039 0032', //                            quic_transport_parameters, 50 bytes:
  '0408ffffffffffffffff 05048000ffff 07048000ffff 080110 010480007530 090110 0f088394c8f03e515708 06048000ffff',
);
