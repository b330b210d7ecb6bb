// `egress run` (live capture of an interface) and `egress replay` (a capture
// file through the live path, with its timing): the live agent with its
// broker, publishing alerts as they happen. Alerts are also printed on
// standard output, one line each; the log goes to standard error.

import { closeSync, openSync } from 'node:fs';
import { isIP } from 'node:net';
import { EgressError, ErrorCode, ExitCode } from '../errors.js';
import { LiveAgent } from '../live/agent.js';
import { captureError, captureStalled } from '../live/agent-condition.js';
import { describeGap } from '../live/capture-gaps.js';
import { CaptureReplay, parseSpeed } from '../live/replay.js';
import { dataDir, gatewayId } from '../live/settings.js';
import { TcpdumpCapture } from '../live/tcpdump.js';
import type { AlertRecord } from '../output/flow-record.js';
import { isoMicros } from '../output/time.js';
import { parseCommand, positiveInt } from './args.js';
import { attachBlocking, attachFailClosed, BLOCK_OPTIONS, BLOCK_OPTIONS_HELP, blockChoice } from './block-options.js';
import { attachSignals, GPIO_OPTIONS, GPIO_OPTIONS_HELP, gpioChoice } from './gpio-options.js';
import type { CliIo } from './io.js';
import { LIVE_OPTIONS, LIVE_OPTIONS_HELP, liveAgentOptions } from './live-options.js';

/**
 * tcpdump's kernel buffer (-B, KiB). libpcap's 2 MiB holds about 0.35 s of
 * 20,000 packets/s of ~220-byte packets (TPACKET_V3 adds ~80 bytes each):
 * an agent busy publishing a burst of alerts for longer lost packets
 * (issue 15). 16 MiB rides out ~2.5 s; the kernel allocates it per capture.
 */
const CAPTURE_BUFFER_KIB = 16_384;

export const RUN_USAGE = `Usage: egress run --interface IF [options]

The live agent: capture IF with tcpdump (which holds CAP_NET_RAW; the agent
runs unprivileged), judge every connection as it happens, and publish
alerts, flows, stats and status over MQTT. Alerts are also printed here.
Stops on Ctrl-C or SIGTERM (open flows are finished and published first).

Options:
  -i, --interface IF      interface to capture (wlan0, eth0, br0, any)
  --filter BPF            only traffic matching this tcpdump filter
  --tcpdump PATH          tcpdump to run (default: tcpdump on PATH)
  --capture-buffer KIB    kernel capture buffer for tcpdump (-B): what the kernel holds while
                          the agent is busy; raise it when the status reports kernel drops
                          (default ${CAPTURE_BUFFER_KIB}, 16 MiB: about 2.5 s at 20,000 packets/s)
  --clean-interval S      after a capture gap (drops, a tcpdump restart) the status says
                          "capture incomplete" until S seconds pass without one (default 60)
  --quiet                 do not print alerts on standard output
${GPIO_OPTIONS_HELP}
${BLOCK_OPTIONS_HELP}
${LIVE_OPTIONS_HELP}

Exit status: 0 stopped on request, 1 failure, 2 usage error.`;

export const REPLAY_USAGE = `Usage: egress replay FILE [options]

Run a pcap/pcapng capture through the live agent with its own timing: the
same judging and MQTT publishing as \`egress run\`, for demos, tests and the
dashboard. At the end, open flows are finished, and the agent waits up to
--linger seconds for the broker to take everything spooled.

Options:
  --speed N|max           1 = real time (default), 4 = four times faster, max = as fast as possible
  --loop                  start over at the end (until Ctrl-C)
  --linger S              seconds to wait at the end for spooled messages to be delivered (default 10)
  --quiet                 do not print alerts on standard output
${GPIO_OPTIONS_HELP}
${BLOCK_OPTIONS_HELP}
${LIVE_OPTIONS_HELP}

Exit status: 0 replayed and every message delivered, 1 messages left in the
spool (they are sent on the next start) or failure, 2 usage error,
3 truncated or corrupt capture.`;

/** No packet for this long on a live interface is reported in the status (a controller is rarely silent a minute). */
const STALL_MS = 60_000;

