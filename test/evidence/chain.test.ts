// The chained, signed session log (agent/src/evidence/chain.ts) against the
// ways it can be altered: each tampering, table-driven, by someone who can
// rewrite the file and re-hash the chain after their change but cannot sign;
// and the writer's checkpoints, reopening, torn tail and refusal of damage.

import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EgressError } from '../../agent/src/errors.js';
import { ChainWriter, checkChain, checkpointMessage, GENESIS, sha256Hex } from '../../agent/src/evidence/chain.js';
import { loadOrCreateKey, type SigningKey, signBytes } from '../../agent/src/evidence/keys.js';

const T = Date.UTC(2026, 11, 1, 10, 0, 0) * 1000;

function fixture(): { dir: string; key: SigningKey; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'egress-chain-'));
  return { dir, key: loadOrCreateKey(dir), file: join(dir, 'events.ndjson') };
}

/** A log of 7 notes with a checkpoint after every 3 and one at close: 10 records. */
function goodLog(): { key: SigningKey; file: string; lines: string[] } {
  const { key, file } = fixture();
  let t = T;
  const w = new ChainWriter(file, key, 'sess-1', { checkpointEvery: 3, now: () => (t += 1000) });
  for (let i = 0; i < 7; i++) w.append('note', JSON.stringify({ i }));
  w.close();
  return { key, file, lines: readFileSync(file, 'utf8').trimEnd().split('\n') };
}

/** Lines with each record's prev recomputed from the line before: what a forger without the key can do. */
function rechain(lines: string[]): string {
  let prev = GENESIS;
  const out: string[] = [];
  for (const l of lines) {
    const r = JSON.parse(l);
    r.prev = prev;
    const line = JSON.stringify(r);
    out.push(line);
    prev = sha256Hex(line);
  }
  return `${out.join('\n')}\n`;
}

function edit(lines: string[], i: number, f: (r: Record<string, unknown>) => void): string[] {
  const r = JSON.parse(lines[i]);
  f(r);
  return lines.map((l, j) => (j === i ? JSON.stringify(r) : l));
}

