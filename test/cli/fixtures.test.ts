// Every capture fixture through the real CLI: the golden events, the NDJSON
// contract checker from DESIGN.md, and tshark as an independent oracle for
// packet counts and per-flow packets and bytes.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { egress, events, ROOT } from '../support/cli.js';
import { listFixtures } from '../support/fixtures.js';

// The contract checker of DESIGN.md lives in ../shared/contract next to the
// project; a copy is kept in test/contract for machines where the project is
// checked out alone (CI). Where both exist they must be the same file.
const SHARED_CHECKER = `${ROOT}../shared/contract/check-ndjson.py`;
const CHECKER = existsSync(SHARED_CHECKER) ? SHARED_CHECKER : `${ROOT}test/contract/check-ndjson.py`;

describe('the NDJSON contract checker', () => {
  it('is the same as the shared one, where that is present', () => {
    const copy = readFileSync(`${ROOT}test/contract/check-ndjson.py`, 'utf8');
    if (existsSync(SHARED_CHECKER)) expect(copy).toBe(readFileSync(SHARED_CHECKER, 'utf8'));
    expect(copy).toContain("print(f'{passed} passed, {failed} failed')");
  });
});
const INTERNET = /^(192\.0\.2\.|198\.51\.100\.|203\.0\.113\.|2001:db8:)/;
const fixtures = listFixtures();

interface Tally {
  pkts: number;
  bytes: number;
}

/** Per-conversation packets and bytes of TCP and UDP, as tshark sees them (no reassembly of fragments). */
function tsharkConversations(input: string): { packets: number; conv: Map<string, Tally> } {
  const fields = [
    'frame.len',
    'ip.src',
    'ip.dst',
    'ipv6.src',
    'ipv6.dst',
    'tcp.srcport',
    'tcp.dstport',
    'udp.srcport',
    'udp.dstport',
  ];
  const r = spawnSync(
    'tshark',
    [
      '-n',
      '-r',
      input,
      '-o',
      'ip.defragment:FALSE',
      '-o',
      'ipv6.defragment:FALSE',
      '-T',
      'fields',
      '-E',
      'occurrence=f',
      ...fields.flatMap((f) => ['-e', f]),
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (r.error) throw new Error(`tshark is needed as the oracle (bash scripts/test installs it): ${r.error.message}`);
  const conv = new Map<string, Tally>();
  let packets = 0;
  for (const line of r.stdout.split('\n')) {
    if (line === '') continue;
    packets++;
    const [len, s4, d4, s6, d6, ts, td, us, ud] = line.split('\t');
    const src = s4 || s6;
    const dst = d4 || d6;
    const proto = ts ? 'TCP' : us ? 'UDP' : '';
    if (!proto || !src) continue;
    const a = `${src}|${ts || us}`;
    const b = `${dst}|${td || ud}`;
    const key = `${proto} ${[a, b].sort().join(' ')}`;
    const t = conv.get(key) ?? { pkts: 0, bytes: 0 };
    t.pkts++;
    t.bytes += Number(len);
    conv.set(key, t);
  }
  return { packets, conv };
}

describe.each(fixtures)('fixture $name', (fx) => {
  const run = egress(['scan', fx.input, '--format', 'ndjson']);
  const ev = events(run.stdout);
  const stats = ev[ev.length - 1] ?? {};

  it('has a README saying how it was made, and a reviewed expected.ndjson', () => {
    expect(existsSync(`${fx.dir}/README.md`)).toBe(true);
    expect(existsSync(fx.expected), `missing ${fx.expected} (bash scripts/update-expected, then review)`).toBe(true);
  });

  it('gives exactly the expected events', () => {
    expect(run.stdout).toBe(readFileSync(fx.expected, 'utf8'));
  });

  it('exits 0 on good input, 3 with a coded error and offset on bad input', () => {
    if (stats.truncated) {
      expect(run.code).toBe(3);
      expect(run.stderr).toMatch(/^egress: EGRESS_[A-Z_]+ at byte \d+ of .+: .+\n$/);
    } else {
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
    }
    if (!fx.bad) expect(stats.truncated).toBe(false);
  });

  it('follows the NDJSON contract (check-ndjson.py)', () => {
    const r = spawnSync('python3', [CHECKER], { input: run.stdout, encoding: 'utf8' });
    expect(r.stdout.trim().split('\n').pop()).toMatch(/^\d+ passed, 0 failed$/);
    expect(r.status, r.stdout).toBe(0);
  });
});

// tshark is no oracle for broken files (it reads some corrupt pcaps as another format: see bad/*/README.md).
// Tunnelled captures hold two headers per packet, which this per-field view cannot pair up:
// test/cli/tunnels.test.ts checks them against tshark layer by layer.
const TUNNELLED = /^tunnel\/(ipip|6in4|gre|gretap|vxlan|geneve)$/;
describe.each(fixtures.filter((f) => !f.bad && !TUNNELLED.test(f.name)))('fixture $name against tshark', (fx) => {
  const ev = events(egress(['scan', fx.input, '--format', 'ndjson']).stdout);
  const stats = ev[ev.length - 1] ?? {};

  it('agrees with tshark on packets, and on packets and bytes of every TCP/UDP flow', () => {
    const oracle = tsharkConversations(fx.input);
    expect(stats.packets).toBe(oracle.packets);
    const ours = new Map<string, Tally>();
    for (const f of ev.filter((e) => e.event_type === 'flow' && (e.proto === 'TCP' || e.proto === 'UDP'))) {
      const key = `${f.proto} ${[`${f.src_ip}|${f.src_port}`, `${f.dest_ip}|${f.dest_port}`].sort().join(' ')}`;
      const t = ours.get(key) ?? { pkts: 0, bytes: 0 };
      t.pkts += f.pkts_toserver + f.pkts_toclient;
      t.bytes += f.bytes_toserver + f.bytes_toclient;
      ours.set(key, t);
    }
    const theirs = new Map(
      [...oracle.conv].filter(([k]) =>
        k
          .split(' ')
          .slice(1)
          .some((ep) => INTERNET.test(ep)),
      ),
    );
    expect(Object.fromEntries(ours)).toEqual(Object.fromEntries(theirs));
  });
});
