// The three namespaces of the end-to-end gateway tests (test/live/gateway-e2e.test.ts):
// `controller` (192.168.42.10, as the access point's DHCP would give) →
// `gateway` (interfaces named as on the Pi: wlan0 towards the controller,
// eth0 towards the uplink; forwarding on, and the nftables ruleset that
// `hardware/install.sh --mode ap --dry-run` renders, applied as is) →
// `internet` (servers on documentation addresses, dnsmasq as resolver; no
// route back to 192.168.42.0/24, so replies only come back through the
// gateway's NAT). Servers: HTTP on two addresses, TLS (openssl s_server) and
// QUIC (ngtcp2's gtlsserver) with self-signed certificates.
//
// Bridge mode instead: the gateway's eth1 (controller side) and eth0
// (uplink) are ports of br0 with the rendered bridge ruleset; the controller
// (192.0.2.10) is on the uplink's network and routes through the internet
// side's router (192.0.2.2). No NAT: the servers see the controller.

import { type ChildProcess, execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { selfSignedCertificate } from './certificate.js';
import { ROOT } from './cli.js';
import { inNs, spawnInNs, startDnsmasq, startInNs, waitListen } from './netns.js';

export const CONTROLLER = '192.168.42.10';
/** The controller in bridge mode: on the uplink's own network. */
export const BRIDGED_CONTROLLER = '192.0.2.10';
export const LAN_ADDR = '192.168.42.1';
export const WAN_ADDR = '192.0.2.1';
export const UPSTREAM = '192.0.2.2';
export const RESOLVER = '198.51.100.53';
export const CN_SERVER = '203.0.113.10';
export const NL_SERVER = '198.51.100.80';
export const DNS_NAME = 'flysafe-api.dji.com';
/** TLS on the Dutch server, named by SNI only: denied by its name, not its address. */
export const TLS = { addr: NL_SERVER, port: 443, name: 'tls.dji.com' };
/** QUIC on a second Dutch address, named by SNI only. */
export const QUIC = { addr: '198.51.100.81', port: 4433, name: 'quic.dji.com' };

export interface GatewayNet {
  mode: 'ap' | 'bridge';
  /** The controller's address, and the interface the agent captures in the gateway namespace. */
  controller: string;
  captureIf: string;
  ctl: string;
  gw: string;
  net: string;
  /** What the HTTP servers logged (client addresses). */
  httpLog: () => string;
}

const ip = (...args: string[]) => execFileSync('ip', args);

export async function setupGatewayNet(
  started: ChildProcess[],
  dir: string,
  tag: string,
  mode: 'ap' | 'bridge' = 'ap',
  /** More install.sh options for the rendered ruleset (e.g. --block --fail-closed). */
  installArgs: string[] = [],
): Promise<GatewayNet> {
  const n = { ctl: `egress-e2c-${tag}`, gw: `egress-e2g-${tag}`, net: `egress-e2i-${tag}` };
  for (const ns of [n.ctl, n.gw, n.net]) {
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
  if (mode === 'bridge') bridgeLinks(n);
  else apLinks(n);
  for (const a of [RESOLVER, CN_SERVER, NL_SERVER, QUIC.addr]) ip('-n', n.net, 'addr', 'add', `${a}/32`, 'dev', 'lo');

  // The ruleset install.sh renders for this mode, applied in the gateway namespace only.
  const out = join(dir, 'rendered');
  const install = [join(ROOT, 'hardware/install.sh'), '--mode', mode, '--dry-run', '--out', out, ...installArgs];
  const r = spawnSync('bash', install, {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`install.sh: ${r.stderr}`);
  inNs(n.gw, 'nft', ['-f', join(out, 'etc/nftables.conf')]);
  const servers = await startServers(started, dir, n);
  const controller = mode === 'bridge' ? BRIDGED_CONTROLLER : CONTROLLER;
  return { mode, controller, captureIf: mode === 'bridge' ? 'eth1' : 'wlan0', ...n, ...servers };
}

/** controller ↔ gateway (wlan0), gateway (eth0) ↔ internet; the gateway routes and NATs. */
function apLinks(n: { ctl: string; gw: string; net: string }): void {
  ip('-n', n.ctl, 'link', 'add', 'ctl0', 'type', 'veth', 'peer', 'name', 'wlan0', 'netns', n.gw);
  ip('-n', n.gw, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'up0', 'netns', n.net);
  for (const [ns, dev, addr] of [
    [n.ctl, 'ctl0', `${CONTROLLER}/24`],
    [n.gw, 'wlan0', `${LAN_ADDR}/24`],
    [n.gw, 'eth0', `${WAN_ADDR}/24`],
    [n.net, 'up0', `${UPSTREAM}/24`],
  ]) {
    ip('-n', ns, 'addr', 'add', addr, 'dev', dev);
    ip('-n', ns, 'link', 'set', dev, 'up');
  }
  ip('-n', n.ctl, 'route', 'add', 'default', 'via', LAN_ADDR);
  ip('-n', n.gw, 'route', 'add', 'default', 'via', UPSTREAM);
  inNs(n.gw, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
}

/** controller ↔ gateway (eth1) ═ br0 ═ gateway (eth0) ↔ internet; the gateway only bridges. */
function bridgeLinks(n: { ctl: string; gw: string; net: string }): void {
  ip('-n', n.ctl, 'link', 'add', 'ctl0', 'type', 'veth', 'peer', 'name', 'eth1', 'netns', n.gw);
  ip('-n', n.gw, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'up0', 'netns', n.net);
  ip('-n', n.gw, 'link', 'add', 'br0', 'type', 'bridge');
  for (const dev of ['eth0', 'eth1']) {
    ip('-n', n.gw, 'link', 'set', dev, 'master', 'br0');
    ip('-n', n.gw, 'link', 'set', dev, 'up');
  }
  ip('-n', n.gw, 'link', 'set', 'br0', 'up');
  ip('-n', n.ctl, 'addr', 'add', `${BRIDGED_CONTROLLER}/24`, 'dev', 'ctl0');
  ip('-n', n.ctl, 'link', 'set', 'ctl0', 'up');
  ip('-n', n.net, 'addr', 'add', `${UPSTREAM}/24`, 'dev', 'up0');
  ip('-n', n.net, 'link', 'set', 'up0', 'up');
  ip('-n', n.ctl, 'route', 'add', 'default', 'via', UPSTREAM);
}

/** dnsmasq, HTTP, TLS and QUIC servers on the internet side. */
async function startServers(
  started: ChildProcess[],
  dir: string,
  n: { ctl: string; net: string },
): Promise<{ httpLog: () => string }> {
  await startDnsmasq(started, n.net, dir, RESOLVER, { [DNS_NAME]: CN_SERVER });
  // gtlsclient sends the name it resolves as SNI: the controller resolves QUIC.name from its hosts file.
  mkdirSync(`/etc/netns/${n.ctl}`, { recursive: true });
  writeFileSync(`/etc/netns/${n.ctl}/hosts`, `127.0.0.1 localhost\n${QUIC.addr} ${QUIC.name}\n`);
  const www = join(dir, 'www');
  mkdirSync(www);
  writeFileSync(join(www, 'index.html'), 'hello\n');
  let httpLog = '';
  for (const addr of [CN_SERVER, NL_SERVER]) {
    const server = await startInNs(
      started,
      n.net,
      'python3',
      ['-u', '-m', 'http.server', '80', '--bind', addr, '--directory', www],
      /Serving HTTP/,
    );
    server.stderr?.on('data', (c: Buffer) => (httpLog += c.toString()));
  }
  const tls = selfSignedCertificate(dir, TLS.name);
  spawnInNs(started, n.net, 'openssl', [
    's_server',
    '-accept',
    `${TLS.addr}:${TLS.port}`,
    '-cert',
    tls.pem,
    '-key',
    tls.key,
    '-www',
  ]);
  const quic = selfSignedCertificate(dir, QUIC.name);
  spawnInNs(started, n.net, 'gtlsserver', ['-q', `--htdocs=${www}`, QUIC.addr, String(QUIC.port), quic.key, quic.pem]);
  await waitListen(n.net, 'tcp', TLS.addr, TLS.port);
  await waitListen(n.net, 'udp', QUIC.addr, QUIC.port);
  return { httpLog: () => httpLog };
}
