// Per-flow state that decides when a flow ends: a coarse TCP state machine
// (RFC 9293 §3.3.2 seen from the middle, as Suricata's stream tracker does
// for flow timeouts), timeout classes, and the reasons a flow record is cut.

import { TcpFlag } from '../decode/packet.js';

export const TcpState = {
  NONE: 0,
  SYN_SENT: 1,
  SYN_RECV: 2,
  ESTABLISHED: 3,
  CLOSING: 4,
  CLOSED: 5,
} as const;

export const TCP_STATE_NAMES = ['none', 'syn_sent', 'syn_recv', 'established', 'closing', 'closed'] as const;

export const TimeoutClass = {
  TCP_NEW: 0,
  TCP_ESTABLISHED: 1,
  /** After FIN both ways or RST: a short grace for the last ACKs and retransmits. */
  TCP_CLOSED: 2,
  UDP: 3,
  OTHER: 4,
} as const;

/** Idle timeouts in seconds (Suricata's flow.timeouts defaults, closed grace shortened). */
export interface FlowTimeouts {
  tcpNew: number;
  tcpEstablished: number;
  tcpClosed: number;
  udp: number;
  other: number;
}

export const DEFAULT_TIMEOUTS: FlowTimeouts = {
  tcpNew: 60,
  tcpEstablished: 3600,
  tcpClosed: 10,
  udp: 120,
  other: 60,
};

export const EndReason = {
  CLOSED: 0,
  TIMEOUT: 1,
  EVICTED: 2,
  END_OF_INPUT: 3,
  PORT_REUSE: 4,
} as const;

export const END_REASON_NAMES = ['closed', 'timeout', 'evicted', 'end_of_input', 'port_reuse'] as const;

/** The state after a packet with `flags`; `fin` has bit 0/1 set once each side sent FIN. */
export function nextTcpState(state: number, flags: number, fin: number): number {
  if (flags & TcpFlag.RST) return TcpState.CLOSED;
  if (state === TcpState.CLOSED) return state;
  if (fin === 3) return TcpState.CLOSED;
  if (fin !== 0) return TcpState.CLOSING;
  const syn = flags & TcpFlag.SYN;
  const ack = flags & TcpFlag.ACK;
  if (syn && !ack) return state === TcpState.NONE ? TcpState.SYN_SENT : state;
  if (syn && ack) return Math.max(state, TcpState.SYN_RECV);
  // A plain ACK completes the handshake; a capture that starts mid-stream is established from its first packet.
  return Math.max(state, TcpState.ESTABLISHED);
}
