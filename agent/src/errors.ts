// One error type for the whole agent, each failure with a stable `code` and the
// facts a person needs to act on it (after undici's lib/core/errors.js).
// The codes are documented for operators in docs/errors.md; keep both in step.

export const ErrorCode = {
  /** Command line not understood (unknown option, missing argument). Exit 2. */
  USAGE: 'EGRESS_USAGE',
  /** Input file cannot be opened or read. Exit 1. */
  INPUT_UNREADABLE: 'EGRESS_INPUT_UNREADABLE',
  /** The first bytes are neither a pcap nor a pcapng magic. Exit 3. */
  CAPTURE_BAD_MAGIC: 'EGRESS_CAPTURE_BAD_MAGIC',
  /** Input ended inside a file header, record header or record. Exit 3. */
  PCAP_TRUNCATED: 'EGRESS_PCAP_TRUNCATED',
  /** A record header claims more bytes than any capture can hold. Exit 3. */
  PCAP_RECORD_TOO_LARGE: 'EGRESS_PCAP_RECORD_TOO_LARGE',
  /** A pcapng block length is too small, unaligned, too large, or its trailer disagrees. Exit 3. */
  PCAPNG_BAD_BLOCK_LENGTH: 'EGRESS_PCAPNG_BAD_BLOCK_LENGTH',
  /** A pcapng Section Header Block has an unknown byte-order magic or major version. Exit 3. */
  PCAPNG_BAD_SECTION: 'EGRESS_PCAPNG_BAD_SECTION',
  /** A policy file or profile is not valid: unknown key, wrong type, bad CIDR, unknown profile. Exit 2. */
  POLICY_INVALID: 'EGRESS_POLICY_INVALID',
  /** The geo/ASN database (agent/data/geo.bin) is missing, short, corrupt or of another format version. Exit 1. */
  GEO_DB_INVALID: 'EGRESS_GEO_DB_INVALID',
  /** A geo data bundle (`egress db update FILE`) is truncated, damaged, fails its seal or checksums, or is of another format. Exit 3. */
  GEO_BUNDLE_INVALID: 'EGRESS_GEO_BUNDLE_INVALID',
  /** The geo data folder in the data directory cannot be written, or another `db update` holds it. Exit 1. */
  GEO_STORE_FAILED: 'EGRESS_GEO_STORE_FAILED',
  /** `egress db rollback` with no earlier data kept to go back to. Exit 1. */
  GEO_NO_PREVIOUS: 'EGRESS_GEO_NO_PREVIOUS',
  /** `egress db build`: a source package is missing or unreadable. Exit 1. */
  GEO_BUILD_FAILED: 'EGRESS_GEO_BUILD_FAILED',
  /** The embedded broker cannot listen, or an external broker URL is not usable. Exit 1. */
  BROKER_UNAVAILABLE: 'EGRESS_BROKER_UNAVAILABLE',
  /** EGRESS_DASHBOARD_TOKEN is too short or too guessable (fewer than 16 characters, 8 different or 80 bits). Exit 2. */
  TOKEN_WEAK: 'EGRESS_TOKEN_WEAK',
  /** The data directory or secrets.json belongs to another user, or cannot be made private (0700 / 0600). Exit 1. */
  DATA_DIR_INSECURE: 'EGRESS_DATA_DIR_INSECURE',
  /** A command on cmd/<verb> was rejected: unknown verb, bad token, malformed payload. Sent as the reply's code. */
  COMMAND_REJECTED: 'EGRESS_COMMAND_REJECTED',
  /** An MQTT payload is not a valid egress.v1 message of the kind its topic carries. Exit 3. */
  PAYLOAD_INVALID: 'EGRESS_PAYLOAD_INVALID',
  /** Live capture: the tcpdump command (or the command wrapping it) cannot be found. Exit 1. */
  CAPTURE_TOOL_MISSING: 'EGRESS_CAPTURE_TOOL_MISSING',
  /** Live capture: the interface does not exist or is not up. Exit 1. */
  CAPTURE_NO_INTERFACE: 'EGRESS_CAPTURE_NO_INTERFACE',
  /** Live capture: tcpdump may not capture on the interface (no CAP_NET_RAW). Exit 1. */
  CAPTURE_PERMISSION: 'EGRESS_CAPTURE_PERMISSION',
  /** Live capture: the options are not valid (filter tcpdump cannot parse, bad exclusion, snaplen, interface name). Exit 2. */
  CAPTURE_CONFIG_INVALID: 'EGRESS_CAPTURE_CONFIG_INVALID',
  /** Live capture: tcpdump exited or was killed for another reason; it is restarted. Exit 1. */
  CAPTURE_EXITED: 'EGRESS_CAPTURE_EXITED',
  /** The MQTT spool directory cannot be created, read or written, or another live process holds it. Exit 1. */
  SPOOL_UNWRITABLE: 'EGRESS_SPOOL_UNWRITABLE',
  /** A file in the spool directory named as a segment is not one (bad magic, other format version, wrong group). Exit 1. */
  SPOOL_CORRUPT: 'EGRESS_SPOOL_CORRUPT',
  /** Evidence: no signing key in DATA_DIR/keys, or it is not an Ed25519 private key. Exit 1. */
  KEY_MISSING: 'EGRESS_KEY_MISSING',
  /** Evidence: no session with that id in the data directory. Exit 1. */
  SESSION_UNKNOWN: 'EGRESS_SESSION_UNKNOWN',
  /** Evidence: the session is not in the state the command needs (one already open, none open, still open). Exit 1. */
  SESSION_STATE: 'EGRESS_SESSION_STATE',
  /** Evidence: a session's chained log is damaged before its last record (not a torn write); nothing is appended to it. Exit 1. */
  EVIDENCE_LOG_DAMAGED: 'EGRESS_EVIDENCE_LOG_DAMAGED',
  /** Evidence: the file given to verify is not an evidence bundle (not a zip, no manifest). Exit 2. */
  BUNDLE_INVALID: 'EGRESS_BUNDLE_INVALID',
  /** Evidence: the bundle was altered: a file's hash, the signature or the chained log does not check. Exit 1. */
  BUNDLE_TAMPERED: 'EGRESS_BUNDLE_TAMPERED',
  /** The chosen GPIO driver cannot run here (binding not built, gpiod tools missing, no chip, line busy). Exit 1. */
  GPIO_UNAVAILABLE: 'EGRESS_GPIO_UNAVAILABLE',
  /** GPIO driver name or pin numbers are not valid. Exit 2. */
  GPIO_CONFIG_INVALID: 'EGRESS_GPIO_CONFIG_INVALID',
  /** `--influx` is not an http(s)://HOST:PORT/DB URL, or `--influx-retention` is not a duration. Exit 2. */
  HISTORY_URL_INVALID: 'EGRESS_HISTORY_URL_INVALID',
  /** InfluxDB cannot be reached or refused a write or query; the agent keeps capturing and retries. Logged, not an exit. */
  HISTORY_UNAVAILABLE: 'EGRESS_HISTORY_UNAVAILABLE',
  /** InfluxDB refused the user or password (401/403); the agent keeps capturing and retries. Logged, not an exit. */
  HISTORY_AUTH: 'EGRESS_HISTORY_AUTH',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface ErrorFacts {
  offset?: number;
  line?: number;
  file?: string;
  [fact: string]: unknown;
}

export class EgressError extends Error {
  readonly code: ErrorCodeValue;
  readonly facts: ErrorFacts;

  constructor(code: ErrorCodeValue, message: string, facts: ErrorFacts = {}) {
    super(message);
    this.name = 'EgressError';
    this.code = code;
    this.facts = facts;
  }

  /** One line for stderr: `egress: CODE at byte N of FILE: message`. */
  toLine(): string {
    const where: string[] = [];
    if (this.facts.offset !== undefined) where.push(`at byte ${this.facts.offset}`);
    if (this.facts.line !== undefined) where.push(`at line ${this.facts.line}`);
    if (this.facts.file !== undefined) where.push(`of ${this.facts.file}`);
    return `${this.code}${where.length ? ` ${where.join(' ')}` : ''}: ${this.message}`;
  }
}

/** Exit statuses of the CLI, documented in docs/errors.md. */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  BAD_INPUT: 3,
} as const;

export function exitCodeFor(err: EgressError): number {
  switch (err.code) {
    case ErrorCode.USAGE:
    case ErrorCode.POLICY_INVALID:
    case ErrorCode.CAPTURE_CONFIG_INVALID:
    case ErrorCode.BUNDLE_INVALID:
    case ErrorCode.GPIO_CONFIG_INVALID:
    case ErrorCode.TOKEN_WEAK:
    case ErrorCode.HISTORY_URL_INVALID:
      return ExitCode.USAGE;
    case ErrorCode.CAPTURE_BAD_MAGIC:
    case ErrorCode.PCAP_TRUNCATED:
    case ErrorCode.PCAP_RECORD_TOO_LARGE:
    case ErrorCode.PCAPNG_BAD_BLOCK_LENGTH:
    case ErrorCode.PCAPNG_BAD_SECTION:
    case ErrorCode.PAYLOAD_INVALID:
    case ErrorCode.GEO_BUNDLE_INVALID:
      return ExitCode.BAD_INPUT;
    default:
      return ExitCode.FAILURE;
  }
}
