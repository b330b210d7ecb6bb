// HMAC-SHA-256 of names/hkdf.ts against RFC 4231's test vectors and against
// node:crypto on seeded random keys and messages of every length it takes.

import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HmacKey, ONE_BLOCK_MAX } from '../../agent/src/names/hkdf.js';

describe('HmacKey', () => {
  it('gives RFC 4231 §4.2 and §4.3 (test cases 1 and 2)', () => {
    expect(new HmacKey(Buffer.alloc(20, 0x0b)).mac(Buffer.from('Hi There')).toString('hex')).toBe(
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    );
    expect(new HmacKey(Buffer.from('Jefe')).mac(Buffer.from('what do ya want for nothing?')).toString('hex')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('equals node:crypto for keys of 0–64 bytes and messages of 0–55 bytes, truncated as asked', () => {
    const seed = 0x5eed;
    let s = seed;
    const byte = () => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s >>> 24;
    };
    for (let keyLen = 0; keyLen <= 64; keyLen++) {
      const key = Buffer.from(Array.from({ length: keyLen }, byte));
      const h = new HmacKey(key);
      for (let msgLen = 0; msgLen <= ONE_BLOCK_MAX; msgLen += 5) {
        const msg = Buffer.from(Array.from({ length: msgLen }, byte));
        const want = createHmac('sha256', key).update(msg).digest();
        const length = 1 + (msgLen % 32);
        expect(h.mac(msg, length).toString('hex'), `seed ${seed}, key ${keyLen}, message ${msgLen}`).toBe(
          want.subarray(0, length).toString('hex'),
        );
      }
    }
  });

  it('refuses what one block cannot hold', () => {
    expect(() => new HmacKey(Buffer.alloc(65))).toThrow(
      new RangeError('HMAC keys over 64 bytes are not supported here'),
    );
    expect(() => new HmacKey(Buffer.alloc(32)).mac(Buffer.alloc(ONE_BLOCK_MAX + 1))).toThrow(
      new RangeError('message over 55 bytes'),
    );
  });
});
