// A real influxd (Debian's influxdb 1.6) for tests: every listener on
// 127.0.0.1 and a free port (it binds all interfaces by default, the RPC
// port too), meta/data/wal in a temporary directory, no reporting, no
// UDP/graphite/collectd/opentsdb. Stopped by PID; can be stopped and started
// again on the same ports and data (outage tests).

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './mosquitto.js';

export interface InfluxdOptions {
  /** HTTP basic auth on; an admin user is created on first start. */
  admin?: { user: string; password: string };
}

export class Influxd {
  readonly dir = mkdtempSync(join(tmpdir(), 'egress-influxd-'));
  port = 0;
  private rpcPort = 0;
  private child: ChildProcess | null = null;
  log = '';

  constructor(private readonly options: InfluxdOptions = {}) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The --influx URL for database `db`. */
  url(db: string): string {
    return `http://127.0.0.1:${this.port}/${db}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) {
      this.port = await freePort();
      this.rpcPort = await freePort();
      writeFileSync(join(this.dir, 'influxd.conf'), this.config());
    }
    const child = spawn('influxd', ['-config', join(this.dir, 'influxd.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const keep = (c: Buffer) => {
      this.log = (this.log + c.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    await this.waitReady(child);
    const admin = this.options.admin;
    if (admin) {
      // With auth on and no user yet, InfluxDB accepts exactly this one statement unauthenticated.
      const q = `CREATE USER "${admin.user}" WITH PASSWORD '${admin.password}' WITH ALL PRIVILEGES`;
      const r = await fetch(`http://127.0.0.1:${this.port}/query`, {
        method: 'POST',
        body: new URLSearchParams({ q }),
      });
      const body = await r.text();
      if (!r.ok && !/already exists/.test(body)) throw new Error(`influxd: ${body}`);
    }
  }

  /** Stop (SIGTERM by PID) and wait until it is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child === null || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }

  /** Stop and remove the data. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** One InfluxQL statement over HTTP; the `series` of the first result. */
  async query(
    db: string,
    q: string,
  ): Promise<{ name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[]> {
    const a = this.options.admin;
    // Credentials go in the URL's query (influxd does not read them from the form body).
    const auth = a ? `?${new URLSearchParams({ u: a.user, p: a.password })}` : '';
    const params = new URLSearchParams({ db, q, epoch: 'ms' });
    const r = await fetch(`http://127.0.0.1:${this.port}/query${auth}`, { method: 'POST', body: params });
    const body = (await r.json()) as { results?: { series?: never[]; error?: string }[]; error?: string };
    const first = body.results?.[0];
    if (!r.ok || body.error || first?.error) throw new Error(`influxd: ${body.error ?? first?.error ?? r.status}`);
    return first?.series ?? [];
  }

  private config(): string {
    const d = (n: string) => JSON.stringify(join(this.dir, n));
    return `reporting-disabled = true
bind-address = "127.0.0.1:${this.rpcPort}"
[meta]
  dir = ${d('meta')}
  logging-enabled = false
[data]
  dir = ${d('data')}
  wal-dir = ${d('wal')}
  query-log-enabled = false
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:${this.port}"
  auth-enabled = ${this.options.admin ? 'true' : 'false'}
  log-enabled = false
  pprof-enabled = false
[ifql]
  enabled = false
[[graphite]]
  enabled = false
[[collectd]]
  enabled = false
[[opentsdb]]
  enabled = false
[[udp]]
  enabled = false
[continuous_queries]
  log-enabled = false
  enabled = true
  run-interval = "1s"
`;
  }

  private async waitReady(child: ChildProcess): Promise<void> {
    const until = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`influxd exited with ${child.exitCode}: ${this.log}`);
      try {
        const r = await fetch(`http://127.0.0.1:${this.port}/ping`);
        if (r.status === 204) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > until) throw new Error(`influxd did not answer /ping on ${this.port}: ${this.log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
