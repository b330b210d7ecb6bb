// HTTP/1.x request line and Host, split anywhere, with ports and IPv6 literals.

import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../agent/src/decode/anomaly.js';
import { looksLikeHttpRequest, MAX_HEAD_BYTES, parseHttpRequest, stripPort } from '../../agent/src/names/http.js';

const req = Buffer.from(
  'GET /flysafe/v2 HTTP/1.1\r\nUser-Agent: curl/7.88.1\r\nHOST: Statistical-Report.DJIservice.org:8080\r\nAccept: */*\r\n\r\n',
);

describe('HTTP request head', () => {
  it('reads method, target, version, Host without port, lowercased', () => {
    const r = parseHttpRequest(req, 0, req.length, new Anomalies());
    expect(r).toEqual({
      kind: 'done',
      value: {
        method: 'GET',
        target: '/flysafe/v2',
        version: 'HTTP/1.1',
        host: 'statistical-report.djiservice.org',
        userAgent: 'curl/7.88.1',
        // the whole head, blank line included: where a CONNECT tunnel's own bytes begin
        headLength: req.length,
      },
    });
  });

  it('asks for more bytes until the head is complete, at every split', () => {
    for (let cut = 1; cut < req.length; cut++) {
      expect(parseHttpRequest(req, 0, cut, new Anomalies()).kind, `cut ${cut}`).toBe('need');
    }
  });

  it('gives up on a head longer than the limit, and on a request line that is not HTTP', () => {
    const long = Buffer.concat([Buffer.from('GET / HTTP/1.1\r\nX: '), Buffer.alloc(MAX_HEAD_BYTES, 0x61)]);
    const a = new Anomalies();
    expect(parseHttpRequest(long, 0, long.length, a)).toEqual({ kind: 'invalid', anomaly: 'http.bad_request' });
    const bad = Buffer.from('GET /\r\n\r\n');
    expect(parseHttpRequest(bad, 0, bad.length, a).kind).toBe('invalid');
    expect(a.get('http.bad_request')).toBe(2);
  });

  it('has no host when the header is missing (HTTP/1.0)', () => {
    const r = Buffer.from('GET / HTTP/1.0\r\n\r\n');
    expect(parseHttpRequest(r, 0, r.length, new Anomalies())).toMatchObject({ kind: 'done', value: { host: null } });
  });

  it('recognises request starts cheaply', () => {
    expect(looksLikeHttpRequest(req, 0, req.length)).toBe(true);
    expect(looksLikeHttpRequest(Buffer.from('\x16\x03\x01'), 0, 3)).toBe(false);
    expect(looksLikeHttpRequest(Buffer.from('GETX'), 0, 4)).toBe(false);
  });

  it.each([
    ['example.org:8080', 'example.org'],
    ['example.org', 'example.org'],
    ['[2001:db8::1]:80', '2001:db8::1'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['2001:db8::1', '2001:db8::1'],
  ])('strips the port of %s', (h, want) => expect(stripPort(h)).toBe(want));
});

describe('HTTP request head, field by field', () => {
  /** The request at offset 4 of a buffer of `fill` bytes (junk a parser must not read). */
  const parse = (s: string, len = Buffer.byteLength(s, 'latin1'), fill = 0x0a) => {
    const buf = Buffer.concat([Buffer.alloc(4, fill), Buffer.from(s, 'latin1'), Buffer.alloc(16, fill)]);
    return parseHttpRequest(buf, 4, len, new Anomalies());
  };
  const value = (s: string) => {
    const r = parse(s);
    if (r.kind !== 'done') throw new Error(`not done: ${JSON.stringify(r)}`);
    return r.value;
  };

  it.each([
    ['GET / HTTP/1.1\r\nHost: a.example.org\r\nHost: b.example.org\r\n\r\n', 'a.example.org', null], // the first Host
    ['GET / HTTP/1.1\r\nUser-Agent: one\r\nUser-Agent: two\r\n\r\n', null, 'one'],
    ['GET / HTTP/1.1\r\nhost:   spaced.example.org  \r\n\r\n', 'spaced.example.org', null],
    ['GET / HTTP/1.1\r\nHost: \r\n\r\n', null, null], // empty Host: none
    ['GET / HTTP/1.1\r\nHost: :8080\r\n\r\n', null, null], // only a port: none
    ['GET / HTTP/1.1\r\nX-Host: x.example.org\r\nHost: h.example.org\r\n\r\n', 'h.example.org', null],
    ['GET / HTTP/1.1\r\n: no name\r\nHost: h.example.org\r\n\r\n', 'h.example.org', null],
    ['GET / HTTP/1.1\r\nno colon here\r\nUSER-AGENT: UA/1.0 (X)\r\n\r\n', null, 'UA/1.0 (X)'],
  ])('headers of %j: host %s, user agent %s', (s, host, userAgent) => {
    expect(value(s)).toMatchObject({ host, userAgent });
  });

  it.each([
    ['GET /a/b?c=d HTTP/1.0\r\n\r\n', { method: 'GET', target: '/a/b?c=d', version: 'HTTP/1.0' }],
    ['PROPFIND /dav HTTP/1.1\r\n\r\n', { method: 'PROPFIND', target: '/dav', version: 'HTTP/1.1' }],
    ['CONNECT drone.example.org:443 HTTP/1.1\r\n\r\n', { method: 'CONNECT', target: 'drone.example.org:443' }],
  ])('request line %j', (s, want) => {
    expect(value(s)).toMatchObject({ ...want, headLength: s.length });
  });

  it.each([
    ['xGET / HTTP/1.1\r\n\r\n'],
    ['get / HTTP/1.1\r\n\r\n'],
    ['GET / HTTP/1.2\r\n\r\n'],
    ['GET / HTTP/2.0\r\n\r\n'],
    ['GET / HTTP/1.1x\r\n\r\n'],
    ['GET  HTTP/1.1\r\n\r\n'],
    ['GET / / HTTP/1.1\r\n\r\n'],
    [' GET / HTTP/1.1\r\n\r\n'],
  ])('request line %j is http.bad_request', (s) => {
    expect(parse(s)).toEqual({ kind: 'invalid', anomaly: 'http.bad_request' });
  });

  it('asks for one byte more than it has; reads nothing past its length', () => {
    const s = 'GET / HTTP/1.1\r\nHost: h.example.org\r\n\r\n';
    // The junk after the cut is CR LF: a parser that looked past len would find a head end there.
    expect(parse(s, s.length - 1, 0x0a)).toEqual({ kind: 'need', bytes: s.length });
    expect(parse(s, s.length - 2, 0x0d)).toEqual({ kind: 'need', bytes: s.length - 1 });
    expect(parse(s)).toMatchObject({ kind: 'done', value: { headLength: s.length } });
  });

  it('gives up at exactly MAX_HEAD_BYTES without a head end, not one byte before', () => {
    const head = `GET / HTTP/1.1\r\nX: ${'a'.repeat(MAX_HEAD_BYTES)}`;
    expect(parse(head, MAX_HEAD_BYTES)).toEqual({ kind: 'invalid', anomaly: 'http.bad_request' });
    expect(parse(head, MAX_HEAD_BYTES - 1)).toEqual({ kind: 'need', bytes: MAX_HEAD_BYTES });
    // A head that ends right at the limit is read; one whose end lies beyond it is not.
    const fits = `GET / HTTP/1.1\r\nX: ${'a'.repeat(MAX_HEAD_BYTES - 23)}\r\n\r\n`;
    expect(fits.length).toBe(MAX_HEAD_BYTES);
    expect(parse(fits).kind).toBe('done');
    const over = `GET / HTTP/1.1\r\nX: ${'a'.repeat(MAX_HEAD_BYTES - 22)}\r\n\r\n`;
    expect(parse(over).kind).toBe('invalid');
  });

  it.each([
    ['GET ', true], // the shortest start: a method and its space
    ['GET', false],
    ['POST /', true],
    ['PUT /', true],
    ['HEAD /', true],
    ['DELETE /', true],
    ['OPTIONS *', true],
    ['PATCH /', true],
    ['CONNECT h', true],
    ['TRACE /', true],
    ['GEt /', false],
    ['XGET /', false],
    ['PROPFIND /', false], // not in the cheap list
  ])('looksLikeHttpRequest(%j) → %s', (s, want) => {
    // The byte after the input is a space: a check that read past len would see a method and its space.
    const buf = Buffer.concat([Buffer.from(`..${s}`, 'latin1'), Buffer.from('    ')]);
    expect(looksLikeHttpRequest(buf, 2, s.length)).toBe(want);
  });

  it.each([
    ['a.example.org:443', 'a.example.org'],
    ['[2001:db8::1', '[2001:db8::1'], // no closing bracket: left as it is
    ['2001:db8::1:80', '2001:db8::1:80'], // several colons without brackets: an address, no port
    [':80', ''],
    ['a.example.org:', 'a.example.org'],
  ])('stripPort(%j) → %j', (h, want) => expect(stripPort(h)).toBe(want));
});

describe('HTTP request head: where it ends', () => {
  it.each([
    ['a bare LF line before CR LF', 'GET / HTTP/1.1\r\nX: a\n\r\nHost: h.example.org\r\n\r\n'],
    ['CR, a byte, CR LF', 'GET / HTTP/1.1\r\nX: a\rZ\r\nHost: h.example.org\r\n\r\n'],
    ['CR LF, a byte, LF', 'GET / HTTP/1.1\r\nHost: h.example.org\r\nX\nY: z\r\n\r\n'],
    ['CR LF CR and a byte', 'GET / HTTP/1.1\r\n\rX: y\r\nHost: h.example.org\r\n\r\n'],
    ['a header line without a colon that starts with "Host"', 'GET / HTTP/1.1\r\nHosts\r\nHost: h.example.org\r\n\r\n'],
  ])('only CR LF CR LF ends it: %s', (_name, s) => {
    const r = parseHttpRequest(Buffer.from(s, 'latin1'), 0, s.length, new Anomalies());
    expect(r).toMatchObject({ kind: 'done', value: { host: 'h.example.org', headLength: s.length } });
  });

  it('a line without a colon is no header, even when it spells one', () => {
    const s = 'GET / HTTP/1.1\r\nHostx\r\n\r\n';
    const r = parseHttpRequest(Buffer.from(s, 'latin1'), 0, s.length, new Anomalies());
    expect(r).toMatchObject({ kind: 'done', value: { host: null } });
  });

  it('an empty head (a blank line first) is http.bad_request', () => {
    expect(parseHttpRequest(Buffer.from('\r\n\r\n'), 0, 4, new Anomalies())).toEqual({
      kind: 'invalid',
      anomaly: 'http.bad_request',
    });
  });

  it('reads only its own head at a large offset, not the pipelined request after it', () => {
    const first = 'GET /a HTTP/1.1\r\nUser-Agent: ua\r\n\r\n';
    const buf = Buffer.from(`${'.'.repeat(60)}${first}GET /b HTTP/1.1\r\nHost: second.example.org\r\n\r\n`, 'latin1');
    const r = parseHttpRequest(buf, 60, buf.length - 60, new Anomalies());
    expect(r).toEqual({
      kind: 'done',
      value: {
        method: 'GET',
        target: '/a',
        version: 'HTTP/1.1',
        host: null,
        userAgent: 'ua',
        headLength: first.length,
      },
    });
  });
});
