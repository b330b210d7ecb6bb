// JSON written into a byte buffer (output/json-bytes.ts) against JSON.stringify
// and UTF-8: every kind of string (quotes, backslashes, control characters,
// non-ASCII, lone surrogates), every kind of number, nested bodies with
// undefined members; and the same bytes whatever the buffer's size, when a
// value does not fit and the buffer is flushed (LineWriter) or grown.

import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { JsonBytes, jsonText } from '../../agent/src/output/json-bytes.js';
import { LineWriter } from '../../agent/src/output/writer.js';

/** An encoder whose buffer holds `size` bytes and is emptied into `flushed` whenever a value does not fit. */
function flushing(size: number) {
  const chunks: Buffer[] = [];
  const out = new JsonBytes(Buffer.alloc(size), (o, need) => {
    chunks.push(Buffer.from(o.buf.subarray(0, o.pos)));
    o.pos = 0;
    if (need > o.buf.length) o.buf = Buffer.alloc(need);
  });
  const bytes = () => Buffer.concat([...chunks, out.buf.subarray(0, out.pos)]);
  return { out, bytes };
}

const STRINGS = [
  '',
  '\\',
  '\\\\',
  '"',
  '\u0001',
  '\t\n',
  '\u001f',
  'www.example.org',
  'a "quoted" name',
  'back\\slash',
  'tab\there, newline\n, nul\u0000, unit sep\u001f, DEL\u007f',
  'Telefónica Germany GmbH & Co. OHG',
  '中国电信',
  'emoji 🛰️ and more',
  'lone high \ud800 surrogate',
  'lone low \udc00 surrogate',
  '</script>',
  '~ and space',
];

const NUMBERS = [
  0,
  -0,
  1,
  -1,
  9,
  10,
  99,
  100,
  65535,
  4294967295,
  2 ** 53 - 1,
  -(2 ** 53 - 1),
  2 ** 53,
  1.5,
  -0.25,
  1e21,
  1e-7,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
];

describe('JsonBytes', () => {
  it.each(STRINGS.map((s) => [JSON.stringify(s), s]))('writes the string %s as JSON.stringify does', (_shown, s) => {
    expect(jsonText((o) => o.str(s))).toBe(JSON.stringify(s));
    expect(jsonText((o) => o.strs([s, s]))).toBe(JSON.stringify([s, s]));
  });

  it.each(NUMBERS.map((n) => [String(n), n]))('writes the number %s as JSON.stringify does', (_shown, n) => {
    expect(jsonText((o) => o.num(n))).toBe(JSON.stringify(n));
    expect(jsonText((o) => o.value(n))).toBe(JSON.stringify(n));
  });

  it('writes null for a missing string or number, and raw text as it is (non-ASCII as UTF-8)', () => {
    expect(
      jsonText((o) => {
        o.str(null);
        o.num(null);
      }),
    ).toBe('nullnull');
    expect(jsonText((o) => o.raw('"a":1,'))).toBe('"a":1,');
    expect(jsonText((o) => o.raw('é\ud800x'))).toBe(Buffer.from('é\ud800x', 'utf8').toString('utf8'));
  });

  it('writes bodies as JSON.stringify does: nested, members left out when undefined, null in arrays', () => {
    const bodies: unknown[] = [
      { type: 'query', id: 7, rrname: 'a.example', rrtype: 'A', rcode: undefined, answers: undefined },
      {
        type: 'answer',
        id: 0,
        rrname: null,
        rrtype: null,
        rcode: 'NOERROR',
        answers: [{ rrname: 'x', rrtype: 'CNAME', ttl: 60, rdata: 'y' }],
      },
      { sni: 'b.example', alpn: ['h3', 'h2'], ech: false, version: '0x00000001' },
      { hostname: 'h "q"', http_method: 'GET', url: '/a?b=\u0001', protocol: 'HTTP/1.1', http_user_agent: null },
      { nested: { deeper: [1, [2, [3, { four: true }]]] }, empty: {}, list: [], u: [undefined, () => 1, Symbol('s')] },
      { f: () => 1, kept: 1, s: Symbol('s'), u: undefined, last: 'x' },
      { 2: 'integer keys first', b: 1, 1: 'in order', a: 2 },
      [],
      'a string body',
      true,
    ];
    for (const b of bodies) expect(jsonText((o) => o.value(b))).toBe(JSON.stringify(b));
  });

  it.each(STRINGS.filter((s) => [...s].every((c) => c.charCodeAt(0) <= 0x7f)).map((s) => [JSON.stringify(s), s]))(
    'asciiStr writes the ASCII bytes of %s as str() writes them, or nothing when one needs escaping',
    (_shown, s) => {
      const src = Buffer.from(`..${s}..`, 'latin1');
      const { out, bytes } = flushing(8);
      out.raw('x');
      const plain = [...s].every((c) => c >= ' ' && c <= '~' && c !== '"' && c !== '\\');
      expect(out.asciiStr(src, 2, s.length)).toBe(plain);
      expect(bytes().toString('utf8')).toBe(plain ? `x${JSON.stringify(s)}` : 'x');
    },
  );

  it.each([
    ['DEL', 'del\u007f'],
    ['a Latin-1 letter', 'caf\u00e9.example'],
    ['the highest Latin-1 byte', 'y\u00ff'],
    ['the lowest byte past ASCII', '\u0080'],
  ])('asciiStr writes nothing for %s (a byte past printable ASCII), which str() writes otherwise', (_what, s) => {
    // As the event ring holds a Latin-1 string: one byte per character.
    const src = Buffer.from(s, 'latin1');
    const { out, bytes } = flushing(64);
    out.raw('x');
    expect(out.asciiStr(src, 0, src.length)).toBe(false);
    expect(bytes().toString('utf8')).toBe('x');
    out.str(s);
    expect(bytes().toString('utf8')).toBe(`x${JSON.stringify(s)}`);
  });

  it('gives the same bytes with any buffer size, flushing when a value does not fit', () => {
    const body = { names: STRINGS, numbers: NUMBERS, text: 'x'.repeat(300) + STRINGS.join('|') };
    const want = Buffer.from(JSON.stringify(body), 'utf8');
    for (const size of [1, 2, 3, 5, 7, 16, 31, 64, 100, 1000, 100_000]) {
      const { out, bytes } = flushing(size);
      out.value(body);
      expect(bytes().equals(want)).toBe(true);
    }
  });

  it('grows the buffer of jsonText for a value larger than it', () => {
    const long = 'é'.repeat(10_000) + 'a'.repeat(10_000);
    expect(jsonText((o) => o.value({ long, again: long }))).toBe(JSON.stringify({ long, again: long }));
  });
});

