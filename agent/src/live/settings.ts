// Where the live agent keeps its state, and who it is: the data directory
// (spool, tokens; later sessions and keys), the gateway id in every MQTT
// topic, and the secrets of the embedded broker. Secrets are made on first
// start, kept in the data directory with mode 0600 (the directory 0700, both
// enforced on every start: secret-files.ts), and the dashboard token can be
// set from the environment instead (then it must be strong, and it is not stored).

import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { EgressError, ErrorCode } from '../errors.js';
import { checkGatewayId } from '../mqtt/topics.js';
import { checkTokenStrength, DATA_DIR_MODE, enforceMode, SECRET_FILE_MODE } from './secret-files.js';

export interface Secrets {
  /** Password of the agent's own MQTT connection to the embedded broker. */
  agent: string;
  /** Dashboard token: MQTT password of viewers and the token inside every command. */
  dashboard: string;
  /** Where the dashboard token came from (the start-up line says so truthfully). */
  dashboardFrom?: 'environment' | 'file';
}

/** `--data-dir`, else EGRESS_DATA_DIR, else ~/.local/state/egress. */
export function dataDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.EGRESS_DATA_DIR ?? join(env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'egress');
}

export function ensureDir(dir: string): string {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new EgressError(ErrorCode.USAGE, `cannot create the data directory ${dir}: ${(err as Error).message}`);
  }
  enforceMode(dir, DATA_DIR_MODE, 'the data directory');
  return dir;
}

/** `--gateway`, else the host name; it must be usable as an MQTT topic level. */
export function gatewayId(flag: string | undefined): string {
  return checkGatewayId(flag ?? hostname().split('.')[0]);
}

/** The secrets in DIR/secrets.json, made on first use; EGRESS_DASHBOARD_TOKEN overrides the dashboard token. */
export function loadSecrets(dir: string, env: NodeJS.ProcessEnv = process.env): Secrets & { created: boolean } {
  const file = join(dir, 'secrets.json');
  let secrets: Secrets;
  let created = false;
  if (existsSync(file)) {
    enforceMode(file, SECRET_FILE_MODE, 'the secrets file');
    try {
      secrets = JSON.parse(readFileSync(file, 'utf8')) as Secrets;
      if (typeof secrets.agent !== 'string' || typeof secrets.dashboard !== 'string') throw new Error('fields missing');
    } catch (err) {
      throw new EgressError(
        ErrorCode.USAGE,
        `${file} is not valid (${(err as Error).message}); remove it to make new secrets`,
      );
    }
  } else {
    secrets = { agent: token(), dashboard: token() };
    writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    created = true;
  }
  if (!env.EGRESS_DASHBOARD_TOKEN) return { ...secrets, created, dashboardFrom: 'file' };
  secrets.dashboard = checkTokenStrength(env.EGRESS_DASHBOARD_TOKEN, 'EGRESS_DASHBOARD_TOKEN');
  return { ...secrets, created, dashboardFrom: 'environment' };
}

/** The dashboard token already in DIR, without making one: EGRESS_DASHBOARD_TOKEN, else DIR/secrets.json, else undefined. */
export function existingDashboardToken(dir: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.EGRESS_DASHBOARD_TOKEN) return env.EGRESS_DASHBOARD_TOKEN;
  try {
    const s = JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8')) as Partial<Secrets>;
    return typeof s.dashboard === 'string' ? s.dashboard : undefined;
  } catch {
    return undefined;
  }
}

function token(): string {
  return randomBytes(18).toString('base64url');
}

/** `HOST:PORT` (IPv6 in brackets) → parts; PORT 0 picks a free port. */
export function hostPort(name: string, value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) throw new EgressError(ErrorCode.USAGE, `--${name} must be HOST:PORT, got "${value}"`);
  return { host: m[1] ?? m[2], port };
}
