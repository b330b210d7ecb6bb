// flagged.pcapng block by block (agent/src/evidence/flagged-pcap.ts), in
// process: the Section Header, one Interface Description per link type, each
// Enhanced Packet with its 64-bit timestamp, lengths, padded data and comment
// option (draft-ietf-opsawg-pcapng §4.1–4.3) read back field by field; the
// same file opened by tshark; the size bound (counted, reported once); a
// second run appending a new section; the empty capture an export uses when
// no packet was flagged.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { emptyPcapng, FlaggedPcap } from '../../agent/src/evidence/flagged-pcap.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function file(): string {
  const d = mkdtempSync(join(tmpdir(), 'egress-fpcap-'));
  dirs.push(d);
  return join(d, 'flagged.pcapng');
}

interface Block {
  type: number;
  len: number;
  body: Buffer;
}

/** The blocks of a little-endian pcapng, each checked for its trailing length. */
function blocks(b: Buffer): Block[] {
  const out: Block[] = [];
  let p = 0;
  while (p < b.length) {
    const type = b.readUInt32LE(p);
    const len = b.readUInt32LE(p + 4);
    expect(len % 4).toBe(0);
    expect(b.readUInt32LE(p + len - 4)).toBe(len);
    out.push({ type, len, body: b.subarray(p + 8, p + len - 4) });
    p += len;
  }
  expect(p).toBe(b.length);
  return out;
}

/** The Section Header's fields: byte-order magic, version, section length, application option. */
function shb(blk: Block) {
  const b = blk.body;
  const appLen = b.readUInt16LE(18);
  return {
    type: blk.type,
    magic: b.readUInt32LE(0),
    version: [b.readUInt16LE(4), b.readUInt16LE(6)],
    sectionLength: b.readBigInt64LE(8),
    optCode: b.readUInt16LE(16),
    app: b.subarray(20, 20 + appLen).toString('utf8'),
    // After the padded option value: opt_endofopt (4 zero bytes), then the block ends.
    end: b.subarray(20 + ((appLen + 3) & ~3)).toString('hex'),
  };
}

function epb(blk: Block) {
  const b = blk.body;
  const caplen = b.readUInt32LE(12);
  const o = 20 + ((caplen + 3) & ~3);
  const cLen = b.readUInt16LE(o + 2);
  return {
    type: blk.type,
    ifId: b.readUInt32LE(0),
    tsUs: (BigInt(b.readUInt32LE(4)) << 32n) | BigInt(b.readUInt32LE(8)),
    caplen,
    origLen: b.readUInt32LE(16),
    data: b.subarray(20, 20 + caplen).toString('hex'),
    pad: b.subarray(20 + caplen, o).toString('hex'),
    optCode: b.readUInt16LE(o),
    comment: b.subarray(o + 4, o + 4 + cLen).toString('utf8'),
    end: b.subarray(o + 4 + ((cLen + 3) & ~3)).toString('hex'),
  };
}

const idb = (blk: Block) => ({
  type: blk.type,
  len: blk.len,
  linkType: blk.body.readUInt16LE(0),
  reserved: blk.body.readUInt16LE(2),
  snaplen: blk.body.readUInt32LE(4),
});

const TS = 1_777_000_000_123_456; // µs: more than 32 bits

