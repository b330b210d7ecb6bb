// Options shared by the live commands (`run`, `replay`): policy, data
// directory, gateway id, broker (embedded or external with TLS and a
// password), HTTP address; turned into LiveAgent options.

import { readFileSync } from 'node:fs';
import { Enricher } from '../enrich/enricher.js';
import { GeoSource } from '../enrich/geo-source.js';
import { EgressError, ErrorCode } from '../errors.js';
import { DEFAULT_MAX_FLOWS } from '../flow/table.js';
import { DEFAULT_RETENTION, parseHistoryTarget } from '../history/config.js';
import { DEFAULT_MAX_QUEUED } from '../history/writer.js';
import type { BrokerChoice, LiveAgentOptions } from '../live/agent-options.js';
import { dataDir, ensureDir, gatewayId, hostPort, loadSecrets } from '../live/settings.js';
import { loadPolicy, profileNames } from '../policy/load.js';
import { type Options, positiveInt } from './args.js';
import { version } from './version.js';

/** How to reach the broker (or run the embedded one): shared by the live commands and `egress selftest`. */
export const BROKER_OPTIONS: Options = {
  broker: { type: 'string' },
  'broker-user': { type: 'string' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  'mqtt-port': { type: 'string' },
};

export const LIVE_OPTIONS: Options = {
  policy: { type: 'string' },
  profile: { type: 'string' },
  'geo-db': { type: 'string' },
  'max-flows': { type: 'string' },
  'data-dir': { type: 'string' },
  gateway: { type: 'string' },
  session: { type: 'string' },
  ...BROKER_OPTIONS,
  http: { type: 'string' },
  'no-http': { type: 'boolean' },
  'stats-interval': { type: 'string' },
  'flows-per-second': { type: 'string' },
  'spool-mb': { type: 'string' },
  influx: { type: 'string' },
  'influx-retention': { type: 'string' },
  'influx-queue': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

export const LIVE_OPTIONS_HELP = `  --policy FILE           policy YAML (may extend a profile)
  --profile NAME          built-in profile: ${profileNames().join(', ')}
  --geo-db FILE           geo/ASN database (default: the newer of the data installed by
                          "egress db update" in --data-dir and the one built with the agent)
  --max-flows N           flow table limit (default ${DEFAULT_MAX_FLOWS})
  --data-dir DIR          spool, secrets, installed geo data (default: EGRESS_DATA_DIR or
                          ~/.local/state/egress)
  --gateway ID            gateway id in every MQTT topic (default: the host name)
  --session NAME          open a flight session with this name at start (closed at stop);
                          otherwise sessions are opened and closed from the dashboard
  --broker URL            external broker: mqtt://, mqtts://, ws://, wss:// (default: the
                          embedded one on 127.0.0.1, port --mqtt-port, default 1883)
  --broker-user NAME      username for the external broker; the password comes from
                          EGRESS_BROKER_PASSWORD (never from the command line)
  --ca FILE, --cert FILE, --key FILE
                          TLS to the external broker: CA bundle, client certificate and key
  --mqtt-port N           TCP port of the embedded broker (0: any free port)
  --http HOST:PORT        HTTP server for the dashboard, MQTT over WebSocket at /mqtt
                          (default 127.0.0.1:8080)
  --no-http               no HTTP server
  --stats-interval S      seconds between stats messages (default 5)
  --flows-per-second N    flow messages per second at most (default 200; more are counted, not sent)
  --spool-mb N            on-disk spool bound for messages the broker has not taken (default 64)
  --influx URL            also write traffic history to InfluxDB 1.x: http://HOST:8086/DB (the
                          database, retention policies and a 1-minute continuous query are
                          created when absent); user and password from EGRESS_INFLUX_USER and
                          EGRESS_INFLUX_PASSWORD. Capture goes on while InfluxDB is away
  --influx-retention D    how long InfluxDB keeps raw points (default ${DEFAULT_RETENTION}; INF: forever)
  --influx-queue N        points held while InfluxDB is away, then the oldest are dropped and
                          counted (default ${DEFAULT_MAX_QUEUED}, about 45 MB)
  -h, --help              this help`;

export function liveAgentOptions(
  values: Record<string, unknown>,
  log: (line: string) => void,
): LiveAgentOptions & { secretsCreated: boolean } {
  const str = (k: string) => values[k] as string | undefined;
  const policy = loadPolicy({ file: str('policy'), profile: str('profile') });
  const dir = ensureDir(dataDir(str('data-dir')));
  const geo = GeoSource.open({ dataDir: dir, explicit: str('geo-db'), log });
  const enricher = new Enricher(geo.database, policy.geoOverrides);
  const secrets = loadSecrets(dir);
  let broker: BrokerChoice;
  const url = str('broker');
  if (url !== undefined) {
    if (!/^(mqtts?|wss?):\/\/[^/]+/.test(url))
      throw new EgressError(
        ErrorCode.BROKER_UNAVAILABLE,
        `--broker must be an mqtt://, mqtts://, ws:// or wss:// URL, got "${url}"`,
      );
    broker = {
      kind: 'external',
      url,
      username: str('broker-user'),
      password: process.env.EGRESS_BROKER_PASSWORD,
      ca: readPem('ca', str('ca')),
      cert: readPem('cert', str('cert')),
      key: readPem('key', str('key')),
    };
  } else {
    const port = values['mqtt-port'] === undefined ? 1883 : Number(values['mqtt-port']);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new EgressError(ErrorCode.USAGE, `--mqtt-port must be 0-65535, got "${str('mqtt-port')}"`);
    broker = { kind: 'embedded', host: '127.0.0.1', port };
  }
  return {
    gateway: gatewayId(str('gateway')),
    dataDir: dir,
    secrets,
    secretsCreated: secrets.created,
    policy,
    enricher,
    geo,
    version: version(),
    broker,
    http: values['no-http'] ? null : hostPort('http', str('http') ?? '127.0.0.1:8080'),
    maxFlows: positiveInt('max-flows', str('max-flows'), DEFAULT_MAX_FLOWS),
    statsIntervalMs: positiveInt('stats-interval', str('stats-interval'), 5) * 1000,
    flowsPerSecond: positiveInt('flows-per-second', str('flows-per-second'), 200),
    spoolBytes: positiveInt('spool-mb', str('spool-mb'), 64) * 1024 * 1024,
    history: historyTarget(str('influx'), str('influx-retention'), str('influx-queue')),
    log,
  };
}

export function readPem(name: string, file: string | undefined): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new EgressError(ErrorCode.BROKER_UNAVAILABLE, `cannot read --${name} ${file}: ${(err as Error).message}`);
  }
}

function historyTarget(url: string | undefined, retention: string | undefined, queue: string | undefined) {
  if (url === undefined) {
    if (retention !== undefined || queue !== undefined)
      throw new EgressError(ErrorCode.USAGE, '--influx-retention and --influx-queue need --influx');
    return undefined;
  }
  return {
    ...parseHistoryTarget(url, process.env, retention),
    maxQueued: positiveInt('influx-queue', queue, DEFAULT_MAX_QUEUED),
  };
}
