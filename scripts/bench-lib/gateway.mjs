#!/usr/bin/env node
// Builds a capture shaped like a busy home/office gateway's LAN side, for the
// scan throughput benchmark (issue 15): a few thousand client devices
// looking names up at the gateway's resolver and then connecting over TLS,
// QUIC, HTTP (and a little NTP and ping) to internet servers, plus LAN
// chatter (mDNS, SSDP, LLMNR, NetBIOS, ARP, file/print/cast sessions to LAN
// hosts). Mostly short flows; popular names are allowlisted by the policy
// written beside it, the long tail is not, so not every flow alerts.
// Deterministic: the same options give the same bytes.
//
//   node scripts/bench-lib/gateway.mjs OUT.pcap [--packets N] [--clients N] [--seed N] [--policy OUT.yaml]

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  arpRequest,
  clientHello,
  DnsType,
  dnsQuery,
  dnsResponse,
  host,
  icmpEcho,
  mdnsQuery,
  quicClientInitial,
  quicServerInitial,
  quicShort,
  TcpFlag,
  tcpPacket,
  tlsRecord,
  udpPacket,
} from './gateway-packets.mjs';
import { Schedule } from './gateway-schedule.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    packets: { type: 'string', default: '2000000' },
    clients: { type: 'string', default: '3500' },
    seed: { type: 'string', default: '15' },
    policy: { type: 'string' },
  },
});
const [out] = positionals;
if (!out) {
  console.error('usage: gateway.mjs OUT.pcap [--packets N] [--clients N] [--seed N] [--policy OUT.yaml]');
  process.exit(2);
}
const target = Number(values.packets);
const nClients = Number(values.clients);

// mulberry32: small, fast, deterministic.
let state = Number(values.seed) >>> 0;
function rand() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n) => Math.floor(rand() * n);
const pick = (a) => a[int(a.length)];
/** Zipf-like: index in [0, n), low indexes far more often. */
const zipf = (n) => Math.min(n - 1, Math.floor(n ** rand()) - 1);
const exp = (mean) => -Math.log(1 - rand()) * mean;

/** Random bytes to copy opaque payloads from. */
const FILLER = Buffer.alloc(1 << 16);
for (let i = 0; i < FILLER.length; i++) FILLER[i] = int(256);
const filler = (len) => {
  const at = int(FILLER.length - len);
  return FILLER.subarray(at, at + len);
};

const mac = (a, b, c) => Buffer.from([0x02, 0x00, a, b, (c >> 8) & 0xff, c & 0xff]);
const v4 = (a, b, c, d) => Buffer.from([a, b, c, d]);

// The LAN: gateway (router and resolver), a NAS, printers, TVs, and the clients.
const GATEWAY = host(mac(0xff, 0, 1), v4(10, 20, 0, 1));
const NAS = host(mac(0xff, 0, 10), v4(10, 20, 0, 10));
const PRINTERS = [20, 21, 22].map((n) => host(mac(0xff, 0, n), v4(10, 20, 0, n)));
const TVS = [30, 31, 32, 33, 34, 35].map((n) => host(mac(0xff, 0, n), v4(10, 20, 0, n)));
const clients = [];
for (let i = 0; i < nClients; i++) {
  const n = 256 + i;
  const c = host(mac(0, 1, i), v4(10, 20, n >> 8, n & 0xff));
  // A third of the devices have a global IPv6 address too.
  c.v6 =
    i % 3 === 0
      ? host(c.mac, Buffer.from(`2a0200ff00200001${(0x1000 + i).toString(16).padStart(16, '0')}`, 'hex'))
      : null;
  c.ports = 32768 + int(20000);
  c.name = `device-${i}`;
  clients.push(c);
}
const BCAST = host(Buffer.alloc(6, 0xff), v4(10, 20, 15, 255));
const MDNS = host(Buffer.from([1, 0, 0x5e, 0, 0, 0xfb]), v4(224, 0, 0, 251));
const LLMNR = host(Buffer.from([1, 0, 0x5e, 0, 0, 0xfc]), v4(224, 0, 0, 252));
const SSDP = host(Buffer.from([1, 0, 0x5e, 0x7f, 0xff, 0xfa]), v4(239, 255, 255, 250));

