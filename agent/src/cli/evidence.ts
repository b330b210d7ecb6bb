// `egress export SESSION --out bundle.zip`, `egress verify bundle.zip
// [--pubkey FILE]` and `egress key export`: the evidence commands that need
// no running agent (agent/src/evidence/).

import { readFileSync } from 'node:fs';
import { EgressError, ErrorCode, ExitCode } from '../errors.js';
import { exportSession } from '../evidence/export.js';
import { loadKey, parsePublicKey } from '../evidence/keys.js';
import { verifyBundle } from '../evidence/verify.js';
import { dataDir } from '../live/settings.js';
import { parseCommand } from './args.js';
import type { CliIo } from './io.js';

export const EXPORT_USAGE = `Usage: egress export SESSION --out bundle.zip [--data-dir DIR]

Write a closed flight session as a signed evidence bundle: report.html (Dutch
and English), flows.csv, events.ndjson, flagged.pcapng, manifest.json and its
signature; README.txt in the bundle says how to check it without our software.

Exit status: 0 written, 1 failure (unknown session, still open, damaged log), 2 usage error.`;

export const VERIFY_USAGE = `Usage: egress verify bundle.zip [--pubkey FILE]

Check an evidence bundle: the manifest signature, every file's hash, no file
missing or extra, and the chained log record by record. --pubkey: the
gateway's public key (PEM, from \`egress key export\`); without it the bundle's
own key is used and its fingerprint printed, to compare with the gateway's.

Exit status: 0 intact, 1 altered (each problem on its own line), 2 not a bundle or usage error.`;

export const KEY_USAGE = `Usage: egress key export [--data-dir DIR]

Print the gateway's evidence public key (PEM) on standard output and its
fingerprint (SHA-256 of the DER key) on standard error.

Exit status: 0 ok, 1 no key yet (the agent makes it on first start), 2 usage error.`;

export async function exportCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand(
    argv,
    {
      out: { type: 'string', short: 'o' },
      'data-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    } as const,
    EXPORT_USAGE,
  );
  if (values.help) {
    io.stdout.write(`${EXPORT_USAGE}\n`);
    return ExitCode.OK;
  }
  if (positionals.length !== 1 || (values.out as string | undefined) === undefined)
    throw new EgressError(ErrorCode.USAGE, `export takes one SESSION and --out FILE\n${EXPORT_USAGE}`);
  const r = exportSession(dataDir(values['data-dir'] as string | undefined), positionals[0], values.out as string);
  const st = r.statement;
  const statement = st.kind === 'no_egress_observed' ? `; statement: no egress observed (${st.strength})` : '';
  io.stdout.write(
    `exported ${positionals[0]} to ${r.file}: ${r.files} files, ${r.records} records, signed by ${r.fingerprint}${statement}\n`,
  );
  return ExitCode.OK;
}

export async function verifyCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand(
    argv,
    { pubkey: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const,
    VERIFY_USAGE,
  );
  if (values.help) {
    io.stdout.write(`${VERIFY_USAGE}\n`);
    return ExitCode.OK;
  }
  if (positionals.length !== 1) throw new EgressError(ErrorCode.USAGE, `verify takes one bundle\n${VERIFY_USAGE}`);
  const file = positionals[0];
  let pubkey: ReturnType<typeof parsePublicKey> | undefined;
  if ((values.pubkey as string | undefined) !== undefined) {
    pubkey = parsePublicKey(readOrFail(values.pubkey as string));
    if (pubkey === null)
      throw new EgressError(
        ErrorCode.USAGE,
        `--pubkey ${values.pubkey as string | undefined} is not an Ed25519 public key (PEM)`,
      );
  }
  const r = verifyBundle(readOrFail(file), pubkey ?? undefined);
  if (r.status === 2) {
    // Stryker disable next-line StringLiteral: verifyBundle's status 2 always carries exactly one line
    io.stderr.write(`egress: ${ErrorCode.BUNDLE_INVALID} of ${file}: ${r.lines.join('; ')}\n`);
    return ExitCode.USAGE;
  }
  if (r.status === 1) {
    for (const line of r.lines) io.stdout.write(`${line}\n`);
    io.stderr.write(
      `egress: ${ErrorCode.BUNDLE_TAMPERED} of ${file}: ${r.lines.length} problem${r.lines.length === 1 ? '' : 's'}\n`,
    );
    return ExitCode.FAILURE;
  }
  io.stdout.write(
    `${r.lines[0]}${pubkey ? '' : " (the key in the bundle: compare this fingerprint with the gateway's, or give --pubkey)"}\n`,
  );
  return ExitCode.OK;
}

export async function keyCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand(
    argv,
    { 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const,
    KEY_USAGE,
  );
  if (values.help) {
    io.stdout.write(`${KEY_USAGE}\n`);
    return ExitCode.OK;
  }
  if (positionals.length !== 1 || positionals[0] !== 'export')
    throw new EgressError(ErrorCode.USAGE, `key takes "export"\n${KEY_USAGE}`);
  const key = loadKey(dataDir(values['data-dir'] as string | undefined));
  io.stdout.write(key.publicPem);
  io.stderr.write(`fingerprint (SHA-256 of the DER key): ${key.fingerprint}\n`);
  return ExitCode.OK;
}

function readOrFail(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new EgressError(ErrorCode.INPUT_UNREADABLE, `cannot read ${file}: ${e.code ?? e.message}`, { file });
  }
}
