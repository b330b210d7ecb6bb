// Capture checks: the interface exists and is up (`ip -j link`, iproute2),
// tcpdump is there and may capture (a file capability, or CAP_NET_RAW held by
// this process — the systemd unit gives it as an ambient capability), and a
// real tcpdump on the interface sees a packet within the wait. tcpdump's own
// words are classified by the live capture's stderr parser (one set of rules).

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode } from '../errors.js';
import { parseStderrLine } from '../live/tcpdump-stderr.js';
import { fix } from './fixes.js';
import { seen } from './seen.js';
import { type CheckResult, type Runner, result } from './types.js';

/** Linux capability number of CAP_NET_RAW (include/uapi/linux/capability.h). */
const CAP_NET_RAW = 13;

export async function checkInterface(run: Runner, iface: string | undefined): Promise<CheckResult> {
  if (iface === undefined)
    return result('interface', 'fail', seen('interface_not_given', {}), fix('interface_not_given', {}));
  const r = await run('ip', ['-j', 'link', 'show', 'dev', iface], 5000);
  if (r.error === 'ENOENT') return result('interface', 'warn', seen('ip_missing', {}), fix('iproute2_missing', {}));
  if (r.code !== 0)
    return result(
      'interface',
      'fail',
      seen('interface_missing', { interface: iface }),
      fix('interface_missing', { interface: iface }),
      { interface: iface },
    );
  const [link] = JSON.parse(r.stdout) as Array<{ flags?: string[]; operstate?: string }>;
  const flags = link?.flags ?? [];
  const facts = { interface: iface, operstate: link?.operstate ?? null, flags };
  if (!flags.includes('UP'))
    return result(
      'interface',
      'fail',
      seen('interface_down', { interface: iface }),
      fix('interface_down', { interface: iface }),
      facts,
    );
  if (!flags.includes('LOWER_UP'))
    return result(
      'interface',
      'warn',
      seen('interface_no_carrier', { interface: iface }),
      fix('interface_no_carrier', { interface: iface }),
      facts,
    );
  return result('interface', 'pass', `interface ${iface} is up`, null, facts);
}

/** The first PATH entry holding `cmd` (what the shell's `command -v` says). */
export function onPath(cmd: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(':')) {
    if (dir !== '' && existsSync(join(dir, cmd))) return join(dir, cmd);
  }
  return null;
}

/** Effective capabilities of this process, from /proc/self/status (CapEff). */
export function processCapabilities(status = () => readFileSync('/proc/self/status', 'utf8')): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status());
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

export async function checkTcpdump(
  run: Runner,
  tcpdump: string,
  caps: bigint = processCapabilities(),
): Promise<CheckResult> {
  const v = await run(tcpdump, ['--version'], 5000);
  if (v.error === 'ENOENT' || v.code === null)
    return result('tcpdump', 'fail', seen('tcpdump_not_installed', { tcpdump }), fix('tcpdump_missing', { tcpdump }), {
      tcpdump,
    });
  const version = /tcpdump version (\S+)/.exec(v.stdout + v.stderr)?.[1] ?? null;
  const path = tcpdump.includes('/') ? tcpdump : (onPath(tcpdump) ?? tcpdump);
  const getcap = await run('getcap', [path], 5000);
  const fileCaps = getcap.code === 0 ? getcap.stdout.trim() : '';
  const facts = {
    tcpdump: path,
    version,
    file_capabilities: fileCaps || null,
    process_has_cap_net_raw: ((caps >> BigInt(CAP_NET_RAW)) & 1n) === 1n,
  };
  if (/cap_net_raw/.test(fileCaps))
    return result('tcpdump', 'pass', `tcpdump ${version} at ${path} holds cap_net_raw`, null, facts);
  if (facts.process_has_cap_net_raw)
    return result(
      'tcpdump',
      'pass',
      `tcpdump ${version} at ${path}; this process holds CAP_NET_RAW and passes it on`,
      null,
      facts,
    );
  return result(
    'tcpdump',
    'fail',
    seen('tcpdump_no_capability', { version: String(version), tcpdump: path }),
    fix('tcpdump_no_capability', { tcpdump: path }),
    facts,
  );
}

/** Run tcpdump on the interface until its first packet or `waitMs`; permission and missing-device failures are reported. */
export function checkCapture(
  tcpdump: string,
  iface: string | undefined,
  waitMs: number,
  now: () => number = Date.now,
): Promise<CheckResult> {
  if (iface === undefined) return Promise.resolve(result('capture', 'skip', 'no interface given', null));
  return new Promise((resolve) => {
    const started = now();
    const child = spawn(tcpdump, ['-i', iface, '-n', '-l', '-q', '-c', '1', '-s', '96'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let done = false;
    const finish = (r: CheckResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      resolve(r);
    };
    const timer = setTimeout(
      () =>
        finish(
          result(
            'capture',
            'warn',
            seen(/listening on/.test(stderr) ? 'capture_no_packet' : 'capture_not_listening', {
              interface: iface,
              wait_s: waitMs / 1000,
            }),
            fix('capture_no_packet', { interface: iface, wait_s: waitMs / 1000 }),
            { interface: iface, wait_ms: waitMs, listening: /listening on/.test(stderr) },
          ),
        ),
      waitMs,
    );
    child.stdout.on('data', () =>
      finish(
        result('capture', 'pass', `first packet on ${iface} after ${now() - started} ms`, null, {
          interface: iface,
          first_packet_ms: now() - started,
        }),
      ),
    );
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    child.on('error', () =>
      finish(result('capture', 'fail', seen('tcpdump_not_started', { tcpdump }), fix('tcpdump_missing', { tcpdump }))),
    );
    child.on('close', () => {
      if (done) return;
      for (const line of stderr.split('\n')) {
        const fact = parseStderrLine(line);
        if (fact?.kind !== 'error') continue;
        if (fact.code === ErrorCode.CAPTURE_PERMISSION)
          return finish(
            result(
              'capture',
              'fail',
              seen('capture_no_permission', { interface: iface }),
              fix('capture_no_permission', { interface: iface }),
              { code: fact.code, tcpdump_said: fact.line },
            ),
          );
        if (fact.code === ErrorCode.CAPTURE_NO_INTERFACE)
          return finish(
            result(
              'capture',
              'fail',
              seen('capture_no_interface', { interface: iface }),
              fix('capture_no_interface', { interface: iface }),
              { code: fact.code, tcpdump_said: fact.line },
            ),
          );
        return finish(
          result(
            'capture',
            'fail',
            seen('capture_tcpdump_failed', { said: fact.line }),
            fix('capture_tcpdump_error', { interface: iface, said: fact.line }),
            {
              code: fact.code,
              tcpdump_said: fact.line,
            },
          ),
        );
      }
      finish(
        result('capture', 'fail', seen('capture_ended', {}), fix('capture_ended', { interface: iface }), { stderr }),
      );
    });
  });
}