// Internet servers: providers by the /16s they really announce (so the geo
// data gives real countries), and names served from them.
const PROVIDERS = {
  google: {
    v4: [
      [142, 250],
      [172, 217],
      [216, 58],
    ],
    v6: '2a001450400108',
    quic: 0.8,
  },
  cloudflare: {
    v4: [
      [104, 16],
      [104, 18],
      [172, 67],
    ],
    v6: '26064700000000',
    quic: 0.5,
  },
  akamai: {
    v4: [
      [23, 32],
      [23, 44],
      [2, 16],
    ],
    v6: '2a0226f0000000',
    quic: 0.1,
  },
  fastly: { v4: [[151, 101]], v6: '2a044e42000000', quic: 0.2 },
  aws: {
    v4: [
      [52, 84],
      [54, 230],
      [13, 32],
      [18, 66],
    ],
    v6: '26009000000000',
    quic: 0.1,
  },
  microsoft: {
    v4: [
      [20, 190],
      [40, 126],
      [13, 107],
    ],
    v6: '262001ec000000',
    quic: 0,
  },
  meta: {
    v4: [
      [157, 240],
      [31, 13],
    ],
    v6: '2a032880f10000',
    quic: 0.7,
  },
  apple: {
    v4: [
      [17, 253],
      [17, 248],
    ],
    v6: '2403300a0c0000',
    quic: 0.2,
  },
  hosting: {
    v4: [
      [185, 199],
      [5, 9],
      [78, 46],
      [95, 216],
      [145, 131],
      [88, 198],
    ],
    v6: '2a0104f8000000',
    quic: 0,
  },
  china: {
    v4: [
      [47, 92],
      [120, 76],
      [220, 181],
      [183, 232],
      [111, 13],
    ],
    v6: null,
    quic: 0,
  },
};
const POPULAR = [
  [
    'google',
    [
      'www.google.com',
      'www.gstatic.com',
      'fonts.googleapis.com',
      'www.youtube.com',
      'i.ytimg.com',
      'rr3---sn-5hne6nzy.googlevideo.com',
      'play.googleapis.com',
      'mtalk.google.com',
      'android.clients.google.com',
      'accounts.google.com',
      'firebaselogging-pa.googleapis.com',
      'connectivitycheck.gstatic.com',
    ],
  ],
  [
    'cloudflare',
    ['cdnjs.cloudflare.com', 'www.cloudflare.com', 'cloudflare-dns.com', 'discord.com', 'gateway.discord.gg'],
  ],
  ['akamai', ['www.microsoft.com', 'a248.e.akamai.net', 'www.apple.com', 'steamcdn-a.akamaihd.net', 'www.nu.nl']],
  ['fastly', ['www.reddit.com', 'i.redd.it', 'github.githubassets.com', 'pypi.org', 'www.theguardian.com']],
  [
    'aws',
    [
      's3.amazonaws.com',
      'dynamodb.eu-west-1.amazonaws.com',
      'www.amazon.de',
      'd1.cloudfront.net',
      'api.spotify.com',
      'www.netflix.com',
      'ichnaea.netflix.com',
    ],
  ],
  [
    'microsoft',
    [
      'login.microsoftonline.com',
      'outlook.office365.com',
      'teams.microsoft.com',
      'settings-win.data.microsoft.com',
      'update.microsoft.com',
      'www.bing.com',
      'graph.microsoft.com',
    ],
  ],
  [
    'meta',
    [
      'www.facebook.com',
      'graph.facebook.com',
      'scontent.xx.fbcdn.net',
      'www.instagram.com',
      'web.whatsapp.com',
      'mmg.whatsapp.net',
    ],
  ],
  ['apple', ['gateway.icloud.com', 'p50-caldav.icloud.com', 'time.apple.com', 'gs.apple.com', 'mesu.apple.com']],
];
const ALLOWED_BASES = [
  'google.com',
  'gstatic.com',
  'googleapis.com',
  'youtube.com',
  'ytimg.com',
  'googlevideo.com',
  'cloudflare.com',
  'cloudflare-dns.com',
  'discord.com',
  'discord.gg',
  'microsoft.com',
  'akamai.net',
  'apple.com',
  'akamaihd.net',
  'nu.nl',
  'reddit.com',
  'redd.it',
  'githubassets.com',
  'pypi.org',
  'theguardian.com',
  'amazonaws.com',
  'amazon.de',
  'cloudfront.net',
  'spotify.com',
  'netflix.com',
  'microsoftonline.com',
  'office365.com',
  'bing.com',
  'facebook.com',
  'fbcdn.net',
  'instagram.com',
  'whatsapp.com',
  'whatsapp.net',
  'icloud.com',
];
const TAIL_WORDS = [
  'news',
  'shop',
  'cdn',
  'img',
  'api',
  'track',
  'ads',
  'blog',
  'media',
  'static',
  'game',
  'stream',
  'mail',
  'cloud',
  'data',
];
const TLDS = ['com', 'nl', 'de', 'net', 'io', 'org', 'eu', 'fr'];
const CHINA_NAMES = [
  'log.mmstat.com',
  'api.weibo.cn',
  'sdk.open.talkingdata.com',
  'hm.baidu.com',
  'tsis.jpush.cn',
  'restapi.amap.com',
  'android.bugly.qq.com',
  'mdn.dji.com',
];

