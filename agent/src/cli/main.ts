// `egress`: the command line of Egress Sentinel. One line of error on
// stderr with a stable code, and a documented exit status (docs/errors.md).

import { EgressError, ExitCode, exitCodeFor } from '../errors.js';
import type { CliIo } from './io.js';
import { version } from './version.js';

const USAGE = `Usage: egress COMMAND [options]

Egress Sentinel: see every connection a drone controller makes, where it
goes, and whether it is allowed.

Commands:
  scan FILE|-     report every connection in a pcap/pcapng capture
  run             the live agent: capture an interface, publish alerts over MQTT
  replay FILE     run a capture through the live agent, with its timing
  tail            print alerts from the broker as they arrive
  db              geo/ASN data: info, build, update FILE, rollback
  session         start, end or list flight sessions (start|end|list)
  export SESSION  write a flight's signed evidence bundle (--out bundle.zip)
  verify FILE     check an evidence bundle (exit 0 intact, 1 altered, 2 not a bundle)
  key export      print the gateway's evidence public key (PEM)
  selftest        preflight check of the gateway (capture, clock, geo data, disk, broker, GPIO)

Options:
  -h, --help      help (also: egress COMMAND --help)
  -V, --version   print the version

Exit status: 0 ok, 1 failure, 2 usage error, 3 truncated or corrupt input.`;

type Command = (argv: string[], io: CliIo) => Promise<number>;

// Each command's modules load when it runs: loading all of them (the broker,
// the HTTP server, the evidence report, InfluxDB's client…) took ~0.5 s of CPU
// and ~40 MB before any command started, `egress --version` included.
const COMMANDS: Record<string, () => Promise<Command>> = {
  scan: async () => (await import('./scan.js')).scanCommand,
  tail: async () => (await import('./tail.js')).tailCommand,
  run: async () => (await import('./live.js')).runCommand,
  replay: async () => (await import('./live.js')).replayCommand,
  db: async () => (await import('./db.js')).dbCommand,
  session: async () => (await import('./session.js')).sessionCommand,
  export: async () => (await import('./evidence.js')).exportCommand,
  verify: async () => (await import('./evidence.js')).verifyCommand,
  key: async () => (await import('./evidence.js')).keyCommand,
  selftest: async () => (await import('./selftest.js')).selftestCommand,
};

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    // A usage error like any other: its code on stderr, the usage with it, stdout left empty.
    io.stderr.write(`egress: EGRESS_USAGE: no command given\n${USAGE}\n`);
    return ExitCode.USAGE;
  }
  if (name === '-h' || name === '--help' || name === 'help') {
    io.stdout.write(`${USAGE}\n`);
    return ExitCode.OK;
  }
  if (name === '-V' || name === '--version') {
    io.stdout.write(`egress ${version()}\n`);
    return ExitCode.OK;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (load === undefined) {
    io.stderr.write(`egress: EGRESS_USAGE: unknown command "${name}"\n${USAGE}\n`);
    return ExitCode.USAGE;
  }
  const command = await load();
  try {
    return await command(rest, io);
  } catch (err) {
    if (err instanceof EgressError) {
      io.stderr.write(`egress: ${err.toLine()}\n`);
      return exitCodeFor(err);
    }
    throw err;
  }
}
