// The seal of a geo data bundle: what proves the bundle is the one that was
// built. Today a SHA-256 over every byte before the seal, which catches any
// damage in transit (a truncated copy, a flipped bit) but not a deliberate
// change by someone who can also recompute the hash.
//
// This is the one place where an Ed25519 signature check plugs in once the
// evidence key module exists (agent/src/evidence/): sealBundle() signs the
// same bytes with the gateway fleet's key and names the seal 'ed25519';
// checkSeal() verifies it against the trusted public key. Nothing else in
// the bundle format changes: the manifest names the seal's kind.

import { createHash, timingSafeEqual } from 'node:crypto';
import { EgressError, ErrorCode } from '../errors.js';

export type SealKind = 'sha256';

/** Bytes of each seal kind. */
export const SEAL_BYTES: Record<SealKind, number> = { sha256: 32 };

export function isSealKind(kind: unknown): kind is SealKind {
  return kind === 'sha256';
}

/** The seal over `signed` (every bundle byte before it). */
export function sealBundle(signed: Uint8Array, kind: SealKind = 'sha256'): Buffer {
  switch (kind) {
    case 'sha256':
      return createHash('sha256').update(signed).digest();
  }
}

/**
 * Checks the seal over `signed`; throws EGRESS_GEO_BUNDLE_INVALID when it
 * does not match. Ed25519: verify(null, signed, trustedKey, seal) here.
 */
export function checkSeal(kind: SealKind, signed: Uint8Array, seal: Uint8Array, file: string): void {
  const want = sealBundle(signed, kind);
  if (seal.byteLength !== want.byteLength || !timingSafeEqual(seal, want)) {
    throw new EgressError(
      ErrorCode.GEO_BUNDLE_INVALID,
      `geo data bundle damaged: its ${kind} seal does not match its contents`,
      { file, offset: signed.byteLength },
    );
  }
}