let ipCounter = 1;
function serverAddrs(provider, n, v6) {
  const p = PROVIDERS[provider];
  const out = [];
  for (let i = 0; i < n; i++) {
    if (v6 && p.v6) out.push(Buffer.from(`${p.v6}${(ipCounter++).toString(16).padStart(18, '0')}`, 'hex'));
    else {
      const [a, b] = pick(p.v4);
      out.push(v4(a, b, int(256), 1 + int(254)));
    }
  }
  return out;
}
function makeName(name, provider) {
  const cname = rand() < 0.3 ? [`${name.split('.')[0]}.edge-${provider}.${provider === 'china' ? 'cn' : 'net'}`] : [];
  return {
    name,
    provider,
    cnames: cname,
    a: serverAddrs(provider, 1 + int(4), false),
    aaaa: serverAddrs(provider, 1 + int(2), true),
    quic: rand() < PROVIDERS[provider].quic,
  };
}
const names = [];
for (const [provider, list] of POPULAR) for (const n of list) names.push(makeName(n, provider));
const popularCount = names.length;
for (let i = 0; i < 5000; i++) {
  const prov = pick([
    'cloudflare',
    'cloudflare',
    'akamai',
    'fastly',
    'aws',
    'aws',
    'hosting',
    'hosting',
    'hosting',
    'google',
  ]);
  names.push(makeName(`${pick(TAIL_WORDS)}${i > 100 ? int(50) : ''}.${pick(TAIL_WORDS)}-${i}.${pick(TLDS)}`, prov));
}
const chinaNames = CHINA_NAMES.map((n) => makeName(n, 'china'));

const sched = new Schedule(out, target);
let ipId = 1;
const id = () => ipId++ & 0xffff;
const port = (c) => {
  c.ports = c.ports >= 60999 ? 32768 : c.ports + 1 + int(3);
  return c.ports;
};
const GAP = 0.00035; // seconds between packets of a burst

/** A DNS lookup at the gateway's resolver: one LAN flow per query (fresh source port). */
function lookup(t, c, rec, type) {
  const p = port(c);
  const qid = int(65536);
  const addrs = type === DnsType.A ? rec.a : rec.aaaa;
  const q = dnsQuery(qid, rec.name, type);
  sched.add(t, udpPacket(c, GATEWAY, p, 53, q, id()));
  const r = dnsResponse(qid, rec.name, type, rec.cnames, addrs, 60 + int(3600));
  sched.add(t + 0.002 + exp(0.01), udpPacket(GATEWAY, c, 53, p, r, id()));
  return t + 0.02;
}

