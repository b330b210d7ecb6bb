// The live commands' options (`egress run`, `egress replay`) turned into the
// agent's settings, in process: every default, every option's effect, and
// each refusal with its stable code (test/cli/live-cli.test.ts runs the
// commands end to end).

import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LIVE_OPTIONS, LIVE_OPTIONS_HELP, liveAgentOptions, readPem } from '../../agent/src/cli/live-options.js';
import { EgressError, ErrorCode } from '../../agent/src/errors.js';
import { DEFAULT_MAX_FLOWS } from '../../agent/src/flow/table.js';
import { DEFAULT_RETENTION } from '../../agent/src/history/config.js';
import { DEFAULT_MAX_QUEUED } from '../../agent/src/history/writer.js';

const root = mkdtempSync(join(tmpdir(), 'egress-live-options-'));
let n = 0;
const fresh = () => join(root, `d${++n}`);

function options(values: Record<string, unknown>) {
  const lines: string[] = [];
  const o = liveAgentOptions({ 'data-dir': fresh(), ...values }, (l) => lines.push(l));
  return { o, lines };
}

function refusal(values: Record<string, unknown>): { code: string; message: string } {
  try {
    options(values);
  } catch (err) {
    expect(err).toBeInstanceOf(EgressError);
    return { code: (err as EgressError).code, message: (err as EgressError).message };
  }
  throw new Error('no error');
}

afterEach(() => {
  delete process.env.EGRESS_BROKER_PASSWORD;
  delete process.env.EGRESS_INFLUX_USER;
});

