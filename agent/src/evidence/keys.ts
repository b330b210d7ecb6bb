// The gateway's evidence signing key: Ed25519 (RFC 8032) through node:crypto,
// made on first start and kept in DATA_DIR/keys/ (private key mode 0600).
// The fingerprint is the SHA-256 of the public key's DER SubjectPublicKeyInfo,
// so anyone can recompute it without our software:
//   openssl pkey -pubin -in public-key.pem -outform DER | sha256sum

import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EgressError, ErrorCode } from '../errors.js';

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** PEM of the public key (SPKI). */
  publicPem: string;
  /** Hex SHA-256 of the DER public key. */
  fingerprint: string;
}

export const PRIVATE_KEY_FILE = 'evidence-ed25519.pem';
const PUBLIC_FILE = 'evidence-ed25519.pub.pem';

export function keyDir(dataDir: string): string {
  return join(dataDir, 'keys');
}

/** The key pair in DATA_DIR/keys, made when there is none. */
export function loadOrCreateKey(dataDir: string): SigningKey & { created: boolean } {
  const dir = keyDir(dataDir);
  const file = join(dir, PRIVATE_KEY_FILE);
  if (existsSync(file)) return { ...loadKey(dataDir), created: false };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  // Stryker disable next-line ObjectLiteral,StringLiteral: chmodSync below sets 0600 too; mode and 'wx' only close a race with another writer
  writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  writeFileSync(join(dir, PUBLIC_FILE), publicPem, { mode: 0o644 });
  return { privateKey, publicKey, publicPem, fingerprint: fingerprintOf(publicKey), created: true };
}

/** The existing key pair; EGRESS_KEY_MISSING when there is none. */
export function loadKey(dataDir: string): SigningKey {
  const file = join(keyDir(dataDir), PRIVATE_KEY_FILE);
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new EgressError(
      ErrorCode.KEY_MISSING,
      // Stryker disable next-line StringLiteral: readFileSync's errors always carry a code; the fallback is for the type
      `no evidence key in ${keyDir(dataDir)} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'}); it is made when the agent first starts`,
      { file },
    );
  }
  try {
    const privateKey = createPrivateKey(pem);
    const publicKey = createPublicKey(privateKey);
    const publicPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    return { privateKey, publicKey, publicPem, fingerprint: fingerprintOf(publicKey) };
  } catch (err) {
    throw new EgressError(ErrorCode.KEY_MISSING, `${file} is not an Ed25519 private key: ${(err as Error).message}`, {
      file,
    });
  }
}

export function fingerprintOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/** A public key from PEM text; null when it is not an Ed25519 public key. */
export function parsePublicKey(pem: string | Buffer): KeyObject | null {
  try {
    const k = createPublicKey(pem);
    return k.asymmetricKeyType === 'ed25519' ? k : null;
  } catch {
    return null;
  }
}

export function signBytes(key: SigningKey, data: Buffer | string): Buffer {
  return sign(null, Buffer.from(data), key.privateKey);
}

export function verifyBytes(publicKey: KeyObject, data: Buffer | string, signature: Buffer): boolean {
  try {
    return verify(null, Buffer.from(data), publicKey, signature);
  } catch {
    return false;
  }
}