describe('flagged.pcapng', () => {
  it('writes a section header, an interface per link type and one enhanced packet per packet, with its comment', () => {
    const f = file();
    const p = new FlaggedPcap(f, 1 << 20, 'Egress Sentinel 9.9.9');
    const frame = Buffer.from('00112233445566778899aabbccddeeff0102', 'hex');
    // Written from an offset into a larger buffer, captured shorter than on the wire.
    p.write(Buffer.concat([Buffer.from('ffff', 'hex'), frame]), 2, 17, 60, TS, 1, 'flow 7 → 203.0.113.9 (high)');
    p.write(frame, 0, 16, 16, TS + 1.2, 1, 'a');
    p.write(frame, 0, 5, 5, 1, 101, 'raw ünïcode');
    expect(p.counters).toEqual({ packets: 3, bytes: 38, dropped: 0 });
    expect(p.truncated).toBe(false);
    p.close();
    p.close(); // twice is harmless

    const bytes = readFileSync(f);
    const bs = blocks(bytes);
    expect(bs.map((b) => b.type)).toEqual([0x0a0d0d0a, 1, 6, 6, 1, 6]);
    expect(shb(bs[0])).toEqual({
      type: 0x0a0d0d0a,
      magic: 0x1a2b3c4d,
      version: [1, 0],
      sectionLength: -1n,
      optCode: 4,
      app: 'Egress Sentinel 9.9.9',
      end: '00000000',
    });
    expect(bs[0].len).toBe(24 + 4 + 24 + 4 + 4);
    expect(idb(bs[1])).toEqual({ type: 1, len: 20, linkType: 1, reserved: 0, snaplen: 262_144 });
    expect(idb(bs[4])).toEqual({ type: 1, len: 20, linkType: 101, reserved: 0, snaplen: 262_144 });
    expect(epb(bs[2])).toEqual({
      type: 6,
      ifId: 0,
      tsUs: BigInt(TS),
      caplen: 17,
      origLen: 60,
      data: frame.subarray(0, 17).toString('hex'),
      pad: '000000',
      optCode: 1,
      comment: 'flow 7 → 203.0.113.9 (high)',
      end: '00000000',
    });
    expect(epb(bs[3])).toMatchObject({ ifId: 0, tsUs: BigInt(TS + 1), caplen: 16, origLen: 16, pad: '', comment: 'a' });
    expect(bs[3].len).toBe(28 + 16 + 4 + 4 + 4 + 4);
    expect(epb(bs[5])).toMatchObject({ ifId: 1, tsUs: 1n, caplen: 5, data: frame.subarray(0, 5).toString('hex') });
    expect(epb(bs[5]).comment).toBe('raw ünïcode');

    // tshark reads the same: three frames, their times, lengths and comments.
    const out = execFileSync(
      'tshark',
      [
        '-r',
        f,
        '-T',
        'fields',
        '-e',
        'frame.time_epoch',
        '-e',
        'frame.len',
        '-e',
        'frame.cap_len',
        '-e',
        'frame.comment',
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    expect(out.trim().split('\n')).toEqual([
      '1777000000.123456000\t60\t17\tflow 7 → 203.0.113.9 (high)',
      '1777000000.123457000\t16\t16\ta',
      '0.000001000\t5\t5\traw ünïcode',
    ]);
  });

  it('stops at its bound: packets past it are counted, not written, and reported once', () => {
    const f = file();
    const data = Buffer.alloc(100, 7);
    // One packet with a 1-byte comment is a 144-byte block; the section header and interface add 60;
    // each write must leave 200 bytes spare.
    const p = new FlaggedPcap(f, 60 + 144 + 144 + 200 - 1, 'app!');
    let reported = 0;
    p.onTruncated = () => reported++;
    p.write(data, 0, 100, 100, TS, 1, 'x');
    expect(readFileSync(f).length).toBe(60 + 144);
    p.sync();
    p.write(data, 0, 100, 100, TS, 1, 'x'); // 204 + 144 + 200 = 548 > 547: not written
    p.write(data, 0, 100, 100, TS, 1, 'x');
    p.write(data, 0, 4, 4, TS, 1, ''); // a 44-byte one still fits
    p.write(data, 0, 100, 100, TS, 1, 'x'); // dropped again, not reported again
    expect(p.counters).toEqual({ packets: 2, bytes: 104, dropped: 3 });
    expect([p.truncated, reported]).toEqual([true, 1]);
    p.close();
    expect(readFileSync(f).length).toBe(60 + 144 + 44);
    expect(blocks(readFileSync(f)).map((b) => b.type)).toEqual([0x0a0d0d0a, 1, 6, 6]);
    // Exactly at the bound fits.
    const g = file();
    const q = new FlaggedPcap(g, 144 + 200, 'app!');
    q.write(data, 0, 100, 100, TS, 1, 'x');
    expect(q.counters.dropped).toBe(0);
    q.close();
  });

  it('counts what an earlier run wrote against the bound, and a later run appends a new section', () => {
    const f = file();
    const a = new FlaggedPcap(f, 1 << 20, 'run 1');
    a.write(Buffer.alloc(8), 0, 8, 8, TS, 1, 'one');
    a.close();
    const size = readFileSync(f).length;
    // 52-byte packet + 200 spare: fits an empty file, not one already holding `size` bytes.
    expect(size).toBe(44 + 20 + 52);
    const full = new FlaggedPcap(f, size + 52 + 200 - 1, 'run 2', size);
    full.write(Buffer.alloc(8), 0, 8, 8, TS, 1, 'two');
    expect(full.counters.dropped).toBe(1);
    full.close();
    expect(readFileSync(f).length).toBe(size);
    const b = new FlaggedPcap(f, 1 << 20, 'run 2', size);
    b.write(Buffer.alloc(8), 0, 8, 8, TS, 1, 'two');
    b.close();
    const bs = blocks(readFileSync(f));
    expect(bs.map((x) => x.type)).toEqual([0x0a0d0d0a, 1, 6, 0x0a0d0d0a, 1, 6]);
    expect([shb(bs[0]).app, shb(bs[3]).app]).toEqual(['run 1', 'run 2']);
    expect(epb(bs[5])).toMatchObject({ ifId: 0, comment: 'two' });
  });

  it('a write after close opens the file again with a new section', () => {
    const f = file();
    const p = new FlaggedPcap(f, 1 << 20, 'again');
    p.write(Buffer.alloc(8), 0, 8, 8, TS, 1, 'one');
    p.close();
    p.write(Buffer.alloc(8), 0, 8, 8, TS, 1, 'two');
    p.close();
    expect(blocks(readFileSync(f)).map((x) => x.type)).toEqual([0x0a0d0d0a, 1, 6, 0x0a0d0d0a, 1, 6]);
  });

  it('makes no file until a packet is written; sync and close without one do nothing', () => {
    const f = file();
    const p = new FlaggedPcap(f, 1 << 20, 'app');
    p.sync();
    p.close();
    expect(existsSync(f)).toBe(false);
  });

  it('an empty capture is a section header alone', () => {
    const b = emptyPcapng('Egress Sentinel 1.0');
    const bs = blocks(b);
    expect(bs).toHaveLength(1);
    expect(shb(bs[0])).toMatchObject({ magic: 0x1a2b3c4d, app: 'Egress Sentinel 1.0', end: '00000000' });
  });
});