const RUN_OPTIONS = {
  ...LIVE_OPTIONS,
  ...GPIO_OPTIONS,
  ...BLOCK_OPTIONS,
  interface: { type: 'string', short: 'i' },
  filter: { type: 'string' },
  tcpdump: { type: 'string' },
  'capture-buffer': { type: 'string' },
  'clean-interval': { type: 'string' },
  quiet: { type: 'boolean' },
} as const;

const REPLAY_OPTIONS = {
  ...LIVE_OPTIONS,
  ...GPIO_OPTIONS,
  ...BLOCK_OPTIONS,
  speed: { type: 'string' },
  loop: { type: 'boolean' },
  linger: { type: 'string' },
  quiet: { type: 'boolean' },
} as const;

export async function runCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand(argv, RUN_OPTIONS, RUN_USAGE);
  if (values.help) {
    io.stdout.write(`${RUN_USAGE}\n`);
    return ExitCode.OK;
  }
  const iface = values.interface as string | undefined;
  if (iface === undefined || positionals.length > 0)
    throw new EgressError(ErrorCode.USAGE, `run takes --interface IF and no other arguments\n${RUN_USAGE}`);
  const log = logger(io);
  const dir = dataDir(values['data-dir'] as string | undefined);
  const gpio = gpioChoice(values, dir);
  const block = blockChoice(values);
  const bufferKiB = positiveInt('capture-buffer', values['capture-buffer'] as string | undefined, CAPTURE_BUFFER_KIB);
  // Checked before anything starts (a usage error once the broker is up left it running); 60: capture-gaps.ts's default.
  const cleanMs = positiveInt('clean-interval', values['clean-interval'] as string | undefined, 60) * 1000;
  const agent = await startAgent(values, io, log);
  let capture: TcpdumpCapture;
  try {
    capture = newCapture(agent, iface, values, bufferKiB, log);
  } catch (err) {
    // Options tcpdump cannot take (a bad interface name or exclusion): close what started, then report.
    await agent.stop(0);
    throw err;
  }

  agent.captureHealth = () => {
    const h = capture.health();
    const { packets, kernelDrops, interfaceDrops, restarts, lastPacketAgeMs } = h;
    return { packets, kernelDrops, interfaceDrops, restarts, lastPacketAgeMs };
  };
  agent.gaps.cleanMs = cleanMs;
  agent.captureProblem = () => {
    const h = capture.health();
    if (h.error !== null) return captureError(h.error.message);
    const age = h.lastPacketAgeMs ?? 0; // null: no packet yet, a capture just started
    // Stryker disable next-line EqualityOperator: >= differs only at exactly 60,000 ms of silence, a moment the status (sampled each stats interval) cannot be made to land on
    return age > STALL_MS ? captureStalled(age) : null;
  };
  const signals = await attachSignals(agent, gpio, log);
  const blocking = attachBlocking(agent, block, log);
  log(`starting capture: ${capture.argv.join(' ')}`);
  capture.start();
  const watch = attachFailClosed(blocking, block, iface, () => capture.health().running, log);
  void signals?.preflight({
    gateway: gatewayId(values.gateway as string | undefined),
    dataDir: dir,
    geoDb: values['geo-db'] as string | undefined,
    capture: () => capture.health(),
    brokerConnected: () => agent.publisher.connected,
  });
  await untilSignal().signalled;
  log('stopping: finishing open flows');
  await watch?.stop(); // fail-closed: the gateway holds the traffic before the capture ends
  await capture.stop();
  await agent.finishFlows();
  await blocking?.settle(); // the answers to the last requests, into the last stats
  const delivered = await agent.stop(5000);
  await signals?.close();
  if (!delivered) log(`${agent.spool.pending} messages stay in the spool; they are sent on the next start`);
  return ExitCode.OK;
}

