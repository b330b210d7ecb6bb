// pcapng Interface Statistics Blocks (draft-ietf-opsawg-pcapng §4.6) → `capture_gap`
// events with cause `file_drop_count` (DESIGN.md). The input is the real dumpcap capture
// of test/fixtures/format/pcapng, whose one ISB says isb_ifdrop = 0; the test changes only
// that counter's 8 bytes (and, for a second gap, appends a copy of the block with a later
// total), so everything else is what dumpcap wrote.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { egress, events, ROOT } from '../support/cli.js';
import { FIXTURES_DIR } from '../support/fixtures.js';

const SOURCE = join(FIXTURES_DIR, 'format/pcapng/input.pcapng');
const ISB = 5;
const ISB_STARTTIME = 2;
const ISB_ENDTIME = 3;
const ISB_IFDROP = 5;

/** Offsets in the file: the ISB and, inside it, each option's value by code (little-endian section). */
function findIsb(file: Buffer): { at: number; len: number; options: Map<number, number> } {
  for (let o = 0; o < file.length; ) {
    const type = file.readUInt32LE(o);
    const len = file.readUInt32LE(o + 4);
    if (type === ISB) {
      const options = new Map<number, number>();
      // interface id (4), timestamp high/low (8), then options: code u16, length u16, value padded to 4
      for (let p = o + 20; p + 4 <= o + len - 4; ) {
        const code = file.readUInt16LE(p);
        const olen = file.readUInt16LE(p + 2);
        if (code === 0) break;
        options.set(code, p + 4);
        p += 4 + ((olen + 3) & ~3);
      }
      return { at: o, len, options };
    }
    o += len;
  }
  throw new Error('no Interface Statistics Block in the source capture');
}

/** An ISB timestamp option (high word first, each little-endian) in µs: dumpcap's resolution is µs. */
function tsOption(file: Buffer, at: number): string {
  const us = file.readUInt32LE(at) * 2 ** 32 + file.readUInt32LE(at + 4);
  return `${new Date(Math.floor(us / 1000)).toISOString().slice(0, 19)}.${String(us % 1_000_000).padStart(6, '0')}Z`;
}

const work = mkdtempSync(join(tmpdir(), 'egress-gap-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function scan(file: Buffer) {
  const path = join(work, `in-${Math.random().toString(36).slice(2)}.pcapng`);
  writeFileSync(path, file);
  const r = egress(['scan', path, '--format', 'ndjson']);
  expect(r.code, r.stderr).toBe(0);
  const c = spawnSync('python3', [join(ROOT, 'test/contract/check-ndjson.py')], { input: r.stdout, encoding: 'utf8' });
  expect(c.status, c.stdout).toBe(0);
  return events(r.stdout).filter((e) => e.event_type === 'capture_gap');
}

describe('pcapng statistics: the capture says what it missed', () => {
  const source = readFileSync(SOURCE);
  const isb = findIsb(source);
  const dropAt = isb.options.get(ISB_IFDROP)!;
  const start = tsOption(source, isb.options.get(ISB_STARTTIME)!);
  const end = tsOption(source, isb.options.get(ISB_ENDTIME)!);

  it('reports nothing when dumpcap counted no drops (the file as written)', () => {
    expect(source.readBigUInt64LE(dropAt)).toBe(0n);
    expect(scan(source)).toEqual([]);
  });

  it('turns a drop count into one capture_gap over the statistics period', () => {
    const f = Buffer.from(source);
    f.writeBigUInt64LE(7n, dropAt);
    expect(scan(f)).toEqual([
      { timestamp: end, event_type: 'capture_gap', start, end, cause: 'file_drop_count', packets_dropped: 7 },
    ]);
  });

  it('reports only the drops since the previous block: the counters are totals', () => {
    const first = Buffer.from(source);
    first.writeBigUInt64LE(7n, dropAt);
    const second = Buffer.from(first.subarray(isb.at, isb.at + isb.len));
    second.writeBigUInt64LE(19n, dropAt - isb.at);
    const gaps = scan(Buffer.concat([first, second]));
    expect(gaps.map((g) => g.packets_dropped)).toEqual([7, 12]);
    // The second period runs from the end of the first (same end time here: a copy of the block).
    expect(gaps[1].start).toBe(end);
  });

  it('says so in the table view too, with the window and the drops, and says nothing when there were none', () => {
    const table = (file: Buffer) => {
      const path = join(work, `t-${Math.random().toString(36).slice(2)}.pcapng`);
      writeFileSync(path, file);
      const r = egress(['scan', path, '--format', 'table']);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    expect(table(source)).not.toContain('CAPTURE INCOMPLETE');
    const first = Buffer.from(source);
    first.writeBigUInt64LE(7n, dropAt);
    const second = Buffer.from(first.subarray(isb.at, isb.at + isb.len));
    second.writeBigUInt64LE(19n, dropAt - isb.at);
    const out = table(Buffer.concat([first, second]));
    expect(out).toContain(
      'CAPTURE INCOMPLETE: 2 gaps, 19 packets lost; no alert in a gap does not mean nothing was sent:',
    );
    const [s, e] = [start.slice(0, 19), end.slice(0, 19)];
    expect(out).toContain(
      `\n  ${s} to ${e}  file_drop_count, packets lost: 7\n  ${e} to ${e}  file_drop_count, packets lost: 12\n`,
    );
  });
});
