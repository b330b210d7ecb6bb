// Self-signed certificates for the servers of the live tests, with the key
// hash Chromium accepts in --ignore-certificate-errors-spki-list.

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export interface Certificate {
  /** PEM files of the private key and the certificate. */
  key: string;
  pem: string;
  /** base64 SHA-256 of the DER SubjectPublicKeyInfo. */
  spki: string;
}

/** A self-signed P-256 certificate for `name` (valid one day), written to DIR/NAME.key and DIR/NAME.pem. */
export function selfSignedCertificate(dir: string, name: string): Certificate {
  const key = join(dir, `${name}.key`);
  const pem = join(dir, `${name}.pem`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
      '-addext',
      `subjectAltName=DNS:${name}`,
      '-keyout',
      key,
      '-out',
      pem,
    ],
    { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const der = execFileSync('openssl', ['x509', '-in', pem, '-pubkey', '-noout']);
  const spki = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: der });
  const hash = execFileSync('openssl', ['dgst', '-sha256', '-binary'], { input: spki });
  return { key, pem, spki: hash.toString('base64') };
}