/** A TCP connection: handshake, client `first` payload, then request/response rounds, then FIN (or RST, or left open). */
function tcpFlow(t, c, s, sport, dport, first, rounds, serverFirst) {
  let cs = int(2 ** 32);
  let ss = int(2 ** 32);
  const rtt = 0.005 + exp(0.03);
  sched.add(t, tcpPacket(c, s, sport, dport, cs, 0, TcpFlag.SYN, Buffer.alloc(0), id()));
  cs++;
  t += rtt;
  sched.add(t, tcpPacket(s, c, dport, sport, ss, cs, TcpFlag.SYN | TcpFlag.ACK, Buffer.alloc(0), id()));
  ss++;
  t += GAP;
  sched.add(t, tcpPacket(c, s, sport, dport, cs, ss, TcpFlag.ACK, Buffer.alloc(0), id()));
  const send = (from, to, fp, tp, data) => {
    sched.add(
      t,
      tcpPacket(from, to, fp, tp, from === c ? cs : ss, from === c ? ss : cs, TcpFlag.ACK | TcpFlag.PSH, data, id()),
    );
    if (from === c) cs += data.length;
    else ss += data.length;
  };
  t += GAP;
  send(c, s, sport, dport, first);
  t += rtt;
  for (const seg of serverFirst) {
    send(s, c, dport, sport, seg);
    t += GAP;
  }
  for (let r = 0; r < rounds; r++) {
    t += exp(0.5);
    send(c, s, sport, dport, filler(60 + int(500)));
    t += rtt;
    const segs = 1 + int(2);
    for (let i = 0; i < segs; i++) {
      send(s, c, dport, sport, filler(i < segs - 1 ? 1448 : 100 + int(1300)));
      t += GAP;
    }
    sched.add(t, tcpPacket(c, s, sport, dport, cs, ss, TcpFlag.ACK, Buffer.alloc(0), id()));
  }
  const end = rand();
  t += exp(2);
  if (end < 0.1) sched.add(t, tcpPacket(c, s, sport, dport, cs, ss, TcpFlag.RST | TcpFlag.ACK, Buffer.alloc(0), id()));
  else if (end < 0.85) {
    sched.add(t, tcpPacket(c, s, sport, dport, cs, ss, TcpFlag.FIN | TcpFlag.ACK, Buffer.alloc(0), id()));
    cs++;
    t += rtt;
    sched.add(t, tcpPacket(s, c, dport, sport, ss, cs, TcpFlag.FIN | TcpFlag.ACK, Buffer.alloc(0), id()));
    ss++;
    t += GAP;
    sched.add(t, tcpPacket(c, s, sport, dport, cs, ss, TcpFlag.ACK, Buffer.alloc(0), id()));
  } // else: left open, ends by idle timeout
}

function serverHost(addr) {
  return host(GATEWAY.mac, addr);
}

function tls(t, c, rec, v6) {
  const addr = pick(v6 ? rec.aaaa : rec.a);
  const s = serverHost(addr);
  const from = v6 ? c.v6 : c;
  const hello = tlsRecord(0x16, clientHello(rec.name, filler(64), false));
  const serverHello = Buffer.concat([
    tlsRecord(0x16, Buffer.concat([Buffer.from([2, 0, 0, 118, 3, 3]), filler(114)])),
    tlsRecord(0x14, Buffer.from([1])),
    tlsRecord(0x17, filler(1300)),
  ]);
  tcpFlow(t, from, s, port(c), 443, hello, int(3), [serverHello.subarray(0, 1448), filler(200 + int(1200))]);
}

function http(t, c, rec) {
  const s = serverHost(pick(rec.a));
  const req = Buffer.from(
    `GET /${pick(TAIL_WORDS)}/${int(100000)}.js HTTP/1.1\r\nHost: ${rec.name}\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n`,
  );
  const res = Buffer.concat([
    Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: application/javascript\r\nContent-Length: 2400\r\n\r\n'),
    filler(1300),
  ]);
  tcpFlow(t, c, s, port(c), 80, req, int(3), [res, filler(1100)]);
}

