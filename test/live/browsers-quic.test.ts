// The hardest real clients, live, in a network namespace this test creates
// (as scripts/make-name-fixtures makes names/chromium-https, quic-chromium,
// quic-ngtcp2 and quic-silent): headless Chromium over TCP, whose
// post-quantum ClientHello spans two TCP segments; Chromium forced onto QUIC
// against ngtcp2's server, whose ClientHello spans two Initial packets;
// ngtcp2's client against ngtcp2's server; ngtcp2's client against a UDP
// port an nftables rule silences, so only Initials and their retransmissions
// go out. Each case is captured by tcpdump on the namespace's loopback (MTU
// 1500, offloads off, so packets are the size they would be on a wire), then
// judged by `egress scan` with the names policy; tshark is the independent
// oracle for how the ClientHello was split. Nothing leaves the namespace;
// every process is stopped by PID and the namespace is deleted afterwards.
// Needs root (namespaces, capture) and the Debian packages chromium,
// ngtcp2-client, ngtcp2-server and nftables (scripts/test installs them).

import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { egress, events } from '../support/cli.js';
import { FIXTURES_DIR } from '../support/fixtures.js';
import { stop } from '../support/netns.js';

const NS = `egress-quic-${process.pid}`;
const CLIENT = '10.0.0.2';
// Every name is one the policy denies (dji profile), so the verdict shows the name was used.
const TLS = { addr: '192.0.2.60', port: 443, name: 'fw-upgrade.dji.com' }; // Chromium over TCP
const CHROMIUM_QUIC = { addr: '203.0.113.61', port: 443, name: 'quic.dji.com' }; // Chromium over QUIC
const NGTCP2 = { addr: '203.0.113.60', port: 4433, name: 'quic.djicdn.com' }; // gtlsclient to gtlsserver
const SILENT = { addr: '203.0.113.62', port: 443, name: 'silent.skypixel.com' }; // gtlsclient, dropped
const POLICY = join(FIXTURES_DIR, 'names/policy.yaml');
const PAGE = 'hello from the live web server';
// binary → Debian package
const NEEDED: Record<string, string> = {
  chromium: 'chromium',
  gtlsclient: 'ngtcp2-client',
  gtlsserver: 'ngtcp2-server',
  nft: 'nftables',
  tcpdump: 'tcpdump',
  tshark: 'tshark',
  openssl: 'openssl',
  ethtool: 'ethtool',
  ss: 'iproute2',
};

const dir = mkdtempSync(join(tmpdir(), 'egress-quic-'));
const netnsEtc = `/etc/netns/${NS}`; // `ip netns exec` mounts its files over /etc inside the namespace
const started: ChildProcess[] = [];

const sh = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
const inNs = (cmd: string, args: string[]) => sh('ip', ['netns', 'exec', NS, cmd, ...args]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Start a server (or tcpdump) in the namespace; its output is kept for error messages. */
function startInNs(cmd: string, args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn('ip', ['netns', 'exec', NS, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c));
  child.stderr?.on('data', (c: Buffer) => (out += c));
  return { child, output: () => out };
}

/** Run a client in the namespace to its end (killed by PID after `ms`); its exit code and output. */
function runInNs(cmd: string, args: string[], ms: number, env: Record<string, string> = {}) {
  const { child, output } = startInNs('env', [...Object.entries(env).map(([k, v]) => `${k}=${v}`), cmd, ...args]);
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output: output() });
    });
  });
}

async function waitListen(proto: 'tcp' | 'udp', addr: string, port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (inNs('ss', [proto === 'tcp' ? '-Hltn' : '-Hlun', `sport = :${port} and src ${addr}`]).trim()) return;
    await sleep(100);
  }
  throw new Error(`nothing listens on ${proto} ${addr}:${port} in ${NS}`);
}

