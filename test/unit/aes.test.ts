// AES-128 of one block (names/aes.ts), the QUIC header protection cipher:
// FIPS 197's worked example and key schedule, the header protection masks
// of RFC 9001 Appendices A.2 and A.3, and node's own AES-128-ECB on seeded
// random keys and blocks, read at several offsets of a buffer. (The v2
// vectors of RFC 9369 go through it end to end in quic-rfc.test.ts.)

import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { aes128EncryptBlock, aes128Schedule } from '../../agent/src/names/aes.js';
import { hex } from '../support/tls-hello.js';

function encrypt(key: Uint8Array, block: Uint8Array, at = 0): string {
  const out = new Uint8Array(16);
  aes128EncryptBlock(aes128Schedule(key), block, at, out);
  return Buffer.from(out).toString('hex');
}

function nodeEncrypt(key: Uint8Array, block: Uint8Array): string {
  const c = createCipheriv('aes-128-ecb', key, null);
  c.setAutoPadding(false);
  return c.update(block).toString('hex');
}

/** xorshift32: the same "random" keys on every run. */
function seeded(seed: number): (n: number) => Buffer {
  let x = seed;
  return (n) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      b[i] = x & 0xff;
    }
    return b;
  };
}

describe('AES-128 of one block', () => {
  it('gives FIPS 197 Appendix C.1 and its key schedule (Appendix A.1)', () => {
    const key = hex('000102030405060708090a0b0c0d0e0f');
    expect(encrypt(key, hex('00112233445566778899aabbccddeeff'))).toBe('69c4e0d86a7b0430d8cdb78070b4c55a');
    // A.1's key: 2b7e1516 28aed2a6 abf71588 09cf4f3c; w[4] = a0fafe17, w[43] = b6630ca6.
    const w = aes128Schedule(hex('2b7e151628aed2a6abf7158809cf4f3c'));
    expect(w.length).toBe(44);
    expect(w[4] >>> 0).toBe(0xa0fafe17);
    expect(w[10] >>> 0).toBe(0x5935807a);
    expect(w[43] >>> 0).toBe(0xb6630ca6);
  });

  it.each([
    // RFC 9001 A.2: client Initial, hp key and sample, mask 437b9aec36.
    ['RFC 9001 A.2 (v1)', '9f50449e04a0e810283a1e9933adedd2', 'd1b1c98dd7689fb8ec11d242b123dc9b', '437b9aec36'],
    // RFC 9001 A.3: server Initial, mask 2ec0d8356a.
    ['RFC 9001 A.3 (v1 server)', 'c206b8d9b9f0f37644430b490eeaa314', '2cd0991cd25b0aac406a5816b6394100', '2ec0d8356a'],
  ])('gives the header protection mask of %s', (_name, key, sample, mask) => {
    expect(encrypt(hex(key), hex(sample)).slice(0, 10)).toBe(mask);
  });

  it('agrees with node:crypto on 2,000 seeded keys and blocks, read from any offset', () => {
    const rand = seeded(0x9e3779b9);
    for (let i = 0; i < 2000; i++) {
      const key = rand(16);
      const block = rand(16);
      const at = i % 7;
      const buf = Buffer.concat([rand(at), block, rand(3)]);
      expect(encrypt(key, buf, at), `key ${key.toString('hex')}`).toBe(nodeEncrypt(key, block));
    }
  });

  it('refuses a key that is not 16 bytes', () => {
    expect(() => aes128Schedule(new Uint8Array(15))).toThrow(RangeError);
    expect(() => aes128Schedule(new Uint8Array(32))).toThrow(/16 bytes, got 32/);
  });
});
