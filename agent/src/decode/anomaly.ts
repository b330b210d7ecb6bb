// Named anomaly counters (after Suricata's src/decode-events.h): every
// malformation a decoder or reader meets has a stable name that shows up in
// the `stats` event. Decoders never throw; they count and move on.
// Counters live in one Float64Array indexed by these constants so the hot path
// increments a number, never allocates, never looks up a string.

const NAMES = [
  'capture.unknown_linktype',
  'pcap.caplen_over_origlen',
  'pcapng.unknown_block',
  'pcapng.other_block',
  'pcapng.unknown_interface',
  'pcapng.caplen_over_block',
  'pcapng.bad_option',
  'link.trunc_header',
  'link.vlan_too_deep',
  'link.not_ip',
  'ipv4.trunc_header',
  'ipv4.bad_version',
  'ipv4.bad_ihl',
  'ipv4.bad_total_length',
  'ipv4.frag_first',
  'ipv4.frag_later',
  'ipv6.trunc_header',
  'ipv6.bad_version',
  'ipv6.trunc_ext_header',
  'ipv6.ext_chain_too_long',
  'ipv6.frag_first',
  'ipv6.frag_later',
  'ip.other_proto',
  'tcp.trunc_header',
  'tcp.bad_offset',
  'udp.trunc_header',
  'udp.bad_length',
  'icmp.trunc_header',
  'icmpv6.trunc_header',
  // tunnels (decode/tunnel.ts): packets opened per kind, then what stopped one
  'tunnel.ipip',
  'tunnel.6in4',
  'tunnel.4in6',
  'tunnel.6in6',
  'tunnel.gre',
  'tunnel.vxlan',
  'tunnel.geneve',
  'tunnel.pppoe',
  'tunnel.too_deep',
  'gre.trunc_header',
  'gre.unsupported',
  'gre.other_proto',
  'vxlan.trunc_header',
  'vxlan.bad_flags',
  'geneve.trunc_header',
  'geneve.bad_header',
  'geneve.other_proto',
  'pppoe.trunc_header',
  'pppoe.bad_header',
  'pppoe.not_ip',
  'pppoe.discovery',
  // names stage (app-layer extractors); each extractor owns its section
  'stream.gap',
  'stream.overflow',
  'dns.trunc_header',
  'dns.trunc_record',
  'dns.bad_label',
  'dns.pointer_loop',
  'dns.pointer_out_of_bounds',
  'dns.name_too_long',
  'dns.bad_rdata',
  'dns.tcp_bad_length',
  'tls.bad_record',
  'tls.bad_handshake',
  'tls.bad_extension',
  'tls.not_client_hello',
  'tls.too_large',
  'quic.bad_header',
  'quic.unknown_version',
  'quic.decrypt_failed',
  'quic.bad_frame',
  'quic.crypto_overflow',
  'quic.not_quic',
  'http.bad_request',
] as const;

export type AnomalyName = (typeof NAMES)[number];

function indexOf(name: AnomalyName): number {
  return NAMES.indexOf(name);
}

