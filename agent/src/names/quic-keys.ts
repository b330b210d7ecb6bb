// QUIC Initial keys (RFC 9001 §5.2): derived from the client's first
// Destination Connection ID with HKDF (RFC 5869) and HKDF-Expand-Label
// (RFC 8446 §7.1), per version: QUIC v1 (RFC 9000) and v2 (RFC 9369 §3.3),
// which differ in the salt, the labels and the long-header type bits. The
// keys of recent connection IDs are kept in a bounded cache (least recently
// used goes first, with a counter of evictions).

import { createHmac } from 'node:crypto';
import { aes128Schedule } from './aes.js';
import { HmacKey, ONE_BLOCK_MAX } from './hkdf.js';

export const QuicVersion = { NEGOTIATION: 0, V1: 0x00000001, V2: 0x6b3343cf } as const;

/** What differs between the versions we can open. */
export interface VersionSpec {
  salt: Buffer;
  labels: { key: string; iv: string; hp: string };
  /** Long Header Packet Type values (RFC 9000 §17.2 Table 5; RFC 9369 §3.2). */
  initial: number;
  retry: number;
}

export const VERSIONS = new Map<number, VersionSpec>([
  [
    QuicVersion.V1,
    {
      salt: Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex'), // RFC 9001 §5.2
      labels: { key: 'quic key', iv: 'quic iv', hp: 'quic hp' },
      initial: 0b00,
      retry: 0b11,
    },
  ],
  [
    QuicVersion.V2,
    {
      salt: Buffer.from('0dede3def700a6db819381be6e269dcbf9bd2ed9', 'hex'), // RFC 9369 §3.3.1
      labels: { key: 'quicv2 key', iv: 'quicv2 iv', hp: 'quicv2 hp' },
      initial: 0b01,
      retry: 0b00,
    },
  ],
]);

export function isKnownQuicVersion(version: number): boolean {
  return VERSIONS.has(version);
}

// ---- Keys (RFC 9001 §5.2, RFC 8446 §7.1 HKDF-Expand-Label, RFC 5869 HKDF) ----

/** HKDF-Extract for a Connection ID too long for hkdf.ts's one-block path (never in a valid Initial). */
function hkdfExtractLong(salt: Uint8Array, ikm: Uint8Array): Buffer {
  return createHmac('sha256', salt).update(ikm).digest();
}

/** HMAC key states of each version's salt, made on first use. */
const saltKeys = new Map<number, HmacKey>();

/** The HkdfLabel structure and block counter for `label` (a handful of constants, made once each). */
const expandInfos = new Map<string, Buffer>();
function expandInfo(label: string, length: number): Buffer {
  const id = `${label} ${length}`;
  let info = expandInfos.get(id);
  // Stryker disable next-line ConditionalExpression: a memo; making the label again gives the same bytes
  if (info === undefined) {
    const full = Buffer.from(`tls13 ${label}`, 'latin1');
    info = Buffer.concat([Buffer.from([length >> 8, length & 0xff, full.length]), full, Buffer.from([0, 1])]);
    expandInfos.set(id, info);
  }
  return info;
}

export interface InitialSecrets {
  initialSecret: Buffer;
  clientSecret: Buffer;
  key: Buffer;
  iv: Buffer;
  hp: Buffer;
}

/**
 * The client's Initial secrets and keys for `version` and the Destination
 * Connection ID of its first Initial; null for a version we cannot open.
 */
export function clientInitialSecrets(version: number, dcid: Uint8Array): InitialSecrets | null {
  const spec = VERSIONS.get(version);
  if (!spec) return null;
  let salt = saltKeys.get(version);
  // Stryker disable next-line ConditionalExpression: a memo; a new HmacKey of the same salt gives the same MACs
  if (salt === undefined) {
    salt = new HmacKey(spec.salt);
    saltKeys.set(version, salt);
  }
  // HKDF-Extract, then HKDF-Expand-Label (RFC 8446 §7.1) with an empty context: each output fits one block.
  // Stryker disable next-line EqualityOperator: at exactly ONE_BLOCK_MAX bytes both paths compute the same HMAC
  const initialSecret = dcid.length <= ONE_BLOCK_MAX ? salt.mac(dcid) : hkdfExtractLong(spec.salt, dcid);
  const clientSecret = new HmacKey(initialSecret).mac(expandInfo('client in', 32), 32);
  const client = new HmacKey(clientSecret);
  return {
    initialSecret,
    clientSecret,
    key: client.mac(expandInfo(spec.labels.key, 16), 16),
    iv: client.mac(expandInfo(spec.labels.iv, 12), 12),
    hp: client.mac(expandInfo(spec.labels.hp, 16), 16),
  };
}

export interface OpenKeys {
  key: Buffer;
  iv: Buffer;
  /** The header protection key's AES-128 schedule (aes.ts): the mask is one block under it. */
  hp: Int32Array;
}

/**
 * Initial keys depend only on the version and the client's first DCID, and
 * deriving them (five HMACs and a cipher) costs more than opening a packet:
 * the keys of the last KEY_CACHE_SIZE connection IDs are kept, for a client
 * that retries from another port (or address family) with the same DCID.
 * The least recently used entry goes first.
 */
export const KEY_CACHE_SIZE = 1024;
const keyCache = new Map<string, OpenKeys>();
let keyCacheEvictions = 0;

/** Entries held by the Initial key cache, and how many were pushed out by newer ones. */
export function initialKeyCacheCounters(): { size: number; evictions: number } {
  return { size: keyCache.size, evictions: keyCacheEvictions };
}

/** The Initial keys for `version` and `dcid`, from the cache or derived (then cached). */
export function initialKeys(version: number, dcid: Buffer): OpenKeys {
  const id = `${version} ${dcid.toString('hex')}`;
  let k = keyCache.get(id);
  if (k !== undefined) {
    keyCache.delete(id);
  } else {
    const s = clientInitialSecrets(version, dcid)!;
    k = { key: s.key, iv: s.iv, hp: aes128Schedule(s.hp) };
    if (keyCache.size >= KEY_CACHE_SIZE) {
      keyCache.delete(keyCache.keys().next().value as string);
      keyCacheEvictions++;
    }
  }
  keyCache.set(id, k);
  return k;
}