/** tcpdump on the namespace's loopback around `clients`; fails if the kernel dropped packets. */
async function captured(name: string, clients: () => Promise<void>): Promise<string> {
  const file = join(dir, `${name}.pcap`);
  // --immediate-mode: deliver each packet at once, or the last ones are still in the kernel
  // buffer when we stop; -Z root: Debian's tcpdump otherwise drops to a user that cannot write here.
  const args = ['-n', '-U', '--immediate-mode', '-B', '16384', '-Z', 'root', '-i', 'lo', '-w', file, 'not arp'];
  const tcpdump = startInNs('tcpdump', args);
  for (let i = 0; !/listening on/.test(tcpdump.output()); i++) {
    if (i === 100 || tcpdump.child.exitCode !== null) throw new Error(`tcpdump did not start: ${tcpdump.output()}`);
    await sleep(100);
  }
  try {
    await clients();
  } finally {
    await sleep(500); // let the last packets (a server's close) reach the file
    await stop(tcpdump.child, 'SIGINT');
  }
  expect(tcpdump.output()).toMatch(/\b0 packets dropped by kernel/);
  return file;
}

/** Headless Chromium (Debian) in the namespace, a fresh profile; loads https://NAME/ and returns the DOM. */
async function chromium(target: { addr: string; name: string }, extra: string[]): Promise<string> {
  const home = mkdtempSync(join(dir, 'chromium-'));
  const spki = readFileSync(join(dir, `${target.name}.spki`), 'utf8').trim();
  const flags = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${join(home, 'profile')}`,
    // Chromium resolves nothing itself: no DNS packet, no other destination.
    `--host-resolver-rules=MAP ${target.name} ${target.addr}, MAP * ~NOTFOUND`,
    `--ignore-certificate-errors-spki-list=${spki}`,
    ...extra,
    '--dump-dom',
    `https://${target.name}/`,
  ];
  const r = await runInNs('timeout', ['45', 'chromium', ...flags], 60_000, { HOME: home });
  expect(r.code, r.output).toBe(0);
  return r.output;
}

