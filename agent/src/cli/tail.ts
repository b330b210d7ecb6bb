// `egress tail`: subscribe to a broker and print every alert as it arrives,
// readably (or as JSON lines), decoding the protobuf payloads.

import { connect, type IClientOptions } from 'mqtt';
import type { CaptureGap } from '../capture/types.js';
import { EgressError, ErrorCode, ExitCode } from '../errors.js';
import { describeGap } from '../live/capture-gaps.js';
import { readTokenFile } from '../live/secret-files.js';
import { dataDir, existingDashboardToken } from '../live/settings.js';
import { VIEWER_USER } from '../mqtt/broker.js';
import { decodeForTopic } from '../mqtt/codec-decode.js';
import { captureGapLine } from '../output/ndjson.js';
import { isoMicros } from '../output/time.js';
import { parseCommand, positiveInt } from './args.js';
import type { CliIo } from './io.js';
import { readPem } from './live-options.js';

export const TAIL_USAGE = `Usage: egress tail [options]

Subscribe to the gateway's MQTT topics and print every alert as it arrives.

Options:
  --broker URL        mqtt://, mqtts://, ws:// or wss:// (default mqtt://127.0.0.1:1883,
                      the embedded broker of \`egress run\` on this host)
  --gateway ID        only this gateway (default: every gateway on the broker)
  --username NAME     MQTT user (default ${VIEWER_USER} when a token is known)
  --token-file FILE   file whose first line is the MQTT password / dashboard token
                      (default: EGRESS_DASHBOARD_TOKEN, else the one in the data directory;
                      never on the command line, where every user sees it in ps)
  --data-dir DIR      where \`egress run\` keeps its secrets (default: EGRESS_DATA_DIR
                      or ~/.local/state/egress)
  --ca FILE, --cert FILE, --key FILE
                      TLS: CA bundle, client certificate and key (PEM)
  --status            also print status and flight-session changes, and capture gaps
                      (with --json as NDJSON \`capture_gap\` events, as \`egress scan\` writes them)
  --json              one JSON object a line instead of text
  --count N           exit after N alerts
  -h, --help          this help

Exit status: 0 after --count alerts or on Ctrl-C, 1 when the broker cannot be reached.`;

