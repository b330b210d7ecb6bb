// What the live agent is started with (agent.ts): the gateway's id, data
// directory and secrets, the policy and enricher, the broker it publishes to
// (embedded aedes or an external MQTT broker, optionally over TLS), the HTTP
// address of the dashboard, and the bounds on what waits (stats interval,
// flow rate, spool size). `egress run` fills them in (cli/live-options.ts).

import type { Enricher } from '../enrich/enricher.js';
import type { GeoSource } from '../enrich/geo-source.js';
import type { EvidenceOptions } from '../evidence/recorder.js';
import type { HistoryTarget } from '../history/config.js';
import type { Policy } from '../policy/policy.js';
import type { Secrets } from './settings.js';

export type BrokerChoice =
  | { kind: 'embedded'; host: string; port: number }
  | { kind: 'external'; url: string; username?: string; password?: string; ca?: Buffer; cert?: Buffer; key?: Buffer };

export interface CaptureHealthView {
  packets: number;
  kernelDrops: number;
  interfaceDrops?: number;
  restarts: number;
  lastPacketAgeMs: number | null;
}

export interface LiveAgentOptions {
  gateway: string;
  dataDir: string;
  secrets: Secrets;
  policy: Policy;
  enricher: Enricher;
  /** Where the enricher's geo data comes from; checked on every stats tick for a newly installed bundle. */
  geo?: GeoSource;
  version: string;
  broker: BrokerChoice;
  /** HTTP server for the dashboard and MQTT over WebSocket; null: none. */
  http: { host: string; port: number } | null;
  /** The built dashboard (default dashboard/dist of the repository). */
  dashboardDir?: string;
  maxFlows?: number;
  /** Stats message interval (default 5000 ms). */
  statsIntervalMs?: number;
  /** Flow messages per second (default 200). */
  flowsPerSecond?: number;
  /** Spool size bound in bytes (default 64 MiB). */
  spoolBytes?: number;
  /** Flight-session evidence (ring, flagged.pcapng bounds, checkpoint interval). */
  evidence?: EvidenceOptions;
  /** Traffic history in InfluxDB (--influx); absent: none. */
  history?: HistoryTarget;
  log: (line: string) => void;
}