/** tshark's fields for the packets matching `filter`, one row per packet (repeated fields joined by ','). */
function tshark(file: string, filter: string, fields: string[]): string[][] {
  const args = ['-n', '-r', file, '-Y', filter, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,'];
  const r = spawnSync('tshark', [...args, ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`tshark (the oracle) failed: ${r.error?.message ?? r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

/** tshark's frame.time_epoch as egress writes timestamps (microseconds, UTC). */
function iso(epoch: string): string {
  const [s, frac = ''] = epoch.split('.');
  return `${new Date(Number(s) * 1000).toISOString().slice(0, 19)}.${frac.padEnd(6, '0').slice(0, 6)}Z`;
}

function scan(file: string): Record<string, any>[] {
  const r = egress(['scan', file, '--policy', POLICY, '--format', 'ndjson']);
  expect(r.code, r.stderr).toBe(0);
  return events(r.stdout);
}

/** A self-signed P-256 certificate for NAME, and its key hash for Chromium's SPKI list. */
function certificate(name: string): void {
  const base = join(dir, name);
  sh('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '1',
    '-subj',
    `/CN=${name}`,
    '-addext',
    `subjectAltName=DNS:${name}`,
    '-keyout',
    `${base}.key`,
    '-out',
    `${base}.pem`,
  ]);
  const der = execFileSync('openssl', ['x509', '-in', `${base}.pem`, '-pubkey', '-noout']);
  const spki = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: der });
  const hash = execFileSync('openssl', ['dgst', '-sha256', '-binary'], { input: spki });
  writeFileSync(`${base}.spki`, hash.toString('base64'));
}

beforeAll(async () => {
  if (process.getuid?.() !== 0)
    throw new Error('this test needs root: it creates a network namespace and captures on it');
  const missing = Object.keys(NEEDED).filter((bin) => spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0);
  if (missing.length > 0)
    throw new Error(
      `missing ${missing.join(', ')}: apt-get install ${[...new Set(missing.map((b) => NEEDED[b]))].join(' ')} (scripts/test installs them)`,
    );
  sh('ip', ['netns', 'add', NS]);
  inNs('ip', ['link', 'set', 'lo', 'mtu', '1500', 'up']);
  inNs('ethtool', ['-K', 'lo', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
  inNs('ip', ['addr', 'add', `${CLIENT}/32`, 'dev', 'lo']);
  for (const { addr } of [TLS, CHROMIUM_QUIC, NGTCP2, SILENT]) {
    inNs('ip', ['addr', 'add', `${addr}/32`, 'dev', 'lo']);
    // Chromium and gtlsclient cannot choose their source address: the kernel picks the
    // preferred source of the route to the server, so make that the controller's.
    const route = ['route', 'replace', 'local', addr, 'dev', 'lo', 'table', 'local'];
    inNs('ip', [...route, 'proto', 'kernel', 'scope', 'host', 'src', CLIENT]);
  }
  // gtlsclient sends the name it resolves as SNI (given an address it sends none of ours).
  mkdirSync(netnsEtc, { recursive: true });
  writeFileSync(
    join(netnsEtc, 'hosts'),
    `127.0.0.1 localhost\n${NGTCP2.addr} ${NGTCP2.name}\n${SILENT.addr} ${SILENT.name}\n`,
  );
  const www = join(dir, 'www');
  mkdirSync(www);
  writeFileSync(join(www, 'index.html'), `<!doctype html><title>egress live</title><p>${PAGE}</p>\n`);
  for (const { name } of [TLS, CHROMIUM_QUIC, NGTCP2]) certificate(name);
  const key = (name: string) => join(dir, `${name}.key`);
  const pem = (name: string) => join(dir, `${name}.pem`);
  const accept = `${TLS.addr}:${TLS.port}`;
  startInNs('openssl', ['s_server', '-accept', accept, '-cert', pem(TLS.name), '-key', key(TLS.name), '-www']);
  for (const s of [CHROMIUM_QUIC, NGTCP2]) {
    const args = [`--htdocs=${www}`, s.addr, String(s.port), key(s.name), pem(s.name)];
    startInNs('gtlsserver', ['-q', ...args]);
  }
  // A firewall that drops QUIC to SILENT without an ICMP error.
  inNs('nft', ['add', 'table', 'inet', 'egress_silent']);
  inNs('nft', ['add', 'chain', 'inet', 'egress_silent', 'input', '{ type filter hook input priority 0; }']);
  const drop = ['ip', 'daddr', SILENT.addr, 'udp', 'dport', String(SILENT.port), 'drop'];
  inNs('nft', ['add', 'rule', 'inet', 'egress_silent', 'input', ...drop]);
  await waitListen('tcp', TLS.addr, TLS.port);
  await waitListen('udp', CHROMIUM_QUIC.addr, CHROMIUM_QUIC.port);
  await waitListen('udp', NGTCP2.addr, NGTCP2.port);
}, 60_000);

afterAll(async () => {
  for (const child of started.reverse()) await stop(child);
  try {
    // anything a client left behind in the namespace (it started there, so it is ours)
    for (const pid of sh('ip', ['netns', 'pids', NS]).split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    sh('ip', ['netns', 'del', NS]);
  } catch {
    // already gone
  }
  rmSync(netnsEtc, { recursive: true, force: true });
  try {
    rmdirSync('/etc/netns'); // only if nothing else is in it
  } catch {
    // not empty, or gone
  }
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

const flowsTo = (ev: Record<string, any>[], t: { addr: string; port: number }, proto: string) =>
  ev.filter((e) => e.event_type === 'flow' && e.dest_ip === t.addr && e.dest_port === t.port && e.proto === proto);
const denied = { verdict: 'high', reasons: ['deny_domain'] };

describe('live: headless Chromium over TCP, a ClientHello in two segments', () => {
  let file = '';
  beforeAll(async () => {
    file = await captured('chromium-tls', async () => {
      expect(await chromium(TLS, [])).toContain('s_server'); // openssl s_server -www's status page
    });
  }, 90_000);

  it('sends a post-quantum ClientHello that tshark reassembles from 2+ TCP segments', () => {
    const fields = ['tcp.srcport', 'tls.handshake.extensions_server_name', 'tcp.segment.count'];
    const hellos = tshark(file, 'tls.handshake.type == 1', [...fields, 'tls.handshake.extensions_key_share_group']);
    expect(hellos.length).toBeGreaterThan(0);
    for (const [, sni, segments, groups] of hellos) {
      expect(sni).toBe(TLS.name);
      expect(Number(segments), 'TCP segments of the ClientHello').toBeGreaterThanOrEqual(2);
      expect(groups?.split(','), 'key share groups').toContain('4588'); // X25519MLKEM768
    }
  });

  it('names every connection from the reassembled SNI and denies it at the ClientHello', () => {
    const ev = scan(file);
    const hellos = tshark(file, 'tls.handshake.type == 1', ['tcp.srcport', 'frame.time_epoch']);
    const flows = flowsTo(ev, TLS, 'TCP');
    expect(flows.map((f) => f.src_port).sort()).toEqual(hellos.map(([port]) => Number(port)).sort());
    for (const f of flows) {
      expect(f).toMatchObject({ src_ip: CLIENT, app_proto: 'tls', ...denied });
      expect(f.dest.names).toEqual([TLS.name]);
      const tls = ev.filter((e) => e.event_type === 'tls' && e.flow_id === f.flow_id);
      expect(tls.map((e) => e.tls.sni)).toEqual([TLS.name]);
      // decided at the segment that completes the ClientHello, where tshark shows it
      const completed = iso(hellos.find(([port]) => Number(port) === f.src_port)![1]!);
      expect(tls[0].timestamp).toBe(completed);
      const alerts = ev.filter((e) => e.event_type === 'alert' && e.flow_id === f.flow_id);
      expect(alerts.map((a) => [a.timestamp, a.alert.severity, a.alert.reasons])).toEqual([
        [completed, 'high', ['deny_domain']],
      ]);
    }
  });
});

describe('live: Chromium forced onto QUIC against ngtcp2, a ClientHello in two Initials', () => {
  let file = '';
  beforeAll(async () => {
    file = await captured('chromium-quic', async () => {
      const page = await chromium(CHROMIUM_QUIC, [`--origin-to-force-quic-on=${CHROMIUM_QUIC.name}:443`]);
      expect(page).toContain(PAGE); // served by gtlsserver over HTTP/3
    });
  }, 90_000);

  it('spreads the ClientHello over 2+ client Initials before the server answers (tshark)', () => {
    expect(tshark(file, 'tcp', ['frame.number']), 'TCP packets').toEqual([]);
    const fields = ['ip.src', 'quic.long.packet_type', 'quic.frame_type', 'tls.handshake.extensions_server_name'];
    const packets = tshark(file, 'quic', [...fields, 'quic.crypto.fragment.count', 'frame.time_epoch']);
    const firstAnswer = packets.findIndex(([src]) => src === CHROMIUM_QUIC.addr);
    expect(firstAnswer, 'a packet from the server').toBeGreaterThan(0);
    const initials = packets
      .slice(0, firstAnswer)
      .filter(([src, types]) => src === CLIENT && types?.split(',').includes('0'))
      .filter(([, , frames]) => frames?.split(',').includes('6')); // CRYPTO
    expect(initials.length, 'client Initials with CRYPTO frames').toBeGreaterThanOrEqual(2);
    expect(initials[0]![3], 'SNI readable from the first Initial alone').toBe('');
    const complete = initials.findIndex(([, , , sni]) => sni === CHROMIUM_QUIC.name);
    expect(complete, 'the Initial that completes the ClientHello').toBeGreaterThanOrEqual(1);
    expect(Number(initials[complete]![4]), 'CRYPTO frames reassembled').toBeGreaterThanOrEqual(2);
  });

  it('names the QUIC flow from the reassembled SNI and denies it at that Initial', () => {
    const ev = scan(file);
    const fields = ['tls.handshake.extensions_server_name', 'frame.time_epoch'];
    const [[, completedAt]] = tshark(file, 'quic && tls.handshake.type == 1', fields) as [string[]];
    const flows = flowsTo(ev, CHROMIUM_QUIC, 'UDP');
    expect(flows).toHaveLength(1);
    const flow = flows[0]!;
    expect(flow).toMatchObject({ src_ip: CLIENT, app_proto: 'quic', ...denied });
    expect(flow.dest.names).toEqual([CHROMIUM_QUIC.name]);
    const quic = ev.filter((e) => e.event_type === 'quic' && e.flow_id === flow.flow_id);
    expect(quic.map((e) => [e.timestamp, e.quic.sni, e.quic.version])).toEqual([
      [iso(completedAt!), CHROMIUM_QUIC.name, '0x00000001'],
    ]);
    const alerts = ev.filter((e) => e.event_type === 'alert' && e.flow_id === flow.flow_id);
    expect(alerts.map((a) => [a.timestamp, a.alert.reasons])).toEqual([[iso(completedAt!), ['deny_domain']]]);
    expect(ev.filter((e) => e.event_type === 'flow' && e.proto === 'TCP')).toEqual([]);
  });
});

describe('live: ngtcp2 client against ngtcp2 server', () => {
  let file = '';
  beforeAll(async () => {
    file = await captured('ngtcp2', async () => {
      const url = `https://${NGTCP2.name}:${NGTCP2.port}/`;
      const args = ['20', 'gtlsclient', '-q', '--exit-on-all-streams-close', NGTCP2.name, String(NGTCP2.port), url];
      const r = await runInNs('timeout', args, 30_000);
      expect(r.code, r.output).toBe(0);
    });
  }, 60_000);

  it('names and denies the QUIC flow from the SNI in its first Initial', () => {
    const fields = ['ip.src', 'quic.packet_number', 'tls.handshake.extensions_server_name', 'frame.time_epoch'];
    const hellos = tshark(file, 'quic && tls.handshake.type == 1', fields);
    expect(hellos.map((h) => h.slice(0, 3))).toEqual([[CLIENT, '0', NGTCP2.name]]); // whole in Initial 0
    const ev = scan(file);
    const flows = flowsTo(ev, NGTCP2, 'UDP');
    expect(flows).toHaveLength(1);
    expect(flows[0]).toMatchObject({ src_ip: CLIENT, app_proto: 'quic', ...denied });
    expect(flows[0]!.dest.names).toEqual([NGTCP2.name]);
    expect(flows[0]!.pkts_toclient).toBeGreaterThan(0); // the handshake went through
    const quic = ev.filter((e) => e.event_type === 'quic');
    expect(quic.map((e) => [e.timestamp, e.quic.sni, e.quic.alpn])).toEqual([
      [iso(hellos[0]![3]!), NGTCP2.name, ['h3']],
    ]);
  });
});