describe('checkChain', () => {
  it('reads an intact log whole: every record, signed up to the last checkpoint', () => {
    const { key, lines } = goodLog();
    const buf = Buffer.from(`${lines.join('\n')}\n`);
    const c = checkChain(buf, key.publicKey);
    expect(c).toMatchObject({ error: null, tornTail: false, goodBytes: buf.length, signedUpTo: 9 });
    expect(c.records.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(c.lastHash).toBe(sha256Hex(lines[9]));
    expect(c.records[0].prev).toBe(GENESIS);
    // Without a key the chain is still checked, the signatures are not.
    expect(checkChain(buf, null)).toMatchObject({ error: null, signedUpTo: -1 });
    expect(checkChain(Buffer.alloc(0), key.publicKey)).toMatchObject({
      error: null,
      records: [],
      goodBytes: 0,
      lastHash: GENESIS,
    });
  });

  it('says how far the signatures reach when records follow the last checkpoint', () => {
    const { key, lines } = goodLog();
    const c = checkChain(Buffer.from(`${lines.slice(0, 9).join('\n')}\n`), key.publicKey);
    expect([c.error, c.signedUpTo, c.records.length]).toEqual([null, 7, 9]);
  });

  // Each row: what was done to the log, the first problem checkChain must name, and how many records it keeps.
  const TAMPERED: [string, (lines: string[]) => string, string, number][] = [
    [
      'a record removed',
      (l) => `${l.filter((_, i) => i !== 4).join('\n')}\n`,
      'record at line 5 has seq 5, expected 4',
      4,
    ],
    [
      'a record removed, the chain re-hashed',
      (l) => rechain(l.filter((_, i) => i !== 1)),
      'record at line 2 has seq 2, expected 1',
      1,
    ],
    ['two records swapped', (l) => `${[l[0], l[2], l[1], ...l.slice(3)].join('\n')}\n`, 'has seq 2, expected 1', 1],
    [
      'a note changed',
      (l) => `${edit(l, 1, (r) => (r.data = { i: 9 })).join('\n')}\n`,
      'record 1 was altered: record 2 does not chain to it',
      2,
    ],
    [
      'the first record changed',
      (l) => `${edit(l, 0, (r) => (r.prev = '1'.repeat(64))).join('\n')}\n`,
      'record 0 does not start the chain',
      0,
    ],
    [
      'a note changed, the chain re-hashed',
      (l) => rechain(edit(l, 4, (r) => (r.data = { i: 99 }))),
      'checkpoint record 7 has a bad signature',
      7,
    ],
    [
      "a checkpoint's upto changed, the chain re-hashed",
      (l) => rechain(edit(l, 3, (r) => ((r.data as { upto: number }).upto = 1))),
      'checkpoint record 3 has a bad signature',
      3,
    ],
    [
      "a checkpoint's session made a list that prints the same",
      (l) => rechain(edit(l, 3, (r) => ((r.data as { session: unknown }).session = ['sess-1']))),
      'checkpoint record 3 has a bad signature',
      3,
    ],
    [
      "a checkpoint's signature given as a list of its bytes",
      (l) =>
        rechain(
          edit(l, 3, (r) => {
            const d = r.data as { sig: unknown };
            d.sig = [...Buffer.from(d.sig as string, 'base64')];
          }),
        ),
      'checkpoint record 3 has a bad signature',
      3,
    ],
    [
      "a checkpoint's signature removed",
      (l) => rechain(edit(l, 3, (r) => delete (r.data as { sig?: string }).sig)),
      'checkpoint record 3 has a bad signature',
      3,
    ],
    [
      'a checkpoint made a note',
      (l) => rechain(edit(l, 3, (r) => (r.type = 'note'))),
      'checkpoint record 7 has a bad signature',
      7,
    ],
    [
      'a line that is not JSON',
      (l) => `${[...l.slice(0, 2), '{"seq":2,', ...l.slice(3)].join('\n')}\n`,
      'record at line 3 (byte',
      2,
    ],
    [
      'a line that is a number',
      (l) => `${[...l.slice(0, 2), '2', ...l.slice(3)].join('\n')}\n`,
      'lacks seq, prev, type or data',
      2,
    ],
    [
      'a line that is null',
      (l) => `${[...l.slice(0, 2), 'null', ...l.slice(3)].join('\n')}\n`,
      'lacks seq, prev, type or data',
      2,
    ],
    ['a record without a type', (l) => `${edit(l, 2, (r) => delete r.type).join('\n')}\n`, 'record at line 3 (byte', 2],
    [
      'a record whose data is a string',
      (l) => `${edit(l, 2, (r) => (r.data = 'x')).join('\n')}\n`,
      'lacks seq, prev, type or data',
      2,
    ],
    ['an empty first line', (l) => `\n${l.join('\n')}\n`, 'record at line 1 (byte 0) is not valid JSON', 0],
    ['the end cut mid-record', (l) => `${l.join('\n')}\n`.slice(0, -20), 'truncated mid-record at byte', 9],
  ];

  it.each(TAMPERED)('%s: "%s"', (_name, tamper, error, kept) => {
    const { key, lines } = goodLog();
    const buf = Buffer.from(tamper(lines));
    const c = checkChain(buf, key.publicKey);
    expect(c.error).toContain(error);
    expect(c.records).toHaveLength(kept);
    expect(c.goodBytes).toBe(
      kept === 0 ? 0 : Buffer.byteLength(`${buf.toString().split('\n').slice(0, kept).join('\n')}\n`),
    );
    expect(c.tornTail).toBe(error.startsWith('truncated'));
  });

  it('names the byte and the record where a torn tail starts', () => {
    const { lines } = goodLog();
    const head = `${lines.slice(0, 4).join('\n')}\n`;
    const c = checkChain(Buffer.from(`${head}{"seq":4,"pr`), null);
    expect(c.error).toBe(`truncated mid-record at byte ${Buffer.byteLength(head)}, after record 3`);
    expect(c.lastHash).toBe(sha256Hex(lines[3]));
  });

  it('refuses a checkpoint signed by another key, and accepts one signed for this chain', () => {
    const { key, lines } = goodLog();
    const other = fixture().key;
    const resign = (k: SigningKey) =>
      rechain(
        edit(lines, 3, (r) => {
          const d = r.data as { sig: string };
          d.sig = signBytes(k, checkpointMessage('sess-1', 2, sha256Hex(lines[2]))).toString('base64');
        }).slice(0, 4),
      );
    expect(checkChain(Buffer.from(resign(key)), key.publicKey)).toMatchObject({ error: null, signedUpTo: 3 });
    expect(checkChain(Buffer.from(resign(other)), key.publicKey).error).toContain(
      'checkpoint record 3 has a bad signature',
    );
  });
});

describe('ChainWriter', () => {
  it('checkpoints after every N records (256 by default), and not again when nothing was added', () => {
    const { key, file } = fixture();
    const w = new ChainWriter(file, key, 's');
    for (let i = 0; i < 255; i++) w.append('note', '{}');
    expect(w.records).toBe(255);
    w.append('note', '{}');
    expect(w.records).toBe(257); // the 256th record brought a checkpoint
    w.checkpoint();
    expect(w.records).toBe(257);
    w.append('note', '{}');
    w.close();
    const c = checkChain(readFileSync(file), key.publicKey);
    expect(c.records.filter((r) => r.type === 'checkpoint').map((r) => [r.seq, r.data.upto])).toEqual([
      [256, 255],
      [258, 257],
    ]);
    expect([c.error, c.signedUpTo]).toEqual([null, 258]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('stamps records with the clock by default, and reopens an empty log as a new one', () => {
    const { key, file } = fixture();
    writeFileSync(file, '');
    const w = new ChainWriter(file, key, 's');
    expect([w.tornBytes, w.lastTsUs, w.records]).toEqual([0, null, 0]);
    w.append('note', '{}');
    w.close();
    const ts = Date.parse(checkChain(readFileSync(file), null).records[0].ts);
    expect(Math.abs(ts - Date.now())).toBeLessThan(60_000);
  });

  it('writes each record with the time it is given, in microseconds', () => {
    const { key, file } = fixture();
    const w = new ChainWriter(file, key, 's', { now: () => T + 123_456 });
    w.append('note', '{"a":1}');
    w.close();
    const [note, cp] = checkChain(readFileSync(file), key.publicKey).records;
    expect(note).toEqual({ seq: 0, prev: GENESIS, ts: '2026-12-01T10:00:00.123456Z', type: 'note', data: { a: 1 } });
    expect(cp.data).toMatchObject({ upto: 0, session: 's', key: key.fingerprint });
  });

  it('continues the chain when reopened, after cutting a torn last record off', () => {
    const { key, file } = fixture();
    const a = new ChainWriter(file, key, 's', { now: () => T });
    a.append('note', '{"n":1}');
    a.close();
    const whole = readFileSync(file);
    writeFileSync(file, Buffer.concat([whole, Buffer.from('{"seq":2,"prev":"ab')]));
    const b = new ChainWriter(file, key, 's', { now: () => T + 5_000_000 });
    expect([b.tornBytes, b.lastTsUs, b.records]).toEqual([19, T, 2]);
    b.append('note', '{"n":2}');
    b.close();
    const c = checkChain(readFileSync(file), key.publicKey);
    expect([c.error, c.records.map((r) => r.type).join(',')]).toEqual([null, 'note,checkpoint,note,checkpoint']);
    const fresh = new ChainWriter(join(fixture().dir, 'new.ndjson'), key, 's');
    expect([fresh.tornBytes, fresh.lastTsUs, fresh.records]).toEqual([0, null, 0]);
    fresh.close();
  });

  it('refuses to append to a log damaged before its end, and leaves it as it was', () => {
    const { key, lines, file } = goodLog();
    const damaged = `${edit(lines, 1, (r) => (r.data = { i: 9 })).join('\n')}\n`;
    writeFileSync(file, damaged);
    let err: unknown;
    try {
      new ChainWriter(file, key, 'sess-1');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EgressError);
    expect((err as EgressError).code).toBe('EGRESS_EVIDENCE_LOG_DAMAGED');
    expect((err as EgressError).message).toContain('record 1 was altered');
    expect((err as EgressError).facts.file).toBe(file);
    expect(readFileSync(file, 'utf8')).toBe(damaged);
  });
});
