// Small parts of the CLI, in process and exactly (agent/src/cli/args.ts,
// progress.ts, block-options.ts, db-info.ts): usage errors with their stable
// code and the usage text, positive integers at their edges, the progress
// line (drawn at most five times a second, percentage only when the size is
// known, erased at the end), block mode's edges and its start-up line, and
// `egress db info` for files with and without tables and dates.
// (End to end through the built binary: test/cli/.)

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseCommand, positiveInt } from '../../agent/src/cli/args.js';
import { attachBlocking, blockChoice } from '../../agent/src/cli/block-options.js';
import { fileJson, infoText, tablesOf } from '../../agent/src/cli/db-info.js';
import { main } from '../../agent/src/cli/main.js';
import { Progress } from '../../agent/src/cli/progress.js';
import { version } from '../../agent/src/cli/version.js';
import type { GeoHeader } from '../../agent/src/enrich/geo-file.js';
import type { LiveAgent } from '../../agent/src/live/agent.js';
import { caught } from '../support/caught.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('parseCommand and positiveInt', () => {
  it('parses options and positionals; an unknown option is EGRESS_USAGE with the usage text', () => {
    const opts = { count: { type: 'string' as const }, json: { type: 'boolean' as const } };
    expect(parseCommand(['a.pcap', '--count', '3', '--json'], opts, 'Usage: x')).toEqual({
      values: { count: '3', json: true },
      positionals: ['a.pcap'],
    });
    const e = caught(() => parseCommand(['--fromat', 'x'], opts, 'Usage: egress x FILE'));
    expect(e.code).toBe('EGRESS_USAGE');
    expect(e.message).toMatch(/^Unknown option '--fromat'.*\nUsage: egress x FILE$/s);
  });

  it.each([
    [undefined, 7],
    ['1', 1],
    ['25', 25],
  ])('positiveInt(%j) is %i', (value, want) => {
    expect(positiveInt('count', value, 7)).toBe(want);
  });

  it.each(['0', '-1', '1.5', 'ten', '', ' '])('positiveInt refuses %j', (value) => {
    const e = caught(() => positiveInt('count', value, 7));
    expect([e.code, e.message]).toEqual(['EGRESS_USAGE', `--count must be a positive integer, got "${value}"`]);
  });
});

/** A terminal-like stream that keeps what is written. */
function stream(isTTY?: boolean) {
  const out: string[] = [];
  const s = { isTTY, write: (t: string) => out.push(t) > 0 } as unknown as NodeJS.WriteStream;
  return { s, out };
}

describe('Progress', () => {
  it('is on for a terminal unless told, off otherwise unless told', () => {
    expect(Progress.enabledFor(stream(true).s, undefined)).toBe(true);
    expect(Progress.enabledFor(stream(false).s, undefined)).toBe(false);
    expect(Progress.enabledFor(stream(undefined).s, undefined)).toBe(false);
    expect(Progress.enabledFor(stream(true).s, false)).toBe(false);
    expect(Progress.enabledFor(stream(false).s, true)).toBe(true);
  });

  it('draws percentage, packets and rate at most every 200 ms, and erases its line at the end', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const { s, out } = stream(true);
    const p = new Progress(s, 'a.pcap', 2000);
    vi.setSystemTime(1_000_000 + 500);
    p.update(500, 1_234_567);
    expect(out).toEqual(['\rscanning a.pcap  25% 1,234,567 packets, 2.47 M packets/s\x1b[K']);
    vi.setSystemTime(1_000_000 + 699);
    p.update(1000, 2_000_000);
    expect(out).toHaveLength(1);
    vi.setSystemTime(1_000_000 + 700);
    p.update(2000, 2_000_000);
    expect(out[1]).toBe('\rscanning a.pcap 100% 2,000,000 packets, 2.86 M packets/s\x1b[K');
    p.done();
    expect(out[2]).toBe('\r\x1b[K');
  });

  it('without a known size, no percentage; at time 0 the rate is over a millisecond; nothing drawn, nothing erased', () => {
    vi.useFakeTimers({ now: 5_000_000 });
    const { s, out } = stream(true);
    const p = new Progress(s, '-', null);
    p.update(10, 3000);
    expect(out).toEqual(['\rscanning - 3,000 packets, 3.00 M packets/s\x1b[K']);
    const q = stream(true);
    new Progress(q.s, 'x', 0).done();
    expect(q.out).toEqual([]);
    const z = new Progress(q.s, 'x', 0);
    z.update(5, 1);
    expect(q.out).toEqual(['\rscanning x 1 packets, 0.00 M packets/s\x1b[K']);
  });
});

