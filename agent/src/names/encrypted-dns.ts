// What hides the names a client looks up: DNS over TLS (RFC 7858, TCP 853),
// DNS over QUIC (RFC 9250, UDP 853), and DNS over HTTPS (RFC 8484) to the
// well-known public resolvers. A flow flagged here carries DNS the gateway
// cannot read, so later connections of that client may lack names.
// Resolver names and addresses: the resolvers' own documentation and curl's
// list of public DoH servers (github.com/curl/curl/wiki/DNS-over-HTTPS).

import { DomainSet } from '../policy/domains.js';

export type EncryptedDns = 'dot' | 'doq' | 'doh';

/** RFC 7858 §3.1 (DoT) and RFC 9250 §4.1.1 (DoQ) both use port 853. */
export const ENCRYPTED_DNS_PORT = 853;

/** Public DoH service names (each with its subdomains). */
export const DOH_NAMES = new DomainSet([
  'dns.google',
  'dns.google.com',
  'cloudflare-dns.com',
  'one.one.one.one',
  'dns.quad9.net',
  'doh.opendns.com',
  'dns.adguard.com',
  'dns.adguard-dns.com',
  'dns.nextdns.io',
  'doh.cleanbrowsing.org',
  'doh.mullvad.net',
  'dns.alidns.com', // Alibaba, CN
  'doh.pub', // DNSPod (Tencent), CN
  'doh.360.cn', // Qihoo 360, CN
  'dns.twnic.tw',
]);

/** Addresses of those resolvers: a DoH request to them may carry no name at all. */
export const DOH_ADDRESSES = new Set([
  '8.8.8.8',
  '8.8.4.4',
  '2001:4860:4860::8888',
  '2001:4860:4860::8844',
  '1.1.1.1',
  '1.0.0.1',
  '2606:4700:4700::1111',
  '2606:4700:4700::1001',
  '9.9.9.9',
  '149.112.112.112',
  '2620:fe::fe',
  '2620:fe::9',
  '208.67.222.222',
  '208.67.220.220',
  '94.140.14.14',
  '94.140.15.15',
  '223.5.5.5', // AliDNS
  '223.6.6.6',
  '119.29.29.29', // DNSPod
  '1.12.12.12',
  '120.53.53.53',
]);

/** How this flow hides DNS, from its protocol, port, server name and address; null when it does not. */
export function encryptedDnsOf(
  proto: string,
  destPort: number | null,
  destIp: string,
  appProto: string | null,
  sni: string | null,
): EncryptedDns | null {
  if (destPort === ENCRYPTED_DNS_PORT) return proto === 'UDP' ? 'doq' : proto === 'TCP' ? 'dot' : null;
  if (appProto !== 'tls' && appProto !== 'quic') return null;
  if (sni !== null ? DOH_NAMES.match(sni) !== null : DOH_ADDRESSES.has(destIp)) return 'doh';
  return null;
}