function quic(t, c, rec, v6) {
  const s = serverHost(pick(v6 ? rec.aaaa : rec.a));
  const from = v6 ? c.v6 : c;
  const sport = port(c);
  const dcid = Buffer.from(filler(8));
  const scid = Buffer.from(filler(8));
  const srvCid = Buffer.from(filler(8));
  const rtt = 0.005 + exp(0.03);
  sched.add(
    t,
    udpPacket(from, s, sport, 443, quicClientInitial(dcid, scid, clientHello(rec.name, filler(64), true)), id()),
  );
  t += rtt;
  sched.add(t, udpPacket(s, from, 443, sport, quicServerInitial(scid, srvCid, filler(1252)), id()));
  t += GAP;
  sched.add(t, udpPacket(s, from, 443, sport, quicShort(scid, filler(1252), 1252), id()));
  const rounds = 1 + int(4);
  for (let r = 0; r < rounds; r++) {
    t += exp(0.3);
    sched.add(t, udpPacket(from, s, sport, 443, quicShort(srvCid, filler(400), 40 + int(300)), id()));
    t += rtt;
    sched.add(t, udpPacket(s, from, 443, sport, quicShort(scid, filler(1252), 200 + int(1050)), id()));
  }
}

/** A client opens a page or an app talks to its service: lookups, then one to three connections. */
function visit(t, c) {
  const r = rand();
  const rec =
    r < 0.02
      ? pick(chinaNames)
      : r < 0.62
        ? names[zipf(popularCount)]
        : names[popularCount + zipf(names.length - popularCount)];
  const v6 = c.v6 !== null && rand() < 0.4;
  if (rand() < 0.9) {
    t = lookup(t, c, rec, DnsType.A);
    if (c.v6 !== null || rand() < 0.3) t = lookup(t, c, rec, DnsType.AAAA);
  }
  const conns = 1 + zipf(4);
  for (let i = 0; i < conns; i++) {
    const k = rand();
    if (rec.quic && k < 0.75) quic(t, c, rec, v6);
    else if (k < 0.93) tls(t, c, rec, v6);
    else http(t, c, rec);
    t += exp(0.05);
  }
}

/** Flows without a name first: NTP, ping, an app talking to a hard-coded address. */
function direct(t, c) {
  const k = rand();
  if (k < 0.4) {
    const s = serverHost(serverAddrs('hosting', 1, false)[0]);
    const p = port(c);
    const ntp = Buffer.alloc(48);
    ntp[0] = 0x23;
    sched.add(t, udpPacket(c, s, p, 123, ntp, id()));
    const reply = Buffer.from(filler(48));
    reply[0] = 0x24;
    sched.add(t + 0.02, udpPacket(s, c, 123, p, reply, id()));
  } else if (k < 0.7) {
    const s = serverHost(serverAddrs(pick(['google', 'cloudflare']), 1, false)[0]);
    const pid = int(65536);
    for (let i = 0; i < 2; i++) {
      sched.add(t + i, icmpEcho(c, s, false, pid, i, id()));
      sched.add(t + i + 0.015, icmpEcho(s, c, true, pid, i, id()));
    }
  } else {
    const rec = names[popularCount + int(names.length - popularCount)];
    const s = serverHost(pick(rec.a));
    tcpFlow(t, c, s, port(c), pick([443, 8883, 5222, 8080]), filler(80 + int(200)), int(3), [filler(300)]);
  }
}

