// Shared shapes of the names stage: what an app-layer parser reports, and how
// a streaming parser says it needs more bytes (STYLE: `{consumed}`/`{needed}`).

import type { AnomalyName } from '../decode/anomaly.js';

/** A parser's answer on a prefix of a stream: a result, a request for more bytes, or a named reason to give up. */
export type Outcome<T> =
  | { kind: 'done'; value: T }
  | { kind: 'need'; bytes: number }
  | { kind: 'invalid'; anomaly: AnomalyName };

/** What a TLS or QUIC ClientHello says about where the client wants to go. */
export interface ClientHelloInfo {
  /** server_name (RFC 6066 §3), lowercased; null when absent. */
  sni: string | null;
  /** application_layer_protocol_negotiation (RFC 7301), in the client's order. */
  alpn: string[];
  /** encrypted_client_hello (0xfe0d) present: the real name is hidden. */
  ech: boolean;
  /** legacy_version of the ClientHello (0x0303 for TLS 1.2 and 1.3). */
  legacyVersion: number;
  /** supported_versions (RFC 8446 §4.2.1), empty when absent. */
  supportedVersions: number[];
}