describe('block mode edges and start-up line', () => {
  it.each([
    ['1', 1],
    ['86400', 86_400],
  ])('--block-seconds %s is taken', (text, seconds) => {
    expect(blockChoice({ 'block-socket': '/s', 'block-seconds': text }, {})).toEqual({
      socket: '/s',
      seconds,
      failClosed: false,
    });
  });

  it.each(['', '1e3', '0x10', ' 5', '5 '])('EGRESS_BLOCK_SECONDS=%j: the default when empty, else refused', (text) => {
    if (text === '')
      expect(blockChoice({}, { EGRESS_BLOCK_SOCKET: '/s', EGRESS_BLOCK_SECONDS: '' })?.seconds).toBe(3600);
    else {
      const e = caught(() => blockChoice({}, { EGRESS_BLOCK_SOCKET: '/s', EGRESS_BLOCK_SECONDS: text }));
      expect([e.code, e.message]).toEqual([
        'EGRESS_USAGE',
        `--block-seconds must be a whole number 1-86400, got "${text}"`,
      ]);
    }
  });

  it('hooks the agent and says where the helper is, and when its socket is not there yet', () => {
    const dir = mkdtempSync(join(tmpdir(), 'egress-block-opt-'));
    try {
      const sock = join(dir, 'block.sock');
      const agent = {} as LiveAgent;
      const lines: string[] = [];
      expect(attachBlocking(agent, null, (l) => lines.push(l))).toBeNull();
      expect([lines, agent.blocking]).toEqual([[], undefined]);
      const b = attachBlocking(agent, { socket: sock, seconds: 60, failClosed: false }, (l) => lines.push(l));
      expect(b).not.toBeNull();
      expect(agent.blocking).toBe(b);
      writeFileSync(sock, '');
      attachBlocking(agent, { socket: sock, seconds: 61, failClosed: false }, (l) => lines.push(l));
      expect(lines).toEqual([
        `block mode: the destinations of high alerts go to the block helper on ${sock} (blocked 60 s; fail-open); ${sock} is not there yet (is egress-block.service running?)`,
        `block mode: the destinations of high alerts go to the block helper on ${sock} (blocked 61 s; fail-open)`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('egress db info', () => {
  const NOW = Date.parse('2026-06-01T00:00:00Z');
  const header = (o: Partial<GeoHeader>): GeoHeader => ({
    format: 1,
    built: '2026-05-20T00:00:00Z',
    sources: { 'dbip-country-lite': '2026-05', iptoasn: '2026-05-10' },
    v4Ranges: 1,
    v6Ranges: 1,
    records: 1,
    orgs: 1,
    countries: [],
    sections: [],
    sha256: '0123456789abcdef'.repeat(4),
    ...o,
  });
  const tables = [
    { fields: 'country', source: 'dbip-country-lite', version: '2026-05', date: '2026-05-01T00:00:00Z' },
    { fields: 'asn, as_org', source: 'iptoasn', version: '2026-05-10', date: null },
  ];

  it('lists the tables of a header, or its sources without fields for an old file', () => {
    expect(tablesOf(header({ tables }))).toBe(tables);
    expect(tablesOf(header({}))).toEqual([
      { fields: '?', source: 'dbip-country-lite', version: '2026-05', date: null },
      { fields: '?', source: 'iptoasn', version: '2026-05-10', date: null },
    ]);
  });

  it('describes a file as JSON: absent, or with its date, age, staleness and tables', () => {
    expect(fileJson({ role: 'installed', path: '/x', header: null }, NOW)).toEqual({
      role: 'installed',
      path: '/x',
      present: false,
    });
    const h = header({ tables, dataDate: '2026-05-01T00:00:00Z' });
    expect(fileJson({ role: 'shipped', path: '/s', header: h }, NOW)).toEqual({
      role: 'shipped',
      path: '/s',
      present: true,
      data_date: '2026-05-01',
      age_days: 31,
      stale: false,
      built: '2026-05-20T00:00:00Z',
      sha256: h.sha256,
      tables: [
        { ...tables[0], age_days: 31 },
        { ...tables[1], age_days: null },
      ],
    });
  });

  it('prints the data in use, then each file with an aligned table, then how to refresh', () => {
    const fresh = header({ tables, dataDate: '2026-05-01T00:00:00Z' });
    const old = header({ dataDate: '2025-01-01T00:00:00Z' });
    const text = infoText(
      { path: '/var/lib/egress/geo.bin', origin: 'installed', header: old },
      [
        { role: 'installed', path: '/var/lib/egress/geo.bin', header: old },
        { role: 'rollback', path: '/var/lib/egress/geo.prev.bin', header: null },
        { role: 'shipped', path: '/opt/egress/geo.bin', header: fresh },
      ],
      NOW,
    );
    expect(text).toBe(
      [
        'geo data in use: installed /var/lib/egress/geo.bin',
        '  WARNING: geo data from 2025-01-01 is 516 days old (more than 90): install a newer bundle with `egress db update FILE`',
        '',
        'installed: /var/lib/egress/geo.bin',
        '  data 2025-01-01, built 2026-05-20T00:00:00Z, sha256 0123456789abcdef…',
        '  fields  source             version     date  age',
        '  ?       dbip-country-lite  2026-05     ?     ?',
        '  ?       iptoasn            2026-05-10  ?     ?',
        '',
        'rollback: none (/var/lib/egress/geo.prev.bin)',
        '',
        'shipped: /opt/egress/geo.bin',
        '  data 2026-05-01, built 2026-05-20T00:00:00Z, sha256 0123456789abcdef…',
        '  fields       source             version     date        age',
        '  country      dbip-country-lite  2026-05     2026-05-01  31 days',
        '  asn, as_org  iptoasn            2026-05-10  ?           ?',
        '',
        'Data older than 90 days is flagged by the self-test; refresh it with',
        '`egress db build --out FILE` on a machine with internet, then `egress db update FILE` here.',
        '',
      ].join('\n'),
    );
    const fine = infoText({ path: '/opt/egress/geo.bin', origin: 'shipped', header: fresh }, [], NOW);
    expect(fine.split('\n').slice(0, 3)).toEqual([
      'geo data in use: shipped /opt/egress/geo.bin',
      '  geo data from 2026-05-01, 31 days old',
      '',
    ]);
    const undated = infoText(
      { path: '/g', origin: 'flag', header: header({}) } as never,
      [{ role: 'given', path: '/g', header: header({}) }],
      NOW,
    );
    expect(undated).toContain('  WARNING: geo data of unknown date');
    expect(undated).toContain('  data unknown date, built');
    expect(infoText({ path: '/bad', origin: 'flag', header: null } as never, [], NOW).split('\n')[0]).toBe(
      'geo data in use: /bad (unreadable)',
    );
  });
});

describe('main: help, version and usage errors, word for word', () => {
  async function run(args: string[]) {
    const out = stream(false);
    const err = stream(false);
    const code = await main(args, { stdin: process.stdin, stdout: out.s, stderr: err.s });
    return { code, stdout: out.out.join(''), stderr: err.out.join('') };
  }

  it.each([['-h'], ['--help'], ['help']])('%s prints the usage on stdout, exit 0', async (flag) => {
    const r = await run([flag]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(
      /^Usage: egress COMMAND \[options\]\n[\s\S]*\nExit status: 0 ok, 1 failure, 2 usage error, 3 truncated or corrupt input\.\n$/,
    );
    expect(r.stdout).toContain('  verify FILE     check an evidence bundle');
  });

  it.each([['-V'], ['--version']])('%s prints the version, exit 0', async (flag) => {
    expect(await run([flag])).toEqual({ code: 0, stdout: `egress ${version()}\n`, stderr: '' });
  });

  it('no command and an unknown one: the code, the reason and the usage on stderr, exit 2', async () => {
    const none = await run([]);
    expect([none.code, none.stdout]).toEqual([2, '']);
    expect(none.stderr).toMatch(/^egress: EGRESS_USAGE: no command given\nUsage: egress COMMAND[\s\S]*input\.\n$/);
    const bad = await run(['scna']);
    expect([bad.code, bad.stdout]).toEqual([2, '']);
    expect(bad.stderr).toMatch(/^egress: EGRESS_USAGE: unknown command "scna"\nUsage: egress COMMAND[\s\S]*input\.\n$/);
    // A command's own error: one line with its code.
    const e = await run(['scan']);
    expect(e.code).toBe(2);
    expect(e.stderr).toMatch(/^egress: EGRESS_USAGE: /);
  });
});
