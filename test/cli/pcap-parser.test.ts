// pcap-parser, the library named when the product was asked for, as a
// second opinion: on every classic microsecond pcap fixture it can read, it
// must deliver the same records as our reader (timestamps, lengths, bytes).
// Where it cannot read (nanosecond, pcapng), it must say so or stop, and we
// record that rather than pretend.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';
import { readInChunks } from '../support/collect.js';
import { listFixtures } from '../support/fixtures.js';

const require = createRequire(`${ROOT}agent/package.json`);
const pcapParser = require('pcap-parser') as {
  parse(path: string): NodeJS.EventEmitter;
};

interface Rec {
  tsUs: number;
  caplen: number;
  origLen: number;
  sha: string;
}

function viaPcapParser(path: string): Promise<{ recs: Rec[]; error: string | null }> {
  return new Promise((resolve) => {
    const recs: Rec[] = [];
    let error: string | null = null;
    const p = pcapParser.parse(path);
    p.on('packet', (pkt: { header: Record<string, number>; data: Buffer }) => {
      const h = pkt.header;
      recs.push({
        tsUs: h.timestampSeconds * 1e6 + h.timestampMicroseconds,
        caplen: h.capturedLength,
        origLen: h.originalLength,
        sha: createHash('sha256').update(pkt.data).digest('hex'),
      });
    });
    p.on('error', (e: Error) => {
      error = e.message;
    });
    p.on('end', () => resolve({ recs, error }));
  });
}

function magicOf(path: string): number {
  return readFileSync(path).subarray(0, 4).readUInt32BE(0);
}

const MICRO = new Set([0xa1b2c3d4, 0xd4c3b2a1]);
const classic = listFixtures().filter((f) => f.input.endsWith('.pcap') && !f.bad && MICRO.has(magicOf(f.input)));
const nano = listFixtures().filter((f) => f.input.endsWith('.pcap') && !f.bad && !MICRO.has(magicOf(f.input)));

describe('pcap-parser cross-check', () => {
  it('has classic microsecond fixtures to compare', () => {
    expect(classic.length).toBeGreaterThan(10);
  });

  it.each(classic)('agrees with our reader on $name', async (fx) => {
    const theirs = await viaPcapParser(fx.input);
    expect(theirs.error).toBeNull();
    const ours = readInChunks(readFileSync(fx.input)).packets.map((p) => ({
      tsUs: p.tsUs,
      caplen: p.caplen,
      origLen: p.origLen,
      sha: createHash('sha256').update(Buffer.from(p.hex, 'hex')).digest('hex'),
    }));
    expect(ours).toEqual(theirs.recs);
  });

  it.each(nano)('pcap-parser refuses nanosecond $name (why it is not our reader)', async (fx) => {
    const theirs = await viaPcapParser(fx.input);
    expect(theirs.error).toMatch(/unknown magic number/);
    expect(theirs.recs).toHaveLength(0);
    expect(readInChunks(readFileSync(fx.input)).packets.length).toBeGreaterThan(0);
  });
});