describe('live options: defaults', () => {
  it('embedded broker on 127.0.0.1:1883, HTTP on 127.0.0.1:8080, the documented limits, no history', () => {
    const dir = fresh();
    const { o } = options({ 'data-dir': dir });
    expect(o.broker).toEqual({ kind: 'embedded', host: '127.0.0.1', port: 1883 });
    expect(o.http).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(o.maxFlows).toBe(DEFAULT_MAX_FLOWS);
    expect(o.statsIntervalMs).toBe(5_000);
    expect(o.flowsPerSecond).toBe(200);
    expect(o.spoolBytes).toBe(64 * 1024 * 1024);
    expect(o.history).toBeUndefined();
    expect(o.gateway).toBe(hostname().split('.')[0]);
    expect(o.dataDir).toBe(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(o.secretsCreated).toBe(true);
    expect(o.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(o.policy.source).toContain('default');
  });

  it('the second start in the same data directory keeps its secrets', () => {
    const dir = fresh();
    const a = liveAgentOptions({ 'data-dir': dir }, () => {});
    const b = liveAgentOptions({ 'data-dir': dir }, () => {});
    expect(a.secretsCreated).toBe(true);
    expect(b.secretsCreated).toBe(false);
    expect(a.secrets.dashboard.length).toBeGreaterThan(16);
    expect(b.secrets.dashboard).toBe(a.secrets.dashboard);
    expect(b.secrets.agent).toBe(a.secrets.agent);
  });
});

describe('live options: each option', () => {
  it.each([
    { values: { 'mqtt-port': '0' }, key: 'broker', want: { kind: 'embedded', host: '127.0.0.1', port: 0 } },
    { values: { 'mqtt-port': '65535' }, key: 'broker', want: { kind: 'embedded', host: '127.0.0.1', port: 65535 } },
    { values: { http: '[::1]:9000' }, key: 'http', want: { host: '::1', port: 9000 } },
    { values: { http: '0.0.0.0:80', 'no-http': true }, key: 'http', want: null },
    { values: { 'max-flows': '1' }, key: 'maxFlows', want: 1 },
    { values: { 'stats-interval': '2' }, key: 'statsIntervalMs', want: 2_000 },
    { values: { 'flows-per-second': '7' }, key: 'flowsPerSecond', want: 7 },
    { values: { 'spool-mb': '3' }, key: 'spoolBytes', want: 3 * 1024 * 1024 },
    { values: { gateway: 'gw-7' }, key: 'gateway', want: 'gw-7' },
  ])('$values → $key', ({ values, key, want }) => {
    expect(options(values).o[key as keyof ReturnType<typeof liveAgentOptions>]).toEqual(want);
  });

  it('a profile and a policy file are loaded', () => {
    expect(options({ profile: 'dji' }).o.policy.source).toContain('dji');
    const file = join(root, 'p.yaml');
    writeFileSync(file, 'allow:\n  domains:\n    - example.org\n');
    expect(options({ policy: file }).o.policy.source).toContain(file);
  });

  it('an external broker: URL, user, the password from the environment only, TLS files read', () => {
    const ca = join(root, 'ca.pem');
    writeFileSync(ca, 'CA');
    process.env.EGRESS_BROKER_PASSWORD = 's3cret';
    const { o } = options({ broker: 'mqtts://broker.example:8883', 'broker-user': 'gw', ca });
    expect(o.broker).toEqual({
      kind: 'external',
      url: 'mqtts://broker.example:8883',
      username: 'gw',
      password: 's3cret',
      ca: Buffer.from('CA'),
      cert: undefined,
      key: undefined,
    });
  });

  it.each(['mqtt://h', 'mqtts://h:1', 'ws://h/mqtt', 'wss://h:443/mqtt'])('accepts the broker URL %s', (url) => {
    expect(options({ broker: url }).o.broker).toMatchObject({ kind: 'external', url });
  });

  it('history: the InfluxDB target with the default retention and queue, or the ones given', () => {
    const a = options({ influx: 'http://127.0.0.1:8086/egress' }).o.history;
    expect(a).toMatchObject({ protocol: 'http', database: 'egress', retention: DEFAULT_RETENTION });
    expect(a?.maxQueued).toBe(DEFAULT_MAX_QUEUED);
    const b = options({ influx: 'http://127.0.0.1:8086/egress', 'influx-retention': '52w', 'influx-queue': '10' }).o
      .history;
    expect(b).toMatchObject({ retention: '52w', maxQueued: 10 });
  });
});

describe('live options: refusals', () => {
  it.each([
    { values: { 'mqtt-port': '65536' }, code: ErrorCode.USAGE, says: '--mqtt-port must be 0-65535, got "65536"' },
    { values: { 'mqtt-port': '-1' }, code: ErrorCode.USAGE, says: '--mqtt-port must be 0-65535' },
    { values: { 'mqtt-port': '1.5' }, code: ErrorCode.USAGE, says: '--mqtt-port must be 0-65535' },
    { values: { 'mqtt-port': 'x' }, code: ErrorCode.USAGE, says: '--mqtt-port must be 0-65535' },
    { values: { broker: 'http://h' }, code: ErrorCode.BROKER_UNAVAILABLE, says: 'got "http://h"' },
    { values: { broker: 'mqtt://' }, code: ErrorCode.BROKER_UNAVAILABLE, says: '--broker must be' },
    { values: { broker: ' mqtt://h' }, code: ErrorCode.BROKER_UNAVAILABLE, says: '--broker must be' },
    { values: { http: 'localhost' }, code: ErrorCode.USAGE, says: '--http must be HOST:PORT' },
    { values: { 'max-flows': '0' }, code: ErrorCode.USAGE, says: '--max-flows must be a positive integer, got "0"' },
    { values: { 'stats-interval': '0.5' }, code: ErrorCode.USAGE, says: '--stats-interval' },
    { values: { 'influx-retention': '30d' }, code: ErrorCode.USAGE, says: 'need --influx' },
    { values: { 'influx-queue': '5' }, code: ErrorCode.USAGE, says: 'need --influx' },
    { values: { influx: 'ftp://h/db' }, code: ErrorCode.HISTORY_URL_INVALID, says: 'http or https' },
    {
      values: { influx: 'http://127.0.0.1:8086/egress', 'influx-queue': '0' },
      code: ErrorCode.USAGE,
      says: '--influx-queue must be a positive integer',
    },
    {
      values: { broker: 'mqtt://h', ca: '/nonexistent/ca.pem' },
      code: ErrorCode.BROKER_UNAVAILABLE,
      says: 'cannot read --ca /nonexistent/ca.pem',
    },
  ])('$values: $code', ({ values, code, says }) => {
    const r = refusal(values);
    expect(r.code).toBe(code);
    expect(r.message).toContain(says);
  });

  it('readPem: nothing asked, nothing read; each TLS file named in its error', () => {
    expect(readPem('ca', undefined)).toBeUndefined();
    for (const name of ['ca', 'cert', 'key']) {
      expect(() => readPem(name, '/nonexistent/x')).toThrow(`cannot read --${name} /nonexistent/x`);
    }
  });
});

describe('live options: the table and its help', () => {
  it('every option of the table is in the help, and the help names each default', () => {
    for (const name of Object.keys(LIVE_OPTIONS)) expect(LIVE_OPTIONS_HELP).toContain(`--${name}`);
    expect(LIVE_OPTIONS_HELP).toContain(`(default ${DEFAULT_MAX_FLOWS})`);
    expect(LIVE_OPTIONS_HELP).toContain(`default ${DEFAULT_RETENTION}`);
    expect(LIVE_OPTIONS.help).toEqual({ type: 'boolean', short: 'h' });
    expect(LIVE_OPTIONS['no-http']).toEqual({ type: 'boolean' });
  });
});
