// `egress scan` from the outside: help, version, usage errors, stdin, exit
// statuses, and what a truncated file still yields.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pcapFile, type Rec, tcpConversation } from '../support/builders.js';
import { EGRESS_BIN, egress, events } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'egress-cli-'));
const T0 = 1_767_225_600_000_000;
const recs: Rec[] = [
  ...tcpConversation({ src: '10.0.0.2', dst: '198.51.100.10', sport: 40000, dport: 443, t0: T0 }),
  ...tcpConversation({ src: '10.0.0.2', dst: '192.168.1.1', sport: 40001, dport: 80, t0: T0 + 10_000 }),
  ...tcpConversation({ src: 'fd00::2', dst: '2001:db8::10', sport: 40002, dport: 443, t0: T0 + 20_000 }),
];
const capture = pcapFile(recs);
const file = join(dir, 'c.pcap');
writeFileSync(file, capture);

describe('egress CLI', () => {
  it('prints its version and help for every command', () => {
    expect(egress(['--version']).stdout).toMatch(/^egress \d+\.\d+\.\d+\n$/);
    const top = egress(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('scan FILE|-');
    const scan = egress(['scan', '--help']);
    expect(scan.code).toBe(0);
    expect(scan.stdout).toContain('--format ndjson|table');
  });

  it('exits 2 with EGRESS_USAGE on an unknown command, option or format', () => {
    for (const args of [
      ['fly'],
      ['scan', file, '--colour'],
      ['scan', file, '--format', 'xml'],
      ['scan'],
      ['scan', file, '--max-flows', '0'],
    ]) {
      const r = egress(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^egress: EGRESS_USAGE/);
    }
  });

  it('exits 1 with EGRESS_INPUT_UNREADABLE for a missing file or a directory', () => {
    for (const path of [join(dir, 'nope.pcap'), dir]) {
      const r = egress(['scan', path]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^egress: EGRESS_INPUT_UNREADABLE/);
    }
  });

  it('reports internet flows only, client as source, and stats last', () => {
    const r = egress(['scan', file, '--format', 'ndjson']);
    expect(r.code).toBe(0);
    const ev = events(r.stdout);
    const flows = ev.filter((e) => e.event_type === 'flow');
    expect(flows.map((f) => [f.src_ip, f.dest_ip, f.dest_port])).toEqual([
      ['10.0.0.2', '198.51.100.10', 443],
      ['fd00::2', '2001:db8::10', 443],
    ]);
    const stats = ev[ev.length - 1];
    expect(stats.event_type).toBe('stats');
    expect([stats.packets, stats.flows, stats.flows_internet, stats.flows_local, stats.truncated]).toEqual([
      24,
      3,
      2,
      1,
      false,
    ]);
    expect(stats.bytes).toBe(recs.reduce((n, x) => n + x.data.length, 0));
  });

  it('reads standard input with -', () => {
    const r = egress(['scan', '-', '--format', 'ndjson'], { input: capture });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(egress(['scan', file, '--format', 'ndjson']).stdout);
  });

  it('on a truncated file reports every complete record, then the error with code and offset, exit 3', () => {
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, capture.subarray(0, capture.length - 5));
    const r = egress(['scan', cut, '--format', 'ndjson']);
    expect(r.code).toBe(3);
    const lastStart = capture.length - 16 - recs[recs.length - 1].data.length;
    expect(r.stderr).toBe(
      `egress: EGRESS_PCAP_TRUNCATED at byte ${lastStart} of ${cut}: input ends ${capture.length - 5 - lastStart} bytes into a ${16 + recs[recs.length - 1].data.length}-byte unit\n`,
    );
    const ev = events(r.stdout);
    const stats = ev[ev.length - 1];
    expect([stats.packets, stats.truncated, stats.error.code, stats.error.offset]).toEqual([
      23,
      true,
      'EGRESS_PCAP_TRUNCATED',
      lastStart,
    ]);
    expect(ev.filter((e) => e.event_type === 'flow')).toHaveLength(2);
  });

  it('shows progress on stderr when asked (default: only on a terminal), and none otherwise', () => {
    const shown = egress(['scan', file, '--format', 'ndjson', '--progress']);
    expect(shown.stderr).toMatch(/^\rscanning .*c\.pcap +\d+% 24 packets/);
    expect(shown.stdout).toBe(egress(['scan', file, '--format', 'ndjson']).stdout);
    expect(egress(['scan', file, '--format', 'ndjson']).stderr).toBe('');
  });

  it('prints a per-destination table with names, network, verdict and why', () => {
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      `deny:
  as_countries: [CN]
geo_overrides:
  - { cidr: 198.51.100.0/24, country: NL, asn: 64500, as_org: "Test NL", as_country: NL }
  - { cidr: 2001:db8::/32, country: DE, asn: 64501, as_org: "Test CN cloud", as_country: CN }
`,
    );
    const r = egress(['scan', file, '--format', 'table', '--policy', policy]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('24 packets');
    const rows = r.stdout.split('\n');
    const high = rows.findIndex((l) =>
      /^HIGH\s+\[2001:db8::10\]:443\s+TCP\s+example\.org\s+AS64501 Test CN cloud, DE\s+1\s+8/.test(l),
    );
    const medium = rows.findIndex((l) =>
      /^MEDIUM\s+198\.51\.100\.10:443\s+TCP\s+example\.org\s+AS64500 Test NL, NL\s+1\s+8/.test(l),
    );
    expect(high, r.stdout).toBeGreaterThan(0);
    expect(medium, r.stdout).toBeGreaterThan(high); // flagged worst first
    // The address rule denies at the first packet, before any name: the alert says so.
    expect(r.stdout).toContain(
      'HIGH   Connects to 2001:db8::10: Test CN cloud (AS64501, registered in CN), located in DE. Network registered in denied country CN.',
    );
    // Otherwise the verdict waits for the client's first payload, which names the destination.
    expect(r.stdout).toContain(
      'MEDIUM Connects to example.org at 198.51.100.10: Test NL (AS64500, registered in NL), located in NL. Not on the allow list.',
    );
    expect(r.stdout).not.toContain('192.168.1.1');
  });

  it('ends quietly with status 0 when its reader goes away (| head)', () => {
    const many: Rec[] = [];
    for (let i = 0; i < 3000; i++)
      many.push(
        ...tcpConversation({
          src: '10.0.0.2',
          dst: '198.51.100.10',
          sport: 10000 + i,
          dport: 443,
          t0: T0 + i * 10_000,
        }),
      );
    const big = join(dir, 'big.pcap');
    writeFileSync(big, pcapFile(many));
    const r = spawnSync(
      'bash',
      ['-c', `node ${EGRESS_BIN} scan ${big} --format ndjson | head -c 100 >/dev/null; echo "\${PIPESTATUS[0]}"`],
      { encoding: 'utf8' },
    );
    expect(r.stdout.trim()).toBe('0');
    expect(r.stderr).toBe('');
  });
});
