// Publishes the agent's messages to an MQTT broker (MQTT.js client) without
// ever losing an alert. Alerts and sessions go through the on-disk spool
// first (write-ahead), then out at QoS 1 in spool order; a record leaves the
// spool only when the broker has acknowledged it. Flows and stats are QoS 0
// and rate-limited; while the broker is away they are spooled too, and the
// spool drops them before it drops any alert.
//
// In-flight messages: at most `inflight` QoS 1 publishes are unacknowledged
// at a time. When the connection drops, MQTT.js keeps them in its outgoing
// store and sends them again first on reconnect (one at a time, each after
// the PUBACK of the one before), so the order holds; the drain continues after
// the last one handed over. That is the whole re-send after a drop: what was
// in flight at the drop (at most `inflight`; logged, counted in `resent`),
// never anything acknowledged; a second drop sends its own window again.
// (A record handed over during that replay and not yet written when the next
// drop comes is failed by MQTT.js and published again from the spool: counted,
// sent once.) After an agent crash the spool replays from its oldest
// unacknowledged record, so up to `inflight` alerts may arrive twice (same
// id): at least once, never lost.

import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Spool, SpoolClass, SpoolRecord } from './spool.js';

export interface PublisherOptions {
  /** mqtt://, mqtts://, ws:// or wss:// */
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  /** TLS: CA bundle, client certificate and key (PEM). */
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** Retained status topic, with its "online" payload and the last-will "offline" payload. */
  statusTopic: string;
  online: () => Buffer;
  offline: Buffer;
  spool: Spool;
  /** Unacknowledged QoS 1 publishes at a time (default 64). */
  inflight?: number;
  /** Flow messages per second while connected; more are dropped and counted (default 200). */
  flowsPerSecond?: number;
  /** Reconnect delay (default 1000 ms). */
  reconnectMs?: number;
  /** One line of operator log (connects, disconnects, errors). */
  log?: (line: string) => void;
}

export interface PublisherCounters {
  published_alert: number;
  published_session: number;
  published_flow: number;
  published_stats: number;
  rate_limited_flow: number;
  /** Messages the spool refused (disk full, I/O error); sent without it when connected. */
  spool_errors: number;
  /** Messages handed over after close() (at shutdown); not sent. */
  dropped_after_close: number;
  connects: number;
  /** Connections lost (a failed reconnect attempt is not one). */
  disconnects: number;
  /**
   * Alerts and sessions in flight (sent, not yet acknowledged) when a connection was lost, summed
   * over the losses: MQTT.js sends each again on reconnect, so each may reach a reader twice.
   */
  resent: number;
}

const QOS: Record<SpoolClass, 0 | 1> = { alert: 1, session: 1, flow: 0, stats: 0 };

export class Publisher {
  readonly counters: PublisherCounters = {
    published_alert: 0,
    published_session: 0,
    published_flow: 0,
    published_stats: 0,
    rate_limited_flow: 0,
    spool_errors: 0,
    dropped_after_close: 0,
    connects: 0,
    disconnects: 0,
    resent: 0,
  };
  private readonly client: MqttClient;
  private readonly spool: Spool;
  private readonly inflightMax: number;
  private readonly flowsPerSecond: number;
  /** Spool records handed to the client and not yet acknowledged. */
  private readonly inFlight = new Set<number>();
  private draining = false;
  // Stryker disable next-line BooleanLiteral: drain() sets it false before it is first read
  private drainAgain = false;
  private tokens: number;
  private tokensAtMs = Date.now();
  private closed = false;
  private wasConnected = false;
  lastError: string | null = null;
  private lastSpoolError: string | null = null;