/** LAN chatter: service discovery, name resolution, ARP, and sessions to LAN hosts. */
function lan(t, c) {
  const k = rand();
  if (k < 0.28) {
    // mDNS browse/query: from port 5353 (one long flow per device) or a one-shot port.
    const sport = rand() < 0.5 ? 5353 : port(c);
    const svc = pick([
      '_googlecast._tcp.local',
      '_airplay._tcp.local',
      '_spotify-connect._tcp.local',
      '_ipp._tcp.local',
      `${c.name}.local`,
    ]);
    sched.add(t, udpPacket(c, MDNS, sport, 5353, mdnsQuery(0, svc, DnsType.PTR), id()));
    if (rand() < 0.5) sched.add(t + 1, udpPacket(c, MDNS, sport, 5353, mdnsQuery(0, svc, DnsType.PTR), id()));
  } else if (k < 0.48) {
    const sport = port(c);
    const m = Buffer.from(
      'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n',
    );
    for (let i = 0; i < 2; i++) sched.add(t + i * 0.1, udpPacket(c, SSDP, sport, 1900, m, id()));
    const tv = pick(TVS);
    sched.add(
      t + 0.3,
      udpPacket(
        tv,
        c,
        1900,
        sport,
        Buffer.from(
          'HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nST: upnp:rootdevice\r\nLOCATION: http://10.20.0.30:8008/ssdp/device-desc.xml\r\n\r\n',
        ),
        id(),
      ),
    );
  } else if (k < 0.62) {
    const sport = port(c);
    const q = dnsQuery(int(65536), `wpad${int(3) || ''}`, DnsType.A);
    q.writeUInt16BE(0, 2);
    sched.add(t, udpPacket(c, LLMNR, sport, 5355, q, id()));
    sched.add(t + 0.1, udpPacket(c, LLMNR, sport, 5355, q, id()));
  } else if (k < 0.7) {
    const nb = Buffer.concat([
      Buffer.from([int(256), int(256), 0x01, 0x10, 0, 1, 0, 0, 0, 0, 0, 0, 0x20]),
      Buffer.from('FHEPFCELEHFCEPFFFACACACACACACABN'),
      Buffer.from([0, 0, 0x20, 0, 1]),
    ]);
    sched.add(t, udpPacket(c, BCAST, 137, 137, nb, id()));
  } else if (k < 0.78) {
    sched.add(t, arpRequest(c, pick([GATEWAY, NAS, ...TVS]).addr));
  } else if (k < 0.9) {
    // File share, print or cast session to a LAN host.
    const [s, p] = pick([
      [NAS, 445],
      [NAS, 445],
      [NAS, 5000],
      [pick(PRINTERS), 631],
      [pick(PRINTERS), 9100],
      [pick(TVS), 8009],
    ]);
    tcpFlow(t, c, s, port(c), p, filler(100 + int(400)), 1 + int(8), [filler(300 + int(1000))]);
  } else {
    // DNS for a LAN name or a reverse lookup at the resolver.
    const p = port(c);
    const qid = int(65536);
    const n = rand() < 0.5 ? `${int(256)}.0.20.10.in-addr.arpa` : `nas.${pick(['home', 'lan', 'local'])}`;
    sched.add(t, udpPacket(c, GATEWAY, p, 53, dnsQuery(qid, n, rand() < 0.5 ? DnsType.PTR : DnsType.A), id()));
    sched.add(t + 0.001, udpPacket(GATEWAY, c, 53, p, dnsResponse(qid, n, DnsType.A, [], [NAS.addr], 600), id()));
  }
}

// Busy devices do more: client i is chosen with a Zipf-like weight.
const START = Date.UTC(2026, 10, 20, 7, 0, 0) / 1000;
let t = START;
// About 180 packets/s on average: 2,000,000 packets is a bit over three hours of a busy gateway.
const MEAN_ACTIVITY_GAP = 0.032;
while (!sched.full) {
  t += exp(MEAN_ACTIVITY_GAP);
  const c = clients[zipf(clients.length)];
  const k = rand();
  if (k < 0.46) visit(t, c);
  else if (k < 0.5) direct(t, c);
  else lan(t, c);
  sched.advance(t);
}
sched.close();
if (values.policy) {
  writeFileSync(
    values.policy,
    `# Written by scripts/bench-lib/gateway.mjs: the popular names of the gateway capture are trusted.\nextends: default\nallow:\n  domains:\n${ALLOWED_BASES.map((d) => `    - ${d}\n`).join('')}`,
  );
}
console.log(
  `${sched.written} packets, ${((sched.lastTs - START) / 3600).toFixed(2)} hours of capture time, ${nClients} clients`,
);