describe('LineWriter', () => {
  /** A stream that keeps what it is given, optionally queueing it (as a socket that cannot take it at once). */
  function sink(queue: boolean) {
    const got: Buffer[] = [];
    const stream = new Writable({
      highWaterMark: queue ? 1 : 16 * 1024 * 1024,
      write(chunk: Buffer, _enc, done) {
        // Copied only when the stream is done with it: a batch the writer reused while the stream still held it would show.
        if (queue)
          setImmediate(() => {
            got.push(Buffer.from(chunk));
            done();
          });
        else {
          got.push(Buffer.from(chunk));
          done();
        }
      },
    });
    return { stream, got, text: () => Buffer.concat(got).toString('utf8') };
  }

  it.each([false, true])(
    'writes encoded and copied lines in order, across many batches (stream queueing: %s)',
    async (queue) => {
      const { stream, text } = sink(queue);
      const w = new LineWriter(stream);
      const want: string[] = [];
      for (let i = 0; i < 5000; i++) {
        const body = { i, name: STRINGS[i % STRINGS.length], pad: 'p'.repeat(i % 97) };
        if (i % 3 === 0) w.line(JSON.stringify(body));
        else {
          w.out.value(body);
          w.endLine();
        }
        want.push(JSON.stringify(body));
        // A queueing stream is not waited for until the end: batches fill while it still holds earlier ones.
        if (i % 500 === 0 && !queue) await w.flush();
      }
      const huge = 'h'.repeat(200_000); // longer than a batch
      w.line(huge);
      w.out.str(huge);
      w.endLine();
      want.push(huge, JSON.stringify(huge));
      await w.flush();
      await new Promise<void>((resolve) => stream.end(resolve));
      expect(text()).toBe(`${want.join('\n')}\n`);
    },
  );

  it('drops lines quietly once the reader has gone (EPIPE)', async () => {
    const { stream, text } = sink(false);
    const w = new LineWriter(stream);
    w.line('before');
    await w.flush();
    stream.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(w.closed).toBe(true);
    for (let i = 0; i < 3000; i++) {
      w.out.str('x'.repeat(100));
      w.endLine();
    }
    w.line('after');
    await w.flush();
    expect(text()).toBe('before\n');
  });

  it('writes a batch once it holds 64 KiB, not before, and goes back to a 64 KiB batch after a longer line', async () => {
    const { stream, got } = sink(false);
    const w = new LineWriter(stream);
    // 1,023 lines of 63 bytes and a newline: 65,472 bytes, under a batch.
    const encoded = (text: string) => {
      w.out.raw(text);
      w.endLine();
    };
    for (let i = 0; i < 1023; i++) encoded('x'.repeat(63));
    expect(got.length).toBe(0);
    // One more of 63: exactly 65,536, a full batch, written at once.
    encoded('y'.repeat(63));
    expect(got.map((c) => c.length)).toEqual([65_536]);
    w.line('z'.repeat(100_000));
    expect(w.out.buf.length).toBe(65_536);
    await w.flush();
    expect(got.map((c) => c.length)).toEqual([65_536, 100_001]);
    await w.flush(); // nothing batched: nothing written
    expect(got.length).toBe(2);
  });

  it('waits in flush() until a slow stream has drained', async () => {
    const { stream } = sink(true);
    const w = new LineWriter(stream);
    const listeners = () => [stream.listenerCount('drain'), stream.listenerCount('close')];
    const before = listeners();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 100; i++) w.line('slow');
      const flushed = w.flush();
      expect(stream.writableNeedDrain).toBe(true);
      await flushed;
      expect(stream.writableNeedDrain).toBe(false);
      expect(listeners()).toEqual(before); // no listener left behind
    }
  });

  it('ends the wait in flush() when the stream closes before draining', async () => {
    const stream = new Writable({ highWaterMark: 1, write: () => {} }); // never calls back
    const w = new LineWriter(stream);
    w.line('stuck');
    const flushed = w.flush();
    stream.destroy();
    await expect(flushed).resolves.toBeUndefined();
  });

  it('throws a stream error other than EPIPE', () => {
    const { stream } = sink(false);
    new LineWriter(stream);
    expect(() => stream.emit('error', Object.assign(new Error('disk full'), { code: 'ENOSPC' }))).toThrow('disk full');
  });
});
