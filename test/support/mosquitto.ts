// A real mosquitto (Debian package) for tests: a plain listener on
// 127.0.0.1 and, optionally, a TLS listener with a CA made here, a password
// file and an ACL. Free ports; stopped by PID; can be stopped and started
// again on the same ports (broker outage tests).

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface MosquittoOptions {
  /** username → password; when given, anonymous access is off. */
  users?: Record<string, string>;
  /** ACL file body (mosquitto acl_file syntax). */
  acl?: string;
  /** Also listen with TLS (server cert signed by a CA made here; clients may present certs signed by it). */
  tls?: boolean;
  /** Keep sessions and queued messages across a stop and start (persistence file in its directory). */
  persistent?: boolean;
  /** Queue QoS 0 messages for a subscriber with a kept session while it is away (mosquitto: queue_qos0_messages). */
  queueQos0?: boolean;
  /** Log every packet (log_type all) into `log`: what the broker sent and which acknowledgements it took. */
  logPackets?: boolean;
}

export interface TlsMaterial {
  ca: string;
  clientCert: string;
  clientKey: string;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export class Mosquitto {
  readonly dir = mkdtempSync(join(tmpdir(), 'egress-mosquitto-'));
  port = 0;
  tlsPort = 0;
  tlsMaterial: TlsMaterial | null = null;
  private child: ChildProcess | null = null;
  log = '';

  constructor(private readonly options: MosquittoOptions = {}) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get tlsUrl(): string {
    return `mqtts://127.0.0.1:${this.tlsPort}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) await this.configure();
    const child = spawn('mosquitto', ['-c', join(this.dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout?.on('data', (c: Buffer) => {
      this.log += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      this.log += c.toString();
    });
    await waitForPort(this.port, child, () => this.log);
  }

  /** Stop (SIGTERM by PID) and wait until it is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child === null || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGCONT'); // a paused broker would not act on SIGTERM
      child.kill('SIGTERM');
    });
  }

  /** Kill the broker (SIGKILL by PID, even when paused): it answers nothing more, its sockets close. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child === null || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** Freeze the broker (SIGSTOP by PID): connections stay open, nothing is read or answered (no PUBACK). */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  /** Let a paused broker run again (SIGCONT by PID). */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  private async configure(): Promise<void> {
    this.port = await freePort();
    const conf = [
      ...(this.options.persistent ? ['persistence true', `persistence_location ${this.dir}/`] : ['persistence false']),
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      ...(this.options.logPackets ? ['log_type all'] : []),
      `per_listener_settings false`,
      // mosquitto's default (1000) drops QoS 1 messages queued for a slow subscriber; a dashboard must get every alert.
      'max_queued_messages 1000000',
      ...(this.options.queueQos0 ? ['queue_qos0_messages true'] : []),
      `listener ${this.port} 127.0.0.1`,
    ];
    if (this.options.tls) {
      this.tlsPort = await freePort();
      this.tlsMaterial = makeCa(this.dir);
      conf.push(
        `listener ${this.tlsPort} 127.0.0.1`,
        `cafile ${this.tlsMaterial.ca}`,
        `certfile ${join(this.dir, 'server.pem')}`,
        `keyfile ${join(this.dir, 'server.key')}`,
        'require_certificate false',
      );
    }
    if (this.options.users) {
      const pw = join(this.dir, 'passwd');
      writeFileSync(pw, '');
      for (const [user, pass] of Object.entries(this.options.users))
        execFileSync('mosquitto_passwd', ['-b', pw, user, pass]);
      conf.push('allow_anonymous false', `password_file ${pw}`);
    } else {
      conf.push('allow_anonymous true');
    }
    if (this.options.acl) {
      const acl = join(this.dir, 'acl');
      writeFileSync(acl, this.options.acl);
      conf.push(`acl_file ${acl}`);
    }
    writeFileSync(join(this.dir, 'mosquitto.conf'), `${conf.join('\n')}\n`);
    // Started as root, mosquitto runs as its own user: it must read its files and write persistence here.
    if (process.getuid?.() === 0) {
      const ids = mosquittoUser();
      if (ids)
        for (const f of [this.dir, ...readdirSync(this.dir).map((n) => join(this.dir, n))])
          chownSync(f, ids.uid, ids.gid);
    }
  }
}

function mosquittoUser(): { uid: number; gid: number } | null {
  try {
    const uid = Number(execFileSync('id', ['-u', 'mosquitto'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'mosquitto'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return null;
  }
}

function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const until = Date.now() + 10_000;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) {
        reject(new Error(`mosquitto exited with ${child.exitCode}: ${log()}`));
        return;
      }
      const s = tcpConnect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > until) reject(new Error(`mosquitto did not listen on ${port}: ${log()}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
function makeCa(dir: string): TlsMaterial {
  const f = (n: string) => join(dir, n);
  const ossl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ossl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=egress test CA'].concat([
      '-keyout',
      f('ca.key'),
      '-out',
      f('ca.pem'),
    ]),
  );
  writeFileSync(f('san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  for (const [name, cn] of [
    ['server', '127.0.0.1'],
    ['client', 'egress-agent'],
  ]) {
    ossl([
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.csr`),
    ]);
    ossl(
      [
        'x509',
        '-req',
        '-in',
        f(`${name}.csr`),
        '-CA',
        f('ca.pem'),
        '-CAkey',
        f('ca.key'),
        '-CAcreateserial',
        '-days',
        '1',
      ]
        .concat(['-out', f(`${name}.pem`)])
        .concat(name === 'server' ? ['-extfile', f('san.cnf')] : []),
    );
  }
  return { ca: f('ca.pem'), clientCert: f('client.pem'), clientKey: f('client.key') };
}
