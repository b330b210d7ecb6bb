// QUIC header protection per connection (BENCHMARKS.md, "Two shards measured, and where a
// packet's cost lies"): our AES-128 key schedule and one block (names/aes.ts) against a
// native AES-128-ECB cipher object per key, N random keys, in a fresh process so the
// warm-up counts as it does in a scan. Usage: node scripts/bench-lib/hp-keys.mjs js|native N
import { createCipheriv, randomBytes } from 'node:crypto';

const { aes128EncryptBlock, aes128Schedule } = await import('../../agent/dist/names/aes.js');
const which = process.argv[2];
const n = Number(process.argv[3] ?? 38_000);
if ((which !== 'js' && which !== 'native') || !(n > 0)) {
  console.error('usage: node scripts/bench-lib/hp-keys.mjs js|native N');
  process.exit(2);
}
const keys = Array.from({ length: n }, () => randomBytes(16));
const sample = randomBytes(16);
const out = new Uint8Array(16);
let x = 0;
const t = process.hrtime.bigint();
if (which === 'js') {
  for (const k of keys) {
    aes128EncryptBlock(aes128Schedule(k), sample, 0, out);
    x ^= out[0];
  }
} else {
  for (const k of keys) {
    const c = createCipheriv('aes-128-ecb', k, null);
    c.setAutoPadding(false);
    x ^= c.update(sample)[0];
  }
}
const ns = Number(process.hrtime.bigint() - t) / n;
console.log(`${which}: ${n} keys, ${ns.toFixed(0)} ns per key (check byte ${x})`);
