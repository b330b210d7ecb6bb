// The tcpdump command line for live capture (tcpdump(1), pcap-filter(7)):
// a pcap stream on standard output, flushed per packet, with an optional
// BPF filter that leaves out the gateway's own broker and dashboard traffic.

import { isIP } from 'node:net';
import { EgressError, ErrorCode } from '../errors.js';

/**
 * One endpoint of the gateway's own traffic to leave out of the capture: a
 * broker, the dashboard's WebSocket. Both address and port are required on
 * purpose: the controller itself may speak MQTT on 1883/8883 (DJI Cloud API)
 * to some other host, and a port-only exclusion would hide exactly that.
 */
export interface CaptureExclusion {
  /** Numeric IPv4 or IPv6 address of the endpoint (e.g. the broker, or the gateway's own address). */
  host: string;
  port: number;
  /** Default 'tcp'. */
  proto?: 'tcp' | 'udp';
}

export interface TcpdumpArgOptions {
  interface: string;
  /** BPF expression of what to capture; combined with the exclusions by `and`. */
  filter?: string;
  exclude?: CaptureExclusion[];
  /**
   * `-Z USER`: the user tcpdump switches to after opening the device. Only
   * effective when tcpdump starts as root (an unprivileged tcpdump holding
   * CAP_NET_RAW by file capability keeps the agent's user and ignores it).
   * Default: none, so a root tcpdump drops to its built-in user (`tcpdump`
   * on Debian), which is all `-w -` needs: standard output is already open.
   */
  user?: string;
  /** `--immediate-mode` (default true): packets reach us as they arrive, not when the kernel buffer fills or times out. */
  immediate?: boolean;
  /** `-s`: bytes kept per packet (default: tcpdump's 262144). */
  snaplen?: number;
  /** `-B`: kernel capture buffer in KiB (default: libpcap's 2 MiB). A larger buffer rides out bursts. */
  bufferKiB?: number;
  /** Default true; false adds `-p` (no promiscuous mode: only traffic to and from the gateway). */
  promiscuous?: boolean;
}

/** Arguments after the tcpdump command itself. */
export function tcpdumpArgs(o: TcpdumpArgOptions): string[] {
  if (o.interface === '' || /[\s\0]/.test(o.interface)) {
    throw new EgressError(ErrorCode.CAPTURE_CONFIG_INVALID, `not an interface name: ${JSON.stringify(o.interface)}`);
  }
  // -U: flush each packet to the pipe; -n: never resolve names (the filter is numeric anyway).
  const args = ['-U', '-w', '-', '-n', '-i', o.interface];
  if (o.immediate ?? true) args.push('--immediate-mode');
  if (o.snaplen !== undefined) args.push('-s', String(positive('snaplen', o.snaplen)));
  if (o.bufferKiB !== undefined) args.push('-B', String(positive('bufferKiB', o.bufferKiB)));
  if (o.promiscuous === false) args.push('-p');
  if (o.user !== undefined) args.push('-Z', o.user);
  const filter = captureFilter(o.filter, o.exclude);
  if (filter !== null) args.push(filter);
  return args;
}

/**
 * The BPF expression: the caller's filter, and for each exclusion
 * `not (tcp and ((src host H and src port P) or (dst host H and dst port P)))`.
 * Matching the address and port on the same side leaves out only packets to
 * or from that endpoint, so a controller's flow that merely shares the port
 * (its own MQTT) or the address (the gateway, as its DNS resolver) is still
 * captured. VLAN-tagged frames do not match `host`: on a trunk the
 * exclusion does nothing, which shows the broker traffic rather than hiding
 * anything else.
 */
export function captureFilter(filter?: string, exclude: CaptureExclusion[] = []): string | null {
  const parts: string[] = [];
  if (filter !== undefined && filter.trim() !== '') parts.push(`(${filter.trim()})`);
  for (const e of exclude) {
    const proto = e.proto ?? 'tcp';
    if (proto !== 'tcp' && proto !== 'udp') {
      throw new EgressError(ErrorCode.CAPTURE_CONFIG_INVALID, `exclusion protocol must be tcp or udp, got ${proto}`);
    }
    if (isIP(e.host) === 0) {
      throw new EgressError(
        ErrorCode.CAPTURE_CONFIG_INVALID,
        `exclusion host must be a numeric address, got ${e.host}`,
      );
    }
    if (!Number.isInteger(e.port) || e.port < 1 || e.port > 65_535) {
      throw new EgressError(ErrorCode.CAPTURE_CONFIG_INVALID, `exclusion port must be 1-65535, got ${e.port}`);
    }
    const h = e.host;
    const p = e.port;
    parts.push(`not (${proto} and ((src host ${h} and src port ${p}) or (dst host ${h} and dst port ${p})))`);
  }
  return parts.length === 0 ? null : parts.join(' and ');
}

function positive(name: string, n: number): number {
  if (!Number.isInteger(n) || n < 1) {
    throw new EgressError(ErrorCode.CAPTURE_CONFIG_INVALID, `${name} must be a positive integer, got ${n}`);
  }
  return n;
}
