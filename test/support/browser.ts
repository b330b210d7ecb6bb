// The dashboard in a real browser: Debian's Chromium driven by
// playwright-core (headless, no sandbox as root, nothing fetched), and the
// real agent (`egress replay` of the demo flight) on free ports.

import { type ChildProcess, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { ROOT, spawnEgress } from './cli.js';

export const CHROMIUM = '/usr/bin/chromium';
export const DEMO_CAPTURE = join(ROOT, 'scripts/demo-data/flight.pcap');
export const DEMO_POLICY = join(ROOT, 'scripts/demo-data/policy.yaml');
/** Screenshots for people to look at (gitignored). */
export const ARTIFACTS = join(ROOT, 'artifacts/browser');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** dashboard/dist, built when missing or older than a source file (CI builds it with `pnpm build`). */
export function ensureDashboardBuilt(): void {
  const built = join(ROOT, 'dashboard/dist/index.html');
  const src = join(ROOT, 'dashboard/src');
  const newest = Math.max(...readdirSync(src).map((f) => statSync(join(src, f)).mtimeMs));
  if (existsSync(built) && statSync(built).mtimeMs > newest) return;
  execFileSync('pnpm', ['--filter', '@egress/dashboard', 'build'], { cwd: ROOT, stdio: 'inherit', timeout: 300_000 });
}

export function artifactsDir(): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return ARTIFACTS;
}

/** A port nothing listens on right now (the agent is restarted on it in the reconnect test). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RunningAgent {
  proc: ChildProcess;
  /** The address the agent printed: http://127.0.0.1:PORT/?token=T */
  url: string;
  origin: string;
  token: string;
  log: () => string;
  stop: () => Promise<void>;
}

/** `egress replay` of the demo flight in a loop on HTTP port `httpPort`, data in `dataDir`. */
export async function startReplayAgent(
  dataDir: string,
  httpPort: number,
  speed = '4',
  extra: string[] = [],
): Promise<RunningAgent> {
  const proc = spawnEgress(
    [
      'replay',
      DEMO_CAPTURE,
      '--policy',
      DEMO_POLICY,
      '--speed',
      speed,
      '--loop',
      '--gateway',
      'demo',
      '--data-dir',
      dataDir,
      '--mqtt-port',
      '0',
      '--http',
      `127.0.0.1:${httpPort}`,
      '--stats-interval',
      '1',
      '--quiet',
      ...extra,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  proc.stderr?.on('data', (c: Buffer) => {
    log += c.toString();
  });
  const end = Date.now() + 20_000;
  const printed = () => /dashboard: (http:\/\/\S+)/.exec(log);
  while (printed() === null && Date.now() < end && proc.exitCode === null) await new Promise((r) => setTimeout(r, 50));
  const m = printed();
  if (m === null) {
    proc.kill('SIGKILL');
    throw new Error(`the agent did not start:\n${log}`);
  }
  const url = m[1];
  const u = new URL(url);
  return {
    proc,
    url,
    origin: u.origin,
    token: u.searchParams.get('token') ?? '',
    log: () => log,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(t);
    },
  };
}
