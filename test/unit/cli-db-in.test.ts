// `egress db` in process (dbCommand with a fixed clock), so mutation testing
// sees cli/db.ts at work (test/cli/db.test.ts runs the built binary and
// checks what the installed data answers): the exact lines of build, update
// and rollback, which data info says is in use, the note when the shipped
// data is newer, and every refusal with its code and exit status.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DB_USAGE, dbCommand } from '../../agent/src/cli/db.js';
import { main } from '../../agent/src/cli/main.js';
import { DEFAULT_GEO_PATH } from '../../agent/src/enrich/geo.js';
import type { EgressError } from '../../agent/src/errors.js';
import { capturedIo } from '../support/cli-in.js';
import { writeFakeSources } from '../support/geo-bundle.js';

const tmp = mkdtempSync(join(tmpdir(), 'egress-db-in-'));
/** 2026-12-04T12:00:00Z: the clock every command here reads. */
const NOW = Date.UTC(2026, 11, 4, 12);

async function db(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = capturedIo();
  const code = await dbCommand(args, c.io, () => NOW);
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

/** The EgressError dbCommand throws. */
async function thrown(args: string[]): Promise<EgressError> {
  try {
    await db(args);
  } catch (e) {
    return e as EgressError;
  }
  throw new Error(`db ${args.join(' ')} did not fail`);
}

/** The EgressError dbCommand throws, as `code: message`. */
async function refusal(args: string[]): Promise<string> {
  const e = await thrown(args);
  return `${e.code}: ${e.message}`;
}

const bundles: Record<'a' | 'b' | 'old', string> = {
  a: join(tmp, 'a.egdb'),
  b: join(tmp, 'b.egdb'),
  old: join(tmp, 'old.egdb'),
};
/** How each bundle is described: `from DATE (sha256 PREFIX…)`. */
const built: Record<'a' | 'b' | 'old', string> = { a: '', b: '', old: '' };

describe('build', () => {
  it.each([
    ['a', 'NL', 64500, '2.3.2026120100'],
    ['b', 'FR', 64501, '2.3.2026120200'],
    ['old', 'DE', 64502, '2.3.2025010100'],
  ] as const)(
    'bundle %s: one line with its size, data date and seal, and how to install it',
    async (k, country, asn, version) => {
      const src = writeFakeSources(join(tmp, `src-${k}`), { country, asn, org: `Test ${k}`, version });
      const r = await db(['build', '--from', src, '--out', bundles[k]]);
      expect([r.code, r.stderr]).toEqual([0, '']);
      const mib = (readFileSync(bundles[k]).byteLength / 1048576).toFixed(1);
      expect(r.stdout).toMatch(
        new RegExp(
          `^built ${bundles[k]} \\(${mib.replace('.', '\\.')} MiB, geo data from (\\d{4}-\\d\\d-\\d\\d) \\(sha256 [0-9a-f]{12}…\\)\\); install it with \`egress db update ${bundles[k]}\`\\n$`,
        ),
      );
      built[k] = r.stdout.match(/(from \d{4}-\d\d-\d\d \(sha256 [0-9a-f]{12}…\))/)?.[1] ?? '';
      // Nothing left beside it: the part file was renamed into place.
      expect(readdirSync(tmp).filter((f) => f.endsWith('.part'))).toEqual([]);
    },
    120_000,
  );

  it('a failing build names the package, without the build script’s prefix, and writes nothing', async () => {
    const out = join(tmp, 'x.egdb');
    const from = join(tmp, 'no-packages');
    const e = await thrown(['build', '--from', from, '--out', out]);
    expect([e.code, e.message, e.facts]).toEqual([
      'EGRESS_GEO_BUILD_FAILED',
      `cannot build the geo data: package @ip-location-db/geo-whois-asn-country not found in ${from}/node_modules`,
      expect.objectContaining({ file: from }),
    ]);
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it('an output file that cannot be written: EGRESS_GEO_STORE_FAILED, no part file left', async () => {
    const src = join(tmp, 'src-a');
    const out = join(tmp, 'no-such-dir', 'x.egdb');
    expect(await refusal(['build', '--from', src, '--out', out])).toBe(
      `EGRESS_GEO_STORE_FAILED: cannot write ${out}: ENOENT`,
    );
  }, 120_000);
});

describe('update, rollback and info', () => {
  const data = join(tmp, 'data');
  const d = ['--data-dir', data];

  it('info with nothing installed: the shipped data is in use, nothing installed or kept', async () => {
    const r = await db(['info', ...d]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^geo data in use: shipped /);
    expect(r.stdout).toContain('installed (egress db update): none');
    const j = JSON.parse((await db(['info', '--json', ...d])).stdout);
    expect(j.in_use).toMatchObject({ origin: 'shipped', role: 'in use', path: DEFAULT_GEO_PATH });
    expect(j.files.map((f: { role: string; path: string }) => [f.role, f.path])).toEqual([
      ['installed (egress db update)', join(data, 'geo', 'geo.bin')],
      ['kept for rollback', join(data, 'geo', 'geo.previous.bin')],
      ['shipped with the agent', DEFAULT_GEO_PATH],
    ]);
  });

  it('the first update says what it installed, and nothing was replaced', async () => {
    const r = await db(['update', bundles.a, ...d]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`installed geo data ${built.a} into ${join(data, 'geo', 'geo.bin')}`);
    expect(r.stdout).not.toContain('kept the data it replaces');
    const inUse = JSON.parse((await db(['info', '--json', ...d])).stdout).in_use.origin;
    if (inUse === 'installed') expect(r.stdout).not.toContain('note:');
    else
      expect(lines[1]).toMatch(
        /^note: the data shipped with the agent is newer \(from \d{4}-\d\d-\d\d \(sha256 [0-9a-f]{12}…\)\) and stays in use$/,
      );
  });

  it('a second update keeps the first for rollback, and says so', async () => {
    const r = await db(['update', bundles.b, ...d]);
    expect(r.stdout.split('\n').slice(0, 2)).toEqual([
      `installed geo data ${built.b} into ${join(data, 'geo', 'geo.bin')}`,
      `kept the data it replaces (${built.a}) for \`egress db rollback\``,
    ]);
  });

  it('rollback swaps back and says what is kept; again swaps forward', async () => {
    expect(await db(['rollback', ...d])).toEqual({
      code: 0,
      stdout: `rolled back to geo data ${built.a}; ${built.b} is kept (rollback again to return to it)\n`,
      stderr: '',
    });
    expect((await db(['rollback', ...d])).stdout).toBe(
      `rolled back to geo data ${built.b}; ${built.a} is kept (rollback again to return to it)\n`,
    );
    const j = JSON.parse((await db(['info', '--json', ...d])).stdout);
    expect(built.b).toContain(j.files[0].sha256.slice(0, 12));
    expect(built.a).toContain(j.files[1].sha256.slice(0, 12));
  });

  it('data older than the shipped data is installed, but the shipped data stays in use, and the update says so', async () => {
    expect(built.old).toMatch(/^from 2025-01-01 /);
    const own = ['--data-dir', join(tmp, 'old-data')];
    const r = await db(['update', bundles.old, ...own]);
    const shipped = JSON.parse((await db(['info', '--json', ...own])).stdout).in_use;
    expect(shipped.origin).toBe('shipped');
    expect(r.stdout).toBe(
      `installed geo data ${built.old} into ${join(tmp, 'old-data', 'geo', 'geo.bin')}\n` +
        `note: the data shipped with the agent is newer (from ${shipped.data_date} (sha256 ${shipped.sha256.slice(0, 12)}…)) and stays in use\n`,
    );
  });

  it('rollback when the installed file is gone: the kept data comes back, nothing is kept in turn', async () => {
    const own = ['--data-dir', join(tmp, 'gone-data')];
    await db(['update', bundles.a, ...own]);
    await db(['update', bundles.b, ...own]);
    rmSync(join(tmp, 'gone-data', 'geo', 'geo.bin'));
    expect(await db(['rollback', ...own])).toEqual({
      code: 0,
      stdout: `rolled back to geo data ${built.a}\n`,
      stderr: '',
    });
  });

  it('refusals: an unreadable or damaged bundle, nothing to roll back to', async () => {
    const missing = join(tmp, 'missing.egdb');
    expect(await refusal(['update', missing, ...d])).toBe(`EGRESS_INPUT_UNREADABLE: cannot read ENOENT`);
    const bad = join(tmp, 'bad.egdb');
    writeFileSync(bad, readFileSync(bundles.a).subarray(0, 1000));
    expect(await refusal(['update', bad, ...d])).toMatch(/^EGRESS_GEO_BUNDLE_INVALID: .*cut short: 1000 of \d+ bytes/);
    expect(await refusal(['rollback', '--data-dir', join(tmp, 'fresh')])).toMatch(/^EGRESS_GEO_NO_PREVIOUS: /);
  });
});

describe('usage', () => {
  it('--help and -h print the usage', async () => {
    for (const h of ['--help', '-h']) expect(await db([h])).toEqual({ code: 0, stdout: `${DB_USAGE}\n`, stderr: '' });
  });

  it.each([
    [[], 'db needs a command'],
    [['frobnicate'], 'unknown db command "frobnicate"'],
    [['build'], 'db build needs --out FILE'],
    [['build', 'extra', '--out', 'x'], 'db build takes no arguments'],
    [['update'], 'db update takes 1 argument'],
    [['update', 'a', 'b'], 'db update takes 1 argument'],
    [['info', 'extra'], 'db info takes no arguments'],
    [['rollback', 'now'], 'db rollback takes no arguments'],
  ])('%j: EGRESS_USAGE: %s', async (args, why) => {
    expect(await refusal(args)).toBe(`EGRESS_USAGE: ${why}\n${DB_USAGE}`);
  });

  it('through main(): a usage error exits 2, and the data directory comes from EGRESS_DATA_DIR', async () => {
    const c = capturedIo();
    expect(await main(['db', 'frobnicate'], c.io)).toBe(2);
    expect(c.stderr()).toMatch(/^egress: EGRESS_USAGE: unknown db command "frobnicate"\n/);
    const saved = process.env.EGRESS_DATA_DIR;
    process.env.EGRESS_DATA_DIR = join(tmp, 'data');
    try {
      const j = JSON.parse((await db(['info', '--json'])).stdout);
      expect(j.files[0].path).toBe(join(tmp, 'data', 'geo', 'geo.bin'));
    } finally {
      if (saved === undefined) delete process.env.EGRESS_DATA_DIR;
      else process.env.EGRESS_DATA_DIR = saved;
    }
  });
});