export async function tailCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommand(
    argv,
    {
      broker: { type: 'string' },
      gateway: { type: 'string' },
      username: { type: 'string' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
      'data-dir': { type: 'string' },
      ca: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      status: { type: 'boolean' },
      json: { type: 'boolean' },
      count: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    TAIL_USAGE,
  );
  if (values.help) {
    io.stdout.write(`${TAIL_USAGE}\n`);
    return ExitCode.OK;
  }
  const url = (values.broker as string | undefined) ?? 'mqtt://127.0.0.1:1883';
  const count = positiveInt('count', values.count as string | undefined, Number.POSITIVE_INFINITY);
  const gw = (values.gateway as string | undefined) ?? '+';
  if (values.token !== undefined)
    throw new EgressError(
      ErrorCode.USAGE,
      '--token would show the token to every user of this machine (ps, /proc); use --token-file FILE or EGRESS_DASHBOARD_TOKEN',
    );
  const tokenFile = values['token-file'] as string | undefined;
  const token =
    tokenFile !== undefined
      ? readTokenFile(tokenFile)
      : existingDashboardToken(dataDir(values['data-dir'] as string | undefined));
  const options: IClientOptions = {
    protocolVersion: 4,
    reconnectPeriod: 1000,
    connectTimeout: 5000,
    username: (values.username as string | undefined) ?? (token ? VIEWER_USER : undefined),
    password: token,
    ca: readPem('ca', values.ca as string | undefined),
    cert: readPem('cert', values.cert as string | undefined),
    key: readPem('key', values.key as string | undefined),
  };
  const json = values.json === true;
  const client = connect(url, options);
  let seen = 0;
  return new Promise<number>((resolve) => {
    let connectedOnce = false;
    const finish = (code: number) => {
      process.off('SIGINT', onSigint);
      // Stryker disable next-line BooleanLiteral: tail publishes nothing, so no in-flight message waits on a graceful end
      client.end(true, () => resolve(code));
    };
    const onSigint = () => finish(ExitCode.OK);
    process.on('SIGINT', onSigint);
    client.on('connect', () => {
      connectedOnce = true;
      const topics = [`egress/v1/${gw}/alert`];
      if (values.status) topics.push(`egress/v1/${gw}/status`, `egress/v1/${gw}/session`, `egress/v1/${gw}/stats`);
      // Stryker disable next-line ObjectLiteral: QoS 1 guards a lossy link; loopback in a test cannot lose a message
      client.subscribe(topics, { qos: 1 });
      if (!json) io.stderr.write(`egress tail: listening on ${url} for ${topics.join(', ')}\n`);
    });
    client.on('error', (err) => {
      if (!connectedOnce) {
        io.stderr.write(`egress: ${ErrorCode.BROKER_UNAVAILABLE}: cannot subscribe at ${url}: ${err.message}\n`);
        finish(ExitCode.FAILURE);
      }
    });
    client.on('message', (topic, payload) => {
      let decoded: ReturnType<typeof decodeForTopic>;
      try {
        decoded = decodeForTopic(topic, payload);
      } catch (err) {
        io.stderr.write(`egress tail: ${err instanceof EgressError ? err.toLine() : String(err)} (topic ${topic})\n`);
        return;
      }
      if (decoded === null) return;
      const { kind } = decoded.topic;
      const m = decoded.message as Record<string, unknown>;
      if (kind === 'stats') {
        // Only the capture gaps a stats message carries; the counters are the dashboard's.
        for (const g of gapsOfStats(m))
          io.stdout.write(json ? `${captureGapLine(g)}\n` : `gap     ${decoded.topic.gateway}: ${describeGap(g)}\n`);
        return;
      }
      // `kind` is the message's kind (alert, flow, status…); an alert's own kind
      // (connection or lookup) goes out as `alert_kind` so it does not hide it.
      if (json) {
        const { kind: alertKind, ...rest } = m;
        io.stdout.write(
          // Stryker disable next-line ConditionalExpression,ObjectLiteral: JSON.stringify leaves out a key whose value is undefined
          `${JSON.stringify({ topic, kind, ...(alertKind === undefined ? {} : { alert_kind: alertKind }), ...rest })}\n`,
        );
      } else if (kind === 'alert') io.stdout.write(formatAlert(m as unknown as AlertView));
      else io.stdout.write(`${kind.padEnd(7)} ${decoded.topic.gateway}: ${JSON.stringify(m)}\n`);
      if (kind === 'alert' && ++seen >= count) finish(ExitCode.OK);
    });
  });
}

/** The capture gaps of a decoded stats message. */
function gapsOfStats(m: Record<string, unknown>): CaptureGap[] {
  const gaps = (m.capture as { gaps?: Record<string, unknown>[] } | null | undefined)?.gaps ?? [];
  return gaps.map((g) => ({
    startUs: Number(g.start_us),
    endUs: Number(g.end_us),
    cause: g.cause as CaptureGap['cause'],
    packetsDropped: typeof g.packets_dropped === 'number' ? g.packets_dropped : null,
  }));
}

/** An alert as decodeForTopic gives it (NDJSON field names). */
export interface AlertView {
  id: string;
  gateway: string;
  ts_us: number;
  src_ip: string;
  src_port?: number;
  dest_ip: string;
  dest_port?: number;
  proto: string;
  dest: { names: string[]; country?: string; asn?: number; as_org?: string; as_country?: string };
  severity: string;
  reasons: string[];
  text: string;
  /** connection (a flow's verdict) or lookup (a client asked a resolver for a denied name). */
  kind?: string;
  lookup_name?: string;
}

/** One alert, for people: time, severity, tuple, names, network, reasons, and the plain-language why. */
function formatAlert(a: AlertView): string {
  const port = (p: number | undefined) => (p === undefined ? '' : `:${p}`);
  const net = [a.dest.country, a.dest.asn === undefined ? undefined : `AS${a.dest.asn}`, a.dest.as_org]
    .filter((x) => x !== undefined && x !== '')
    .join(' ');
  if (a.kind === 'lookup') {
    return (
      `${isoMicros(a.ts_us)}  ${a.severity.toUpperCase().padEnd(6)} ${a.gateway}  LOOKUP ` +
      // Stryker disable next-line StringLiteral: a lookup alert has exactly one reason (deny_domain)
      `${a.src_ip} asked ${a.dest_ip}${port(a.dest_port)} for ${a.lookup_name}  [${a.reasons.join(', ')}]\n` +
      `    ${a.text}\n`
    );
  }
  return (
    `${isoMicros(a.ts_us)}  ${a.severity.toUpperCase().padEnd(6)} ${a.gateway}  ` +
    `${a.src_ip}${port(a.src_port)} -> ${a.dest_ip}${port(a.dest_port)} ${a.proto}  ` +
    `${a.dest.names.join(',') || '(no name)'}  ${net || '(unknown network)'}  [${a.reasons.join(', ')}]\n` +
    `    ${a.text}\n`
  );
}