export async function replayCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand(argv, REPLAY_OPTIONS, REPLAY_USAGE);
  if (values.help) {
    io.stdout.write(`${REPLAY_USAGE}\n`);
    return ExitCode.OK;
  }
  if (positionals.length !== 1)
    throw new EgressError(ErrorCode.USAGE, `replay takes exactly one FILE\n${REPLAY_USAGE}`);
  const speed = parseSpeed((values.speed as string | undefined) ?? '1');
  const lingerMs = values.linger === undefined ? 10_000 : nonNegative('linger', values.linger as string) * 1000;
  const file = positionals[0];
  readable(file);
  const log = logger(io);
  const dir = dataDir(values['data-dir'] as string | undefined);
  const gpio = gpioChoice(values, dir);
  const block = blockChoice(values);
  const agent = await startAgent(values, io, log);
  const signals = await attachSignals(agent, gpio, log);
  const blocking = attachBlocking(agent, block, log);
  if (block?.failClosed) log('fail-closed: for egress run only (a replay holds no interface); ignored');
  void signals?.preflight({
    gateway: gatewayId(values.gateway as string | undefined),
    dataDir: dir,
    geoDb: values['geo-db'] as string | undefined,
    capture: () => null,
    brokerConnected: () => agent.publisher.connected,
  });
  const ac = new AbortController();
  const stop = untilSignal();
  const stopRequested = stop.signalled.then(() => ac.abort());
  const paced = speed !== 'max';
  const replay = new CaptureReplay(file, agent.sink, {
    speed,
    loop: values.loop === true,
    signal: ac.signal,
    anomalies: agent.pipeline.anomalies,
    onLoop: (n) => {
      agent.pipeline.lookups.startOver();
      log(`replay starts over (pass ${n + 1})`);
    },
  });
  // Paced replays carry wall-clock arrival times: flows idle by the wall clock end on the tick.
  const tick = paced ? setInterval(() => agent.tick(Date.now() * 1000), 1000) : null;
  let result: Awaited<ReturnType<CaptureReplay['run']>>;
  try {
    result = await replay.run();
  } catch (err) {
    // The capture could not be read at all: close the broker, spool and HTTP server before reporting it.
    stop.cancel();
    await agent.stop(0);
    await signals?.close();
    throw err;
  } finally {
    if (tick) clearInterval(tick);
  }
  await agent.finishFlows();
  await blocking?.settle();
  io.stdout.write(
    `replayed ${result.packets} packets${result.aborted ? ' (stopped)' : ''}; ` +
      `flows: ${agent.pipeline.flowsInternet} to the internet, ${agent.pipeline.flowsLocal} local; alerts: ${agent.pipeline.alerts}\n`,
  );
  if (!ac.signal.aborted && agent.spool.pending > 0)
    log(`waiting up to ${lingerMs / 1000} s for the broker to take ${agent.spool.pending} spooled messages`);
  const delivered = await agent.stop(ac.signal.aborted ? 0 : lingerMs, stopRequested);
  stop.cancel();
  await signals?.close();
  if (result.error) {
    io.stderr.write(`egress: ${result.error.toLine()}\n`);
    return ExitCode.BAD_INPUT;
  }
  if (!delivered) {
    log(`${agent.spool.pending} messages stay in the spool; they are sent on the next start`);
    return ExitCode.FAILURE;
  }
  return ExitCode.OK;
}

async function startAgent(values: Record<string, unknown>, io: CliIo, log: (line: string) => void): Promise<LiveAgent> {
  const options = liveAgentOptions(values, log);
  const agent = await LiveAgent.start(options);
  log(`gateway ${options.gateway}, policy ${options.policy.source}, broker ${agent.brokerUrl}`);
  const h = options.history;
  if (h) log(`history: InfluxDB ${h.protocol}://${h.host}:${h.port}/${h.database} (raw points kept ${h.retention})`);
  if (agent.httpAddress)
    log(
      `dashboard: ${agent.httpAddress}/?token=${encodeURIComponent(options.secrets.dashboard)}` +
        ` (MQTT over WebSocket at /mqtt)${agent.http?.built === false ? '; not built yet: run pnpm build' : ''}`,
    );
  if (options.broker.kind === 'embedded')
    log(
      `viewer login for the dashboard and \`egress tail\`: user egress-viewer, token ${options.secrets.dashboard}` +
        (options.secrets.dashboardFrom === 'environment'
          ? ' (from EGRESS_DASHBOARD_TOKEN, not stored: give `egress tail` the same variable or a --token-file)'
          : ` (kept in ${options.dataDir}/secrets.json)`),
    );
  if (agent.spool.pending > 0) log(`${agent.spool.pending} messages from an earlier run are in the spool; sending`);
  const session = values.session as string | undefined;
  if (session !== undefined) {
    if (agent.session !== null) log(`flight ${agent.session.id} resumed; --session "${session}" ends it at stop`);
    else log(`flight ${agent.startFlight(session).id} ("${session}") started`);
    agent.endSessionOnStop = true;
  }
  if (!values.quiet) agent.onAlert = (a) => io.stdout.write(alertLine(a));
  return agent;
}

