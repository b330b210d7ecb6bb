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
