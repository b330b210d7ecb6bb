// Real clients, live, in a network namespace this test creates: dnsmasq
// answers flysafe-api.dji.com, dig asks for it, openssl s_client connects
// to the answer with that SNI, and once more to a DNS-over-TLS port;
// tcpdump captures loopback. Then `egress scan`
// judges the capture with the names policy. Nothing leaves the namespace;
// every process is stopped by PID and the namespace is deleted afterwards.
// Needs root (namespaces, capture), as CI has.

import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { egress, events } from '../support/cli.js';
import { FIXTURES_DIR } from '../support/fixtures.js';
import { inNs, startInNs, stop } from '../support/netns.js';

const NS = `egress-live-${process.pid}`;
const CLIENT = '10.0.0.2';
const RESOLVER = '198.51.100.53';
const SERVER = '203.0.113.10';
const NAME = 'flysafe-api.dji.com';
const dir = mkdtempSync(join(tmpdir(), 'egress-live-'));
const capture = join(dir, 'live.pcap');
const started: ChildProcess[] = [];

beforeAll(async () => {
  if (process.getuid?.() !== 0)
    throw new Error('this test needs root: it creates a network namespace and captures on it');
  execFileSync('ip', ['netns', 'add', NS]);
  execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up', 'mtu', '1500']);
  for (const a of [CLIENT, RESOLVER, SERVER]) execFileSync('ip', ['-n', NS, 'addr', 'add', `${a}/32`, 'dev', 'lo']);
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${NAME}`,
      '-keyout',
      key,
      '-out',
      cert,
    ],
    {
      stdio: 'ignore',
    },
  );
  const conf = join(dir, 'dnsmasq.conf');
  writeFileSync(
    conf,
    `no-resolv\nno-hosts\nbind-interfaces\nlisten-address=${RESOLVER}\naddress=/${NAME}/${SERVER}\nlocal-ttl=300\n`,
  );
  // --immediate-mode: deliver each packet at once, or the last ones are still in the kernel
  // buffer when we stop; -Z root: Debian's tcpdump otherwise drops to a user that cannot write here.
  const tcpdump = await startInNs(
    started,
    NS,
    'tcpdump',
    ['--immediate-mode', '-U', '-n', '-Z', 'root', '-i', 'lo', '-s', '0', '-w', capture, 'not arp'],
    /listening on/,
  );
  await startInNs(started, NS, 'dnsmasq', [
    '--keep-in-foreground',
    `--conf-file=${conf}`,
    '--user=root',
    `--pid-file=${join(dir, 'dnsmasq.pid')}`,
  ]);
  await startInNs(started, NS, 'openssl', [
    's_server',
    '-accept',
    `${SERVER}:443`,
    '-cert',
    cert,
    '-key',
    key,
    '-quiet',
  ]);
  // A DNS-over-TLS resolver stand-in on port 853 (RFC 7858): the names asked over it are hidden.
  await startInNs(started, NS, 'openssl', [
    's_server',
    '-accept',
    `${RESOLVER}:853`,
    '-cert',
    cert,
    '-key',
    key,
    '-quiet',
  ]);
  // The clients: a DNS lookup, then TLS to the answer with the name as SNI, from the controller's address.
  const answer = inNs(NS, 'dig', ['+short', '-b', CLIENT, `@${RESOLVER}`, NAME]).trim();
  expect(answer).toBe(SERVER);
  const tlsArgs = [
    '5',
    'openssl',
    's_client',
    '-connect',
    `${answer}:443`,
    '-servername',
    NAME,
    '-bind',
    `${CLIENT}:0`,
    '-brief',
  ];
  inNs(NS, 'timeout', tlsArgs, 'hello\n');
  const dotArgs = [
    '5',
    'openssl',
    's_client',
    '-connect',
    `${RESOLVER}:853`,
    '-servername',
    'dns.example.net',
    '-bind',
    `${CLIENT}:0`,
    '-brief',
  ];
  inNs(NS, 'timeout', dotArgs, 'hello\n');
  await new Promise((r) => setTimeout(r, 300));
  await stop(tcpdump, 'SIGINT');
}, 60_000);

afterAll(async () => {
  for (const child of started.reverse()) await stop(child);
  try {
    execFileSync('ip', ['netns', 'del', NS]);
  } catch {
    // already gone
  }
});

describe('live: dig then openssl in a namespace', () => {
  it('flags DNS over TLS to the resolver as hiding names', () => {
    const ev = events(
      egress(['scan', capture, '--policy', join(FIXTURES_DIR, 'names/policy.yaml'), '--format', 'ndjson']).stdout,
    );
    const dot = ev.find((e) => e.event_type === 'flow' && e.dest_port === 853);
    expect(dot).toMatchObject({ dest_ip: RESOLVER, app_proto: 'tls', names_hidden_by: ['dot'] });
    const alert = ev.find((e) => e.event_type === 'alert' && e.flow_id === dot?.flow_id);
    expect(alert?.alert.text).toContain('it speaks DNS over TLS, so the names it looks up are hidden');
  });

  it('names the TLS flow from the DNS answer and denies it at its first packet', () => {
    const r = egress(['scan', capture, '--policy', join(FIXTURES_DIR, 'names/policy.yaml'), '--format', 'ndjson']);
    expect(r.code, r.stderr).toBe(0);
    const ev = events(r.stdout);
    const tls = ev.find((e) => e.event_type === 'flow' && e.dest_ip === SERVER);
    expect(tls).toMatchObject({
      src_ip: CLIENT,
      dest_port: 443,
      app_proto: 'tls',
      verdict: 'high',
      reasons: ['deny_domain'],
    });
    expect(tls?.dest.names).toEqual([NAME]);
    const alert = ev.find((e) => e.event_type === 'alert' && e.flow_id === tls?.flow_id);
    expect(alert?.timestamp).toBe(tls?.start); // the DNS answer already named it: decided at the SYN
    expect(ev.some((e) => e.event_type === 'tls' && e.tls.sni === NAME)).toBe(true);
    const answers = ev.filter((e) => e.event_type === 'dns' && e.dns.type === 'answer');
    expect(answers.map((e) => e.dns.answers[0]?.rdata)).toEqual([SERVER]);
  });
});
