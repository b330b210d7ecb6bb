// `egress selftest`: the preflight self-test (issue 11; checks in
// agent/src/selftest/). Text for people, --json for the dashboard; the exit
// status says the worst result: 0 pass, 4 warnings, 1 a check failed.

import { DEFAULT_PINS } from '@egress/hardware';
import { EgressError, ErrorCode } from '../errors.js';
import { dataDir } from '../live/settings.js';
import { formatReport, runSelftest } from '../selftest/run.js';
import { exitStatusOf } from '../selftest/types.js';
import { type Options, parseCommand, positiveInt } from './args.js';
import { gpioChoice } from './gpio-options.js';
import type { CliIo } from './io.js';
import { BROKER_OPTIONS, readPem } from './live-options.js';

export const SELFTEST_USAGE = `Usage: egress selftest [options]

Preflight self-test of the gateway: capture permission and interface, tcpdump
and its capability, packets seen, clock sync, geo data age, free disk, broker,
evidence key, GPIO. Each check says PASS, WARN, FAIL or SKIP, with a fix.

Options:
  --json                  the report as one JSON object (what the dashboard shows)
  -i, --interface IF      interface the agent captures (wlan0, br0)
  --wait S                seconds to wait for a first packet (default 10)
  --tcpdump PATH          tcpdump to check (default: tcpdump on PATH)
  --data-dir DIR          where sessions are kept (default: EGRESS_DATA_DIR or ~/.local/state/egress)
  --geo-db FILE           geo/ASN database to check instead of the installed one
  --broker URL            external broker to connect to (default: the embedded broker's port)
  --broker-user NAME      its username; password from EGRESS_BROKER_PASSWORD
  --ca FILE, --cert FILE, --key FILE   TLS to the external broker
  --mqtt-port N           embedded broker port to check (default 1883)
  --gpio DRIVER           sim, libgpiod or cli (default: EGRESS_GPIO; none: skipped)
  --gpio-chip NAME        GPIO chip (default: EGRESS_GPIO_CHIP or ${DEFAULT_PINS.chip})
  --gpio-pins LIST        BCM lines, e.g. green=17,amber=27,red=22,buzzer=23,button=24 (default: EGRESS_GPIO_PINS)
  -h, --help              this help

Exit status: 0 every check passed, 4 warnings only, 1 a check failed, 2 usage error.`;

const OPTIONS: Options = {
  json: { type: 'boolean' },
  interface: { type: 'string', short: 'i' },
  wait: { type: 'string' },
  tcpdump: { type: 'string' },
  'data-dir': { type: 'string' },
  'geo-db': { type: 'string' },
  ...BROKER_OPTIONS,
  gpio: { type: 'string' },
  'gpio-chip': { type: 'string' },
  'gpio-pins': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

export async function selftestCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand(argv, OPTIONS, SELFTEST_USAGE);
  if (values.help) {
    io.stdout.write(`${SELFTEST_USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new EgressError(ErrorCode.USAGE, `selftest takes no arguments\n${SELFTEST_USAGE}`);
  const str = (k: string) => values[k] as string | undefined;
  // Stryker disable next-line StringLiteral: the data directory only places the simulator's socket, which the GPIO check does not open
  const choice = gpioChoice(values, dataDir(str('data-dir')));
  const port = positiveInt('mqtt-port', str('mqtt-port'), 1883);
  if (port > 65535) throw new EgressError(ErrorCode.USAGE, `--mqtt-port must be 1-65535, got "${port}"`);
  const report = await runSelftest({
    interface: str('interface'),
    tcpdump: str('tcpdump') ?? 'tcpdump',
    packetWaitMs: positiveInt('wait', str('wait'), 10) * 1000,
    dataDir: dataDir(str('data-dir')),
    geoDb: str('geo-db'),
    broker: {
      url: str('broker'),
      username: str('broker-user'),
      password: process.env.EGRESS_BROKER_PASSWORD,
      ca: readPem('ca', str('ca')),
      cert: readPem('cert', str('cert')),
      key: readPem('key', str('key')),
      port,
    },
    gpio: choice?.driver,
    pins: choice?.pins ?? DEFAULT_PINS,
  });
  io.stdout.write(values.json ? `${JSON.stringify(report)}\n` : formatReport(report));
  return exitStatusOf(report.worst);
}