describe('live: ngtcp2 client against a silent UDP port', () => {
  let file = '';
  beforeAll(async () => {
    file = await captured('silent', async () => {
      const url = `https://${SILENT.name}/`;
      const timeouts = ['--handshake-timeout=4s', '--timeout=4s'];
      const args = ['20', 'gtlsclient', '-q', ...timeouts, SILENT.name, String(SILENT.port), url];
      const r = await runInNs('timeout', args, 30_000);
      expect([0, 1], r.output).toContain(r.code); // gives up after the handshake timeout
    });
  }, 60_000);

  it('sees only client Initials (tshark): the first and its retransmissions', () => {
    const packets = tshark(file, 'frame', ['ip.src', 'ip.dst', 'quic.long.packet_type', 'quic.packet_number']);
    expect(packets.length).toBeGreaterThanOrEqual(2);
    for (const [src, dst, type] of packets) expect([src, dst, type]).toEqual([CLIENT, SILENT.addr, '0']);
  });

  it('names and judges the unanswered flow once, from its first Initial', () => {
    const packets = tshark(file, 'frame', ['frame.number']).length;
    const ev = scan(file);
    const flows = flowsTo(ev, SILENT, 'UDP');
    expect(flows).toHaveLength(1); // retransmissions do not split the flow
    const flow = flows[0]!;
    expect(flow).toMatchObject({ app_proto: 'quic', pkts_toserver: packets, pkts_toclient: 0, ...denied });
    expect(flow.dest.names).toEqual([SILENT.name]);
    const quic = ev.filter((e) => e.event_type === 'quic');
    expect(quic.map((e) => [e.timestamp, e.quic.sni])).toEqual([[flow.start, SILENT.name]]); // counted once
    const alerts = ev.filter((e) => e.event_type === 'alert');
    expect(alerts.map((a) => [a.timestamp, a.alert.severity])).toEqual([[flow.start, 'high']]);
    expect(ev.at(-1)).toMatchObject({ event_type: 'stats', names: { quic: 1, unnamed: 0 } });
  });
});
