// The pieces of traffic history that need no InfluxDB: the --influx URL
// (agent/src/history/config.ts), point timestamps that keep two flows of one
// series apart (points.ts), and the InfluxQL string literal the history
// query puts a gateway id in (query.ts).

import { describe, expect, it } from 'vitest';
import { parseHistoryTarget } from '../../agent/src/history/config.js';
import { flowTime, usTime } from '../../agent/src/history/points.js';
import { historyStatements, quote } from '../../agent/src/history/query.js';

describe('--influx URL', () => {
  it('takes host, port, database; user and password only from the environment', () => {
    const t = parseHistoryTarget('http://192.0.2.7:8087/fleet', {
      EGRESS_INFLUX_USER: 'u',
      EGRESS_INFLUX_PASSWORD: 'p',
    });
    expect(t).toEqual({
      protocol: 'http',
      host: '192.0.2.7',
      port: 8087,
      database: 'fleet',
      username: 'u',
      password: 'p',
      retention: '30d',
    });
    expect(parseHistoryTarget('https://[2001:db8::1]/egress', {})).toMatchObject({
      protocol: 'https',
      host: '2001:db8::1',
      port: 8086,
    });
  });

  it.each([
    ['mqtt://127.0.0.1/egress', 'scheme'],
    ['http://127.0.0.1:8086', 'database'],
    ['http://127.0.0.1:8086/a/b', 'database'],
    ['http://127.0.0.1:8086/egress?u=x', 'no query'],
    ['http://u:p@127.0.0.1:8086/egress', 'EGRESS_INFLUX_PASSWORD'],
  ])('%s: EGRESS_HISTORY_URL_INVALID (%s)', (url, why) => {
    expect(() => parseHistoryTarget(url, {})).toThrow(
      expect.objectContaining({ code: 'EGRESS_HISTORY_URL_INVALID', message: expect.stringContaining(why) }),
    );
  });

  it('takes InfluxQL durations and INF as retention, nothing else', () => {
    for (const d of ['30d', '52w', '1h30m', 'INF']) expect(parseHistoryTarget('http://h/db', {}, d).retention).toBe(d);
    for (const d of ['30 days', '', '-1d', '30d; DROP DATABASE x'])
      expect(() => parseHistoryTarget('http://h/db', {}, d)).toThrow(
        expect.objectContaining({ code: 'EGRESS_HISTORY_URL_INVALID' }),
      );
  });
});

describe('point times', () => {
  it('are nanosecond strings; flows ending in the same microsecond stay apart by their id', () => {
    expect(usTime(1_764_000_000_123_456)).toBe('1764000000123456000');
    const a = flowTime(1_764_000_000_123_456, 41);
    const b = flowTime(1_764_000_000_123_456, 42);
    expect([a, b]).toEqual(['1764000000123456041', '1764000000123456042']);
    expect(flowTime(1_764_000_000_123_456, 12_345)).toBe('1764000000123456345');
  });
});

describe('history query', () => {
  it('quotes the gateway id as an InfluxQL string literal', () => {
    expect(quote("gw'x\\")).toBe("'gw\\'x\\\\'");
    const [byCountry] = historyStatements("o'brien");
    expect(byCountry).toContain(`"gateway" = 'o\\'brien' AND time > now() - 24h`);
  });
});
