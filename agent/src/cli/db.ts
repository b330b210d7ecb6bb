// `egress db info|build|update|rollback`: the geo/ASN data of a gateway that
// may never see the internet. `build` makes a sealed data bundle from the
// ip-location-db npm packages on a machine with internet; `update` checks a
// bundle completely and installs it atomically into DATA_DIR/geo, keeping the
// data it replaces; `rollback` swaps back; `info` shows each table's source,
// version and age. A running agent picks up an update on its next stats tick
// (enrich/geo-source.ts). Formats: enrich/geo-bundle.ts, enrich/geo-store.ts.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_GEO_PATH } from '../enrich/geo.js';
import { geoDataHealth } from '../enrich/geo-age.js';
import { packBundle } from '../enrich/geo-bundle.js';
import { readGeoHeader } from '../enrich/geo-file.js';
import { chooseGeoData, GeoStore } from '../enrich/geo-store.js';
import { EgressError, ErrorCode, ExitCode } from '../errors.js';
import { dataDir } from '../live/settings.js';
import { parseCommand } from './args.js';
import { type DataFile, fileJson, infoText } from './db-info.js';
import type { CliIo } from './io.js';

export const DB_USAGE = `Usage: egress db COMMAND [options]

The geo/ASN data (country, AS number and organisation, AS registration
country) of this gateway, and how to keep it fresh without internet.

Commands:
  info                 each table's source, version, data date and age
  build --out FILE     make a data bundle from the npm packages (on a machine
                       with internet); --from DIR takes the packages from
                       DIR/node_modules (npm install @ip-location-db/... there)
  update FILE          check a bundle completely, install it, keep the old data
  rollback             go back to the data the last update replaced

Options:
  --data-dir DIR       where the data is installed (default: EGRESS_DATA_DIR or
                       ~/.local/state/egress); a running agent with the same
                       data directory picks up an update without a restart
  --json               info as JSON
  -h, --help           this help

Exit status: 0 ok, 1 failure, 2 usage error, 3 damaged or wrong-format bundle
(nothing installed; the data in use stays as it was).`;

const BUILD_SCRIPT = fileURLToPath(new URL('../../scripts/build-geo.mjs', import.meta.url));

export async function dbCommand(argv: string[], io: CliIo, now: () => number = Date.now): Promise<number> {
  const { values, positionals } = parseCommand(
    argv,
    {
      'data-dir': { type: 'string' },
      out: { type: 'string' },
      from: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    DB_USAGE,
  );
  const [verb, ...rest] = positionals;
  if (values.help) {
    io.stdout.write(`${DB_USAGE}\n`);
    return ExitCode.OK;
  }
  const usage = (why: string) => new EgressError(ErrorCode.USAGE, `${why}\n${DB_USAGE}`);
  const want = (n: number) => {
    if (rest.length !== n) throw usage(`db ${verb} takes ${n === 0 ? 'no' : n} argument${n === 1 ? '' : 's'}`);
  };
  const str = (k: string) => values[k] as string | undefined;
  const dir = dataDir(str('data-dir'));
  const store = new GeoStore(dir);
  switch (verb) {
    case 'info': {
      want(0);
      const inUse = chooseGeoData(dir);
      const files: DataFile[] = [
        { role: 'installed (egress db update)', path: store.current, header: readGeoHeader(store.current) },
        { role: 'kept for rollback', path: store.previous, header: readGeoHeader(store.previous) },
        { role: 'shipped with the agent', path: DEFAULT_GEO_PATH, header: readGeoHeader(DEFAULT_GEO_PATH) },
      ];
      if (values.json) {
        const files_ = files.map((f) => fileJson(f, now()));
        const use = { origin: inUse.origin, ...fileJson({ role: 'in use', ...inUse }, now()) };
        io.stdout.write(`${JSON.stringify({ in_use: use, files: files_ })}\n`);
      } else {
        io.stdout.write(infoText(inUse, files, now()));
      }
      return ExitCode.OK;
    }
    case 'build': {
      want(0);
      const out = str('out');
      if (out === undefined) throw usage('db build needs --out FILE');
      io.stdout.write(build(out, str('from'), now));
      return ExitCode.OK;
    }
    case 'update': {
      want(1);
      const file = rest[0];
      let bytes: Buffer;
      try {
        bytes = readFileSync(file);
      } catch (err) {
        throw new EgressError(ErrorCode.INPUT_UNREADABLE, `cannot read ${(err as NodeJS.ErrnoException).code ?? err}`, {
          file,
        });
      }
      const { installed, replaced } = store.install(bytes, file);
      io.stdout.write(`installed geo data ${describe(installed, now)} into ${store.current}\n`);
      if (replaced !== null)
        io.stdout.write(`kept the data it replaces (${describe(replaced, now)}) for \`egress db rollback\`\n`);
      const inUse = chooseGeoData(dir);
      if (inUse.origin !== 'installed')
        io.stdout.write(
          `note: the data shipped with the agent is newer (${describe(inUse.header, now)}) and stays in use\n`,
        );
      return ExitCode.OK;
    }
    case 'rollback': {
      want(0);
      const { installed, replaced } = store.rollback();
      io.stdout.write(`rolled back to geo data ${describe(installed, now)}`);
      io.stdout.write(
        replaced === null ? '\n' : `; ${describe(replaced, now)} is kept (rollback again to return to it)\n`,
      );
      return ExitCode.OK;
    }
    default:
      throw usage(verb === undefined ? 'db needs a command' : `unknown db command "${verb}"`);
  }
}

function describe(h: Parameters<typeof geoDataHealth>[0] | null, now: () => number): string {
  if (h === null) return 'unknown';
  return `from ${geoDataHealth(h, now()).dataDate ?? 'an unknown date'} (sha256 ${h.sha256.slice(0, 12)}…)`;
}

/** Runs the build script into a temporary geo.bin, packs and seals it, writes FILE atomically. */
function build(out: string, from: string | undefined, now: () => number): string {
  const tmp = mkdtempSync(join(tmpdir(), 'egress-db-build-'));
  try {
    const bin = join(tmp, 'geo.bin');
    const args = [BUILD_SCRIPT, '--force', '--out', bin, ...(from === undefined ? [] : ['--from', from])];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
    if (r.status !== 0) {
      const why = (r.stderr || r.error?.message || `exit ${r.status}`).trim().replace(/^geo: error: /, '');
      throw new EgressError(ErrorCode.GEO_BUILD_FAILED, `cannot build the geo data: ${why}`, { file: from });
    }
    const bundle = packBundle(readFileSync(bin), new Date(now()), bin);
    const part = join(dirname(out), `.${process.pid}.bundle.part`);
    try {
      writeFileSync(part, bundle);
      renameSync(part, out);
    } catch (err) {
      rmSync(part, { force: true });
      throw new EgressError(
        ErrorCode.GEO_STORE_FAILED,
        `cannot write ${out}: ${(err as NodeJS.ErrnoException).code ?? err}`,
        {
          file: out,
        },
      );
    }
    const h = readGeoHeader(bin);
    return `built ${out} (${(bundle.byteLength / 1048576).toFixed(1)} MiB, geo data ${describe(h, now)}); install it with \`egress db update ${out}\`\n`;
  } finally {
    // Stryker disable next-line BooleanLiteral: the folder was made above and is there to remove; force only matters if it were not
    rmSync(tmp, { recursive: true, force: true });
  }
}