function newCapture(
  agent: LiveAgent,
  iface: string,
  values: Record<string, unknown>,
  bufferKiB: number | undefined,
  log: (line: string) => void,
): TcpdumpCapture {
  return new TcpdumpCapture(agent.sink, {
    interface: iface,
    command: [(values.tcpdump as string | undefined) ?? 'tcpdump'],
    filter: values.filter as string | undefined,
    bufferKiB,
    exclude: ownEndpoints(agent),
    anomalies: agent.pipeline.anomalies,
    onTick: (nowUs) => agent.tick(nowUs),
    onGap: (gap) => {
      log(`capture gap: ${describeGap(gap)}`);
      agent.captureGap(gap);
    },
    // Drop counts as often as stats go out: a gap shows within one stats interval.
    // Stryker disable next-line StringLiteral: liveAgentOptions parses --stats-interval first, so its message is the one a user sees
    statsIntervalMs: positiveInt('stats-interval', values['stats-interval'] as string | undefined, 5) * 1000,
    onError: (err) => log(err.toLine()),
    onListening: (info) => log(`capturing on ${info.interface} (${info.linkType}), tcpdump pid ${info.pid}`),
  });
}

/** The agent's own MQTT and HTTP endpoints, left out of the capture when they are on a numeric address (exported for its table test). */
export function ownEndpoints(agent: Pick<LiveAgent, 'brokerUrl' | 'httpAddress'>): { host: string; port: number }[] {
  // The port a broker URL without one goes to, as the MQTT client connects (ws 80, wss 443).
  const defaultPorts: Record<string, number> = { 'mqtt:': 1883, 'mqtts:': 8883, 'ws:': 80, 'wss:': 443 };
  const out: { host: string; port: number }[] = [];
  for (const url of [agent.brokerUrl, agent.httpAddress]) {
    if (url === null) continue;
    const u = new URL(url);
    // Stryker disable next-line Regex: URL.hostname brackets an IPv6 address at both ends and nowhere else, so each anchor alone strips the same
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const port = Number(u.port || defaultPorts[u.protocol]);
    if (isIP(host) && host !== '0.0.0.0' && host !== '::') out.push({ host, port });
  }
  return out;
}

function alertLine(a: AlertRecord): string {
  const app = a.app;
  const port = (p: number | null) => (p === null ? '' : `:${p}`);
  return (
    `${isoMicros(a.tsUs)} ALERT ${a.severity.toUpperCase()} ${app.srcIp}${port(app.srcPort)} -> ` +
    `${app.destIp}${port(app.destPort)} ${app.proto} [${a.reasons.join(', ')}] ${a.text}\n`
  );
}

function logger(io: CliIo): (line: string) => void {
  return (line) => io.stderr.write(`${new Date().toISOString()} egress: ${line}\n`);
}

/**
 * Resolves on the first SIGINT or SIGTERM; `cancel` takes the handlers off
 * again (a replay that ends by itself), so a caller of main() in the same
 * process (the tests) keeps its own signal handling.
 */
function untilSignal(): { signalled: Promise<void>; cancel(): void } {
  let cancel = () => {};
  const signalled = new Promise<void>((resolve) => {
    const done = () => {
      cancel();
      resolve();
    };
    cancel = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  return { signalled, cancel };
}

/** Fail before anything starts when the capture cannot be opened. */
function readable(file: string): void {
  try {
    closeSync(openSync(file, 'r'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new EgressError(ErrorCode.INPUT_UNREADABLE, `cannot read ${file}: ${e.code ?? e.message}`, { file });
  }
}

function nonNegative(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new EgressError(ErrorCode.USAGE, `--${name} must be a number ≥ 0, got "${value}"`);
  return n;
}
