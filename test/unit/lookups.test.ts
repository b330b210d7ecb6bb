// The lookup table (policy/lookups.ts): a denied name is raised once per
// client and name, by whole labels; the table is bounded, and a pair it had
// to forget is counted and raised again; the NDJSON line passes the contract.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FlowApp } from '../../agent/src/names/flow-app.js';
import { lookupEventLine } from '../../agent/src/output/lookup.js';
import { DomainSet } from '../../agent/src/policy/domains.js';
import { LookupWatch } from '../../agent/src/policy/lookups.js';
import { ROOT } from '../support/cli.js';

/** A DNS flow from 10.0.0.<client> to the resolver 10.0.0.1. */
function dnsFlow(client: number): FlowApp {
  return new FlowApp(client, 40000 + client, 53, 'UDP', false, (10 << 24) | client, 0, 0, 0, (10 << 24) | 1, 0, 0, 0);
}
const query = (name: string) => name;

describe('LookupWatch', () => {
  const deny = new DomainSet(['dji.com', 'jpush.cn']);

  it('raises a denied name once per client, by whole labels', () => {
    const w = new LookupWatch(deny);
    const a = dnsFlow(2);
    expect(w.check(a, 1, query('FlySafe-API.dji.com.'))).toMatchObject({
      name: 'flysafe-api.dji.com',
      rule: 'dji.com',
      severity: 'high',
      reasons: ['deny_domain'],
    });
    expect(w.check(a, 2, 'flysafe-api.dji.com')).toBeNull();
    expect(w.check(dnsFlow(3), 3, query('flysafe-api.dji.com'))?.app.srcIp).toBe('10.0.0.3');
    expect(w.check(a, 4, query('fakedji.com'))).toBeNull();
    expect(w.check(a, 5, query('dji.com.example.org'))).toBeNull();
    expect(w.check(a, 6, null)).toBeNull();
    expect(w.counters).toEqual({ lookups_denied: 2, lookups_repeated: 1, lookups_forgotten: 0 });
  });

  it('is bounded: past its limit the oldest pair is forgotten, counted, and raised again when asked', () => {
    const w = new LookupWatch(deny, 3);
    const a = dnsFlow(2);
    for (const n of ['a', 'b', 'c', 'd']) expect(w.check(a, 1, query(`${n}.dji.com`))).not.toBeNull();
    expect(w.size).toBe(3);
    expect(w.counters.lookups_forgotten).toBe(1);
    expect(w.check(a, 2, query('d.dji.com'))).toBeNull();
    expect(w.check(a, 3, query('a.dji.com'))).not.toBeNull();
    expect(w.size).toBe(3);
    expect(w.counters).toEqual({ lookups_denied: 5, lookups_repeated: 1, lookups_forgotten: 2 });
  });

  it('writes a lookup event the contract accepts', () => {
    const l = new LookupWatch(deny).check(dnsFlow(2), 1_700_000_000_000_000, query('tsis.jpush.cn'));
    expect(l).not.toBeNull();
    const line = lookupEventLine(l!);
    expect(JSON.parse(line)).toMatchObject({
      event_type: 'lookup',
      src_ip: '10.0.0.2',
      dest_ip: '10.0.0.1',
      name: 'tsis.jpush.cn',
      alert: { severity: 'high', reasons: ['deny_domain'], rule: 'jpush.cn' },
    });
    const stats = JSON.stringify({
      timestamp: '2023-11-14T22:13:20.000000Z',
      event_type: 'stats',
      packets: 0,
      bytes: 0,
      truncated: false,
    });
    const c = spawnSync('python3', [join(ROOT, 'test/contract/check-ndjson.py')], {
      input: `${line}\n${stats}\n`,
      encoding: 'utf8',
    });
    expect(c.status, c.stdout + c.stderr).toBe(0);
  });
});

describe('LookupWatch.startOver', () => {
  it('a new flight raises each name again', () => {
    const w = new LookupWatch(new DomainSet(['dji.com']));
    const a = dnsFlow(2);
    expect(w.check(a, 1, query('flysafe-api.dji.com'))).not.toBeNull();
    expect(w.check(a, 2, query('flysafe-api.dji.com'))).toBeNull();
    w.startOver();
    expect(w.size).toBe(0);
    expect(w.check(a, 3, query('flysafe-api.dji.com'))).not.toBeNull();
  });
});