  constructor(private readonly options: PublisherOptions) {
    this.spool = options.spool;
    this.inflightMax = options.inflight ?? 64;
    this.flowsPerSecond = options.flowsPerSecond ?? 200;
    this.tokens = this.flowsPerSecond;
    const mqttOptions: IClientOptions = {
      clientId: options.clientId,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: options.reconnectMs ?? 1000,
      connectTimeout: 10_000,
      keepalive: 30,
      username: options.username,
      password: options.password,
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      queueQoSZero: false,
      will: { topic: options.statusTopic, payload: options.offline, qos: 1, retain: true },
    };
    this.client = connect(options.url, mqttOptions);
    this.client.on('connect', () => {
      // Nagle's algorithm off: a publish written after a QoS 0 message (flow,
      // stats), which the broker never answers, would otherwise wait for the
      // broker's delayed ACK, up to 40 ms on Linux. (TCP and TLS streams;
      // WebSocket streams have no such switch.)
      // Stryker disable next-line BooleanLiteral,OptionalChaining: Nagle changes latency only, never what is delivered or in which order
      (this.client.stream as { setNoDelay?: (noDelay: boolean) => void }).setNoDelay?.(true);
      this.counters.connects++;
      this.wasConnected = true;
      this.lastError = null;
      this.options.log?.(`connected to ${options.url}`);
      this.client.publish(options.statusTopic, options.online(), { qos: 1, retain: true });
      this.drain();
    });
    this.client.on('close', () => {
      if (this.closed) return;
      // Logged once per lost connection (a take-over by another client with our id shows up here too).
      if (!this.wasConnected) return;
      // What was in flight goes again on reconnect (and only that): said, so duplicates can be explained.
      const inFlight = this.inFlight.size;
      this.options.log?.(`disconnected from ${options.url}; reconnecting (${inFlight} in flight, sent again)`);
      this.wasConnected = false;
      this.counters.disconnects++;
      this.counters.resent += inFlight;
    });
    this.client.on('error', (err) => {
      if (this.lastError !== err.message) this.options.log?.(`broker ${options.url}: ${err.message}`);
      this.lastError = err.message;
    });
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** Messages waiting in the spool (including those in flight). */
  get pending(): number {
    return this.spool.pending;
  }

  /**
   * Hand a message over. Alerts and sessions are spooled first, always;
   * flows and stats go straight out when connected (flows rate-limited), and
   * to the spool when not.
   */
  send(cls: SpoolClass, topic: string, message: Buffer | (() => Buffer)): void {
    if (cls === 'flow' && !this.takeToken()) {
      this.counters.rate_limited_flow++;
      return;
    }
    if (this.closed) {
      this.counters.dropped_after_close++;
      return;
    }
    // Encoded only once admitted: a flow over the rate limit costs no protobuf encoding.
    const payload = typeof message === 'function' ? message() : message;
    if (QOS[cls] === 0 && this.client.connected && this.spool.pending === 0) {
      // Stryker disable next-line ObjectLiteral: QoS 0 is MQTT.js's default; said for the reader
      this.client.publish(topic, payload, { qos: 0 });
      this.count(cls);
      return;
    }
    try {
      this.spool.append(cls, topic, payload);
    } catch (err) {
      // The spool cannot take it (disk full, I/O error): never stop the capture for it. Counted
      // and logged; when connected the message still goes out, just without the disk behind it.
      this.spoolFailed(err);
      if (this.client.connected)
        this.client.publish(topic, payload, { qos: QOS[cls], retain: cls === 'session' }, (e) => e || this.count(cls));
      return;
    }
    this.drain();
  }

  /** Publish a retained message now (status), when connected; nothing is spooled. */
  publishRetained(topic: string, payload: Buffer): void {
    if (this.client.connected) this.client.publish(topic, payload, { qos: 1, retain: true });
  }

  /** Publish a reply or other transient message at QoS 1 when connected. */
  publishNow(topic: string, payload: Buffer): void {
    if (this.client.connected) this.client.publish(topic, payload, { qos: 1 });
  }

  /** Subscribe (commands); the handler gets every message on matching topics, with its retain flag. */
  subscribe(topic: string, onMessage: (topic: string, payload: Buffer, retain: boolean) => void): void {
    this.client.subscribe(topic, { qos: 1 });
    this.client.on('message', (t, payload, packet) => onMessage(t, payload, packet.retain === true));
  }

  /**
   * Resolves when everything spooled has been acknowledged, after `timeoutMs`,
   * or when `interrupt` settles, whichever is first. Returns whether everything was.
   */
  async flush(timeoutMs: number, interrupt?: Promise<unknown>): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    let interrupted = false;
    interrupt?.then(() => {
      interrupted = true;
    });
    // Stryker disable next-line EqualityOperator: < or <= at the deadline's millisecond: one more 10 ms round, same result
    while (this.spool.pending > 0 && Date.now() < until && !interrupted) {
      this.drain();
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.spool.pending === 0;
  }

  /**
   * Publish "offline" (retained) when connected, then disconnect. The spool keeps what was not
   * delivered. Bounded: a broker that stopped answering (PUBACK never comes) gets `timeoutMs` for
   * the "offline", then the connection is cut (its last will says "offline" instead); waiting for
   * unacknowledged publishes could take for ever.
   */
  async close(timeoutMs = 2000): Promise<void> {
    // Stryker disable next-line ConditionalExpression: a second close() finds the client ended; ending it again does nothing
    if (this.closed) return;
    let acked = false;
    if (this.client.connected) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        this.client.publish(this.options.statusTopic, this.options.offline, { qos: 1, retain: true }, (err) => {
          acked = !err;
          resolve();
        });
      });
      clearTimeout(timer);
    }
    this.closed = true;
    // A clean DISCONNECT only when nothing is left unacknowledged: MQTT.js would wait for it.
    await this.client.endAsync(!(acked && this.inFlight.size === 0));
  }

  private spoolFailed(err: unknown): void {
    this.counters.spool_errors++;
    const message = (err as Error).message;
    if (message !== this.lastSpoolError) this.options.log?.(`spool: ${message} (counted as mqtt.spool_errors)`);
    this.lastSpoolError = message;
  }

  private count(cls: SpoolClass): void {
    switch (cls) {
      case 'alert':
        this.counters.published_alert++;
        break;
      case 'session':
        this.counters.published_session++;
        break;
      case 'flow':
        this.counters.published_flow++;
        break;
      case 'stats':
        this.counters.published_stats++;
        break;
    }
  }

  private takeToken(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.flowsPerSecond, this.tokens + ((now - this.tokensAtMs) * this.flowsPerSecond) / 1000);
    this.tokensAtMs = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }

  /** Move spooled records to the broker, in spool order, keeping at most `inflight` unacknowledged. */
  private drain(): void {
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = true;
    try {
      do {
        this.drainAgain = false;
        // Stryker disable next-line ConditionalExpression,LogicalOperator: while away MQTT.js would queue the publish and send it first on reconnect, in the same order (memory only, bounded by the window); after close() the client is never connected
        if (!this.client.connected || this.closed) return;
        // Stryker disable next-line ArithmeticOperator: peek's size bounds what is looked at; the loop's break bounds what is published
        const room = this.inflightMax - this.inFlight.size;
        // Stryker disable next-line ConditionalExpression,EqualityOperator: with no room every peeked record is in flight and skipped (and the break below holds the window)
        if (room <= 0) return;
        let batch: SpoolRecord[];
        try {
          batch = this.spool.peek(this.inFlight.size + room);
        } catch (err) {
          // A spool that cannot be read (I/O error) must not throw out of an MQTT event: counted, logged.
          this.spoolFailed(err);
          return;
        }
        for (const rec of batch) {
          if (this.inFlight.has(rec.seq)) continue;
          // Stryker disable next-line ConditionalExpression,EqualityOperator: peek(inflight) holds the in-flight records, so new ones never exceed the room; kept for a bulk record held in flight by socket backpressure
          if (this.inFlight.size >= this.inflightMax) break;
          this.publishSpooled(rec);
        }
      } while (this.drainAgain);
    } finally {
      this.draining = false;
    }
  }

  private publishSpooled(rec: SpoolRecord): void {
    this.inFlight.add(rec.seq);
    // A session message is retained: a dashboard that connects later sees the open (or last) flight.
    this.client.publish(rec.topic, rec.payload, { qos: QOS[rec.cls], retain: rec.cls === 'session' }, (err) => {
      if (err) {
        // The client gave up on it (closing); it stays in the spool for the next start.
        this.inFlight.delete(rec.seq);
        return;
      }
      this.inFlight.delete(rec.seq);
      this.spool.ack(rec.seq);
      this.count(rec.cls);
      this.drain();
    });
  }
}
