// `egress session start|end|list`: flight sessions from the command line.
// When an agent runs on this data directory (it holds DATA_DIR/spool/lock),
// start and end go to it as MQTT commands (start_flight / end_flight) with
// the dashboard token from the data directory, as `egress tail` finds it;
// when none runs, they act on the data directory itself, and the agent
// resumes the open session when it starts (recording the gap before it).

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'mqtt';
import { EgressError, ErrorCode, ExitCode } from '../errors.js';
import { recorderContext } from '../evidence/context.js';
import {
  endSession,
  listSessions,
  type OperatorFields,
  resumeSession,
  startSession,
} from '../evidence/session-store.js';
import { dataDir, existingDashboardToken, gatewayId } from '../live/settings.js';
import { VIEWER_USER } from '../mqtt/broker.js';
import { encodeCommand } from '../mqtt/codec-control.js';
import { decodeCommandReply } from '../mqtt/codec-decode.js';
import { commandTopic, replyTopic } from '../mqtt/topics.js';
import { loadPolicy } from '../policy/load.js';
import { parseCommand } from './args.js';
import type { CliIo } from './io.js';
import { version } from './version.js';

export const SESSION_USAGE = `Usage: egress session start|end|list [options]

Open and close flight sessions (their evidence is recorded by the agent), and
list the sessions in the data directory.

  egress session start [--name NAME] [--unit U] [--drone-serial S]
                       [--controller-serial S] [--mission-ref R]
  egress session end
  egress session list [--json]

When an agent runs on the data directory, start and end are sent to it over
MQTT (--broker, default mqtt://127.0.0.1:1883; --gateway, default the host
name; the token from the data directory). Otherwise they act on the data
directory, and the agent resumes the open session when it starts.

Options:
  --data-dir DIR      the agent's data directory (default: EGRESS_DATA_DIR or ~/.local/state/egress)
  -h, --help          this help

Exit status: 0 ok, 1 failure (no agent answer, a flight already open or none open), 2 usage error.`;

const OPTIONS = {
  name: { type: 'string' },
  unit: { type: 'string' },
  'drone-serial': { type: 'string' },
  'controller-serial': { type: 'string' },
  'mission-ref': { type: 'string' },
  'data-dir': { type: 'string' },
  broker: { type: 'string' },
  gateway: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function sessionCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand(argv, OPTIONS, SESSION_USAGE);
  if (values.help) {
    io.stdout.write(`${SESSION_USAGE}\n`);
    return ExitCode.OK;
  }
  const [action, ...rest] = positionals;
  // Stryker disable next-line StringLiteral: any string not in the list is refused alike
  if (rest.length > 0 || !['start', 'end', 'list'].includes(action ?? ''))
    throw new EgressError(ErrorCode.USAGE, `session takes start, end or list\n${SESSION_USAGE}`);
  const dir = dataDir(values['data-dir'] as string | undefined);
  if (action === 'list') {
    const all = listSessions(dir);
    if (values.json) for (const s of all) io.stdout.write(`${JSON.stringify(s)}\n`);
    else
      for (const s of all) io.stdout.write(`${s.id}  ${s.state.padEnd(6)}  ${s.start}  ${s.end ?? '-'}  ${s.name}\n`);
    return ExitCode.OK;
  }
  const operator: OperatorFields = {
    unit: values.unit as string | undefined,
    drone_serial: values['drone-serial'] as string | undefined,
    controller_serial: values['controller-serial'] as string | undefined,
    mission_ref: values['mission-ref'] as string | undefined,
  };
  const pid = runningAgent(dir);
  if (pid !== null) {
    const args: Record<string, string> = { name: (values.name as string | undefined) ?? '' };
    for (const [k, v] of Object.entries(operator)) if (v !== undefined) args[k] = v;
    const verb = action === 'start' ? 'start_flight' : 'end_flight';
    const message = await sendCommand(
      dir,
      (values.broker as string | undefined) ?? 'mqtt://127.0.0.1:1883',
      gatewayId(values.gateway as string | undefined),
      verb,
      args,
    );
    io.stdout.write(`${message}\n`);
    return ExitCode.OK;
  }
  const ctx = recorderContext({
    dataDir: dir,
    gateway: gatewayId(values.gateway as string | undefined),
    version: version(),
    policy: loadPolicy({}),
    databases: {},
  });
  if (action === 'start') {
    const s = startSession(dir, ctx, (values.name as string | undefined) ?? '', operator);
    s.log.close();
    io.stdout.write(`flight ${s.meta.id} started (no agent running: it resumes this flight when it starts)\n`);
    return ExitCode.OK;
  }
  const r = resumeSession(dir, ctx, false);
  if (r === null) throw new EgressError(ErrorCode.SESSION_STATE, 'no flight is open');
  const meta = endSession(r.session, ctx, { ended_by: 'egress session end (no agent running)' });
  io.stdout.write(`flight ${meta.id} ended\n`);
  return ExitCode.OK;
}

/** The pid holding DATA_DIR/spool/lock, when that process is alive. */
function runningAgent(dir: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(join(dir, 'spool', 'lock'), 'utf8'), 10);
    if (!Number.isInteger(pid) || pid === process.pid) return null;
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

/** Publish cmd/<verb> and wait (10 s) for the agent's reply. */
function sendCommand(
  dir: string,
  url: string,
  gateway: string,
  verb: string,
  args: Record<string, string>,
): Promise<string> {
  const token = existingDashboardToken(dir) ?? '';
  const id = randomBytes(6).toString('hex');
  const client = connect(url, {
    protocolVersion: 4,
    username: VIEWER_USER,
    password: token,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
  return new Promise<string>((resolve, reject) => {
    const fail = (why: string, code = ErrorCode.BROKER_UNAVAILABLE) => {
      clearTimeout(timer);
      // Stryker disable next-line BooleanLiteral: the rejection follows at once; forcing only skips waiting for in-flight acks
      client.end(true);
      reject(new EgressError(code, why));
    };
    const timer = setTimeout(() => fail(`no answer to ${verb} from gateway ${gateway} at ${url} within 10 s`), 10_000);
    client.on('error', (err) => fail(`cannot reach the agent's broker at ${url}: ${err.message}`));
    client.on('message', (_topic, payload) => {
      const reply = decodeCommandReply(payload);
      if (reply.id !== id) return;
      clearTimeout(timer);
      // Stryker disable next-line BooleanLiteral: the reply is in hand; forcing only skips waiting for in-flight acks
      client.end(true);
      if (reply.ok) resolve(reply.message);
      else reject(new EgressError(ErrorCode.SESSION_STATE, `the agent refused ${verb}: ${reply.message}`));
    });
    client.on('connect', () => {
      // Stryker disable next-line ObjectLiteral: QoS 1 on the reply guards a lossy link; loopback in a test cannot lose it
      client.subscribe(replyTopic(gateway, verb), { qos: 1 }, () =>
        client.publish(commandTopic(gateway, verb), encodeCommand({ id, verb, token, args }), { qos: 1 }),
      );
    });
  });
}