/** Index of each counter, for `anomalies.counts[Anomaly.IPV4_TRUNC_HEADER]++`. */
export const Anomaly = {
  UNKNOWN_LINKTYPE: indexOf('capture.unknown_linktype'),
  PCAP_CAPLEN_OVER_ORIGLEN: indexOf('pcap.caplen_over_origlen'),
  PCAPNG_UNKNOWN_BLOCK: indexOf('pcapng.unknown_block'),
  PCAPNG_OTHER_BLOCK: indexOf('pcapng.other_block'),
  PCAPNG_UNKNOWN_INTERFACE: indexOf('pcapng.unknown_interface'),
  PCAPNG_CAPLEN_OVER_BLOCK: indexOf('pcapng.caplen_over_block'),
  PCAPNG_BAD_OPTION: indexOf('pcapng.bad_option'),
  LINK_TRUNC_HEADER: indexOf('link.trunc_header'),
  LINK_VLAN_TOO_DEEP: indexOf('link.vlan_too_deep'),
  LINK_NOT_IP: indexOf('link.not_ip'),
  IPV4_TRUNC_HEADER: indexOf('ipv4.trunc_header'),
  IPV4_BAD_VERSION: indexOf('ipv4.bad_version'),
  IPV4_BAD_IHL: indexOf('ipv4.bad_ihl'),
  IPV4_BAD_TOTAL_LENGTH: indexOf('ipv4.bad_total_length'),
  IPV4_FRAG_FIRST: indexOf('ipv4.frag_first'),
  IPV4_FRAG_LATER: indexOf('ipv4.frag_later'),
  IPV6_TRUNC_HEADER: indexOf('ipv6.trunc_header'),
  IPV6_BAD_VERSION: indexOf('ipv6.bad_version'),
  IPV6_TRUNC_EXT_HEADER: indexOf('ipv6.trunc_ext_header'),
  IPV6_EXT_CHAIN_TOO_LONG: indexOf('ipv6.ext_chain_too_long'),
  IPV6_FRAG_FIRST: indexOf('ipv6.frag_first'),
  IPV6_FRAG_LATER: indexOf('ipv6.frag_later'),
  IP_OTHER_PROTO: indexOf('ip.other_proto'),
  TCP_TRUNC_HEADER: indexOf('tcp.trunc_header'),
  TCP_BAD_OFFSET: indexOf('tcp.bad_offset'),
  UDP_TRUNC_HEADER: indexOf('udp.trunc_header'),
  UDP_BAD_LENGTH: indexOf('udp.bad_length'),
  ICMP_TRUNC_HEADER: indexOf('icmp.trunc_header'),
  ICMPV6_TRUNC_HEADER: indexOf('icmpv6.trunc_header'),
  TUNNEL_IPIP: indexOf('tunnel.ipip'),
  TUNNEL_6IN4: indexOf('tunnel.6in4'),
  TUNNEL_4IN6: indexOf('tunnel.4in6'),
  TUNNEL_6IN6: indexOf('tunnel.6in6'),
  TUNNEL_GRE: indexOf('tunnel.gre'),
  TUNNEL_VXLAN: indexOf('tunnel.vxlan'),
  TUNNEL_GENEVE: indexOf('tunnel.geneve'),
  TUNNEL_PPPOE: indexOf('tunnel.pppoe'),
  TUNNEL_TOO_DEEP: indexOf('tunnel.too_deep'),
  GRE_TRUNC_HEADER: indexOf('gre.trunc_header'),
  GRE_UNSUPPORTED: indexOf('gre.unsupported'),
  GRE_OTHER_PROTO: indexOf('gre.other_proto'),
  VXLAN_TRUNC_HEADER: indexOf('vxlan.trunc_header'),
  VXLAN_BAD_FLAGS: indexOf('vxlan.bad_flags'),
  GENEVE_TRUNC_HEADER: indexOf('geneve.trunc_header'),
  GENEVE_BAD_HEADER: indexOf('geneve.bad_header'),
  GENEVE_OTHER_PROTO: indexOf('geneve.other_proto'),
  PPPOE_TRUNC_HEADER: indexOf('pppoe.trunc_header'),
  PPPOE_BAD_HEADER: indexOf('pppoe.bad_header'),
  PPPOE_NOT_IP: indexOf('pppoe.not_ip'),
  PPPOE_DISCOVERY: indexOf('pppoe.discovery'),
} as const;

export class Anomalies {
  readonly counts = new Float64Array(NAMES.length);

  /** Every counter by its stable name, zeros included, so the stats shape never changes. */
  toJSON(): Record<AnomalyName, number> {
    const out = {} as Record<AnomalyName, number>;
    for (let i = 0; i < NAMES.length; i++) out[NAMES[i]] = this.counts[i];
    return out;
  }

  /** For paths off the per-packet loop (app-layer parsers): count by name. */
  count(name: AnomalyName): void {
    this.counts[indexOf(name)]++;
  }

  get(name: AnomalyName): number {
    return this.counts[indexOf(name)];
  }

  total(): number {
    let n = 0;
    for (const c of this.counts) n += c;
    return n;
  }
}

export const ANOMALY_NAMES: readonly AnomalyName[] = NAMES;
