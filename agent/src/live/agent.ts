// The live agent: the scan pipeline fed by a live source (tcpdump, or a
// replayed capture), with its events published over MQTT as they happen.
//
//   source ──► ScanPipeline ──► alert ─► spool ─► MQTT (QoS 1, in order)
//                               flow  ─► MQTT (QoS 0, rate-limited; spooled while away)
//   timers: stats every few seconds, idle-flow expiry by wall clock
//   cmd/<verb> ─► validated, token checked ─► reply/<verb>
//
// The broker is embedded (aedes on 127.0.0.1, WebSocket on the HTTP port)
// unless --broker names an external one. Publishing never blocks the
// capture: the spool and the rate limit bound what waits. Where events go:
// agent-output.ts; the retained status: agent-status.ts; options: agent-options.ts.

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { CaptureGap, PacketSink } from '../capture/types.js';
import { EgressError, ErrorCode } from '../errors.js';
import { recorderContext } from '../evidence/context.js';
import { EvidenceRecorder } from '../evidence/recorder.js';
import { sessionInfo } from '../evidence/session-message.js';
import type { OperatorFields } from '../evidence/session-store.js';
import { addHistoryRoutes } from '../history/routes.js';
import { HistorySink } from '../history/sink.js';
import type { DashboardServer } from '../http/server.js';
import type { EmbeddedBroker } from '../mqtt/broker.js';
import { encodeStats, type MessageContext } from '../mqtt/codec.js';
import { encodeSession } from '../mqtt/codec-control.js';
import { CommandGate } from '../mqtt/commands.js';
import type { Publisher } from '../mqtt/publisher.js';
import { Spool } from '../mqtt/spool.js';
import { commandFilter, topicFor } from '../mqtt/topics.js';
import type { AlertRecord } from '../output/flow-record.js';
import type { ScanStats } from '../output/ndjson.js';
import { type CaptureInfo, collectStats } from '../output/stats.js';
import { ScanPipeline } from '../pipeline.js';
import { AllowOverlay } from '../policy/overlay.js';
import { judge } from '../policy/verdict.js';
import { COMMAND_VERBS, runVerb } from './agent-commands.js';
import type { StatusProblem } from './agent-condition.js';
import { agentCounters } from './agent-counters.js';
import { openEndpoints, openPublisher } from './agent-endpoints.js';
import type { CaptureHealthView, LiveAgentOptions } from './agent-options.js';
import { agentOutput } from './agent-output.js';
import { AgentStatus } from './agent-status.js';
import type { GatewayBlocking } from './blocking.js';
import { CaptureGapLog, withGaps } from './capture-gaps.js';
import type { GatewaySignals } from './signals.js';

export class LiveAgent {
  readonly pipeline: ScanPipeline;
  readonly publisher: Publisher;
  readonly spool: Spool;
  /** Flight sessions and their evidence (agent/src/evidence/). */
  readonly evidence: EvidenceRecorder;
  /** Traffic history in InfluxDB (agent/src/history/), or null. */
  readonly history: HistorySink | null;
  /** End the open session when the agent stops (a session opened with --session); otherwise it resumes on the next start. */
  endSessionOnStop = false;
  private evidenceTimer: NodeJS.Timeout | null = null;
  /** Capture health, filled in by whoever runs the source. */
  captureHealth: () => CaptureHealthView | null = () => null;
  /** What is wrong with the capture right now (plain language), or null; filled in by whoever runs the source. */
  captureProblem: () => StatusProblem | null = () => null;
  /** Gaps in the capture, and whether the status must say "capture incomplete" (capture-gaps.ts). */
  readonly gaps = new CaptureGapLog();
  /** The retained status: the agent's condition, clock check and start time (agent-status.ts). */
  private readonly status: AgentStatus;
  /** Format and link types of the source, filled in by whoever runs it. */
  captureInfo: CaptureInfo = { format: 'pcap', linkTypes: () => [] };
  session: { id: string; name: string; startUs: number } | null = null;
  /** The gateway's lights, buzzer and button (live/signals.ts); null without --gpio. */
  signals: GatewaySignals | null = null;
  /** Block mode: high alerts' destinations to the block helper (live/blocking.ts); null without --block-socket. */
  blocking: GatewayBlocking | null = null;
  /** Called after each alert is spooled (for a console log). */
  onAlert: ((a: AlertRecord) => void) | null = null;
  /** Unique per agent run: alert ids are gateway/run/flow/severity. */
  private readonly runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  private statsTimer: NodeJS.Timeout | null = null;
  /** Destinations allowed from the dashboard, applied on top of the policy. */
  readonly overlay: AllowOverlay;
  /** Retain flag, rate, size, token and verb checks before a command runs (mqtt/commands.ts). */
  readonly commands: CommandGate;
  private finished = false;
  /** The agent's topics, egress/v1/<gateway>/<kind>. */
  readonly topic: Record<'status' | 'alert' | 'flow' | 'stats' | 'session', string>;

  private constructor(
    private readonly options: LiveAgentOptions,
    private readonly broker: EmbeddedBroker | null,
    readonly http: DashboardServer | null,
    readonly brokerUrl: string,
    spool: Spool,
    publisher: Publisher,
    overlay: AllowOverlay,
  ) {
    this.spool = spool;
    this.publisher = publisher;
    this.overlay = overlay;
    this.status = new AgentStatus(options);
    this.commands = new CommandGate({
      gateway: options.gateway,
      token: options.secrets.dashboard,
      verbs: COMMAND_VERBS,
      publish: (topic, payload) => this.publisher.publishNow(topic, payload),
    });
    this.status.clock.start();
    const gw = options.gateway;
    this.topic = {
      status: topicFor(gw, 'status'),
      alert: topicFor(gw, 'alert'),
      flow: topicFor(gw, 'flow'),
      stats: topicFor(gw, 'stats'),
      session: topicFor(gw, 'session'),
    };
    this.pipeline = new ScanPipeline(agentOutput(this), {
      maxFlows: options.maxFlows,
      policy: options.policy,
      enricher: options.enricher,
    });
    this.history = options.history ? new HistorySink(options.history, options.log) : null;
    const ctx = recorderContext({ ...options, databases: options.enricher.versions() });
    this.evidence = new EvidenceRecorder(options.dataDir, ctx, this.pipeline, {
      log: options.log,
      ...options.evidence,
    });
  }

  static async start(options: LiveAgentOptions): Promise<LiveAgent> {
    // Before anything opens: a bad overlay file stops the start with nothing to close.
    const overlay = AllowOverlay.load(options.dataDir, options.policy);
    const spool = Spool.open(join(options.dataDir, 'spool'), { maxBytes: options.spoolBytes ?? 64 * 1024 * 1024 });
    const { http, broker, url, auth } = await openEndpoints(options);
    const gw = options.gateway;
    let agent: LiveAgent | null = null;
    const publisher = openPublisher(options, url, auth, spool, () => agent?.statusPayload() ?? Buffer.alloc(0));
    agent = new LiveAgent(options, broker, http, url, spool, publisher, overlay);
    publisher.subscribe(commandFilter(gw), (topic, payload, retain) => agent?.command(topic, payload, retain));
    if (http && agent.history) addHistoryRoutes(http, agent.history, gw, options.dataDir);
    agent.statsTimer = setInterval(() => agent?.publishStats(), options.statsIntervalMs ?? 5000);
    agent.statsTimer.unref();
    const resumed = agent.evidence.resume();
    if (resumed) agent.session = { id: resumed.id, name: resumed.name, startUs: Date.parse(resumed.start) * 1000 };
    if (resumed) agent.publishSession(null);
    agent.evidenceTimer = setInterval(() => agent?.evidence.tick(), 1000);
    agent.evidenceTimer.unref();
    return agent;
  }

  /** The sink a capture source feeds. */
  get sink(): PacketSink {
    return this.evidence;
  }

  /** The source was blind for a while: into the evidence log, the next stats message and the status. */
  captureGap(gap: CaptureGap): void {
    this.gaps.add(gap);
    this.evidence.captureGap(gap);
    this.updateStatus();
  }

  /** Wall-clock tick from the source: end flows that went idle. */
  tick(nowUs: number): void {
    this.pipeline.flows.expireIdle(nowUs);
  }

  /** Where the dashboard is served (HTTP, MQTT over WebSocket at /mqtt). */
  get httpAddress(): string | null {
    if (this.http === null) return null;
    const a = this.http.address;
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  stats(): ScanStats {
    const o = this.options;
    return collectStats(this.pipeline, this.captureInfo, null, o.policy.source, o.enricher.versions());
  }

  /** Every component's counters, named "<component>.<counter>" (agent-counters.ts). */
  counters(): Record<string, number> {
    return agentCounters({
      publisher: this.publisher,
      spool: this.spool,
      geo: this.options.geo,
      gaps: this.gaps,
      evidence: this.evidence,
      overlay: this.overlay,
      signals: this.signals,
      blocking: this.blocking,
      commands: this.commands,
      broker: this.broker,
      history: this.history,
    });
  }

  publishStats(): void {
    // A bundle installed by `egress db update` since the last tick: answer from it, and say so in the status.
    if (this.options.geo?.refresh(this.options.enricher))
      this.publisher.publishRetained(this.topic.status, this.statusPayload());
    this.updateStatus();
    const stats = this.stats();
    const state = this.status.condition.state;
    this.history?.sample(
      {
        stats,
        capture: this.captureHealth(),
        state,
        text: this.status.condition.text,
        startedUs: this.status.startedUs,
      },
      this.ctx(),
    );
    this.publisher.send(
      'stats',
      this.topic.stats,
      encodeStats(stats, this.ctx(), {
        tsUs: Date.now() * 1000,
        counters: this.counters(),
        capture: withGaps(this.captureHealth(), this.gaps),
      }),
    );
  }

  /** End every open flow now (their flow messages and any final alerts go out); once. */
  async finishFlows(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.pipeline.finish();
  }

  /**
   * Stop: end every open flow, publish the last stats, give the broker up to
   * `flushMs` (or until `interrupt` settles) to take what is spooled, then
   * say "offline" and close. What is not delivered stays in the spool for
   * the next start. Resolves to whether everything was delivered.
   */
  async stop(flushMs = 5000, interrupt?: Promise<unknown>): Promise<boolean> {
    if (this.statsTimer) clearInterval(this.statsTimer);
    if (this.evidenceTimer) clearInterval(this.evidenceTimer);
    this.status.clock.stop();
    await this.finishFlows();
    this.publishStats();
    if (this.session && this.endSessionOnStop) this.endFlight();
    else this.evidence.suspend();
    const historyClosed = this.history?.close(flushMs);
    await this.publisher.flush(flushMs, interrupt);
    await historyClosed;
    await this.publisher.close();
    // Acknowledgements that arrive while the "offline" status goes out count: what is delivered
    // is what the spool no longer holds once the connection is closed.
    const delivered = this.spool.pending === 0;
    this.spool.close();
    await this.broker?.close();
    await this.http?.close();
    return delivered;
  }

  /** Open a flight session: alerts, flows and stats carry its id until it ends. */
  startFlight(name: string, operator: OperatorFields = {}): { id: string; name: string; startUs: number } {
    if (this.session) throw new EgressError(ErrorCode.COMMAND_REJECTED, `flight ${this.session.id} is already open`);
    const m = this.evidence.start(name, operator);
    this.session = { id: m.id, name: m.name, startUs: Date.parse(m.start) * 1000 };
    this.signals?.session(true);
    this.pipeline.lookups.startOver(); // each flight records the lookups made during it
    this.publishSession(null);
    return this.session;
  }

  /** Close the open flight session. */
  endFlight(): { id: string; name: string; startUs: number } {
    const s = this.session;
    if (s === null) throw new EgressError(ErrorCode.COMMAND_REJECTED, 'no flight is open');
    const records = this.evidence.records;
    const meta = this.evidence.end();
    this.publishSession(meta?.end ? Date.parse(meta.end) * 1000 : Date.now() * 1000, meta, records);
    this.session = null;
    this.signals?.session(false);
    this.publishStatus();
    return s;
  }

  /** The live policy changed (the allow overlay grew): blocks it no longer calls for are lifted. */
  policyChanged(): void {
    this.blocking?.reconsider((d) => judge(d, this.options.policy).verdict === 'high');
  }

  /** Republish the retained status now (the gateway's lights changed). */
  publishStatus(): void {
    this.publisher.publishRetained(this.topic.status, this.statusPayload());
  }

  private publishSession(endUs: number | null, meta = this.evidence.current, records = this.evidence.records): void {
    const s = this.session;
    if (s === null) return;
    const payload = encodeSession(sessionInfo(this.options.gateway, s, endUs, meta, records, this.evidence.gapCount));
    // Spooled like alerts, and retained (publisher.ts): a dashboard that connects later sees the open flight.
    this.publisher.send('session', this.topic.session, payload);
    if (endUs === null) this.publisher.publishRetained(this.topic.status, this.statusPayload());
  }

  /** Republish the retained status when the agent's condition changes: capture trouble or spool drops make it DEGRADED. */
  private updateStatus(): void {
    const change = this.status.update(this);
    if (change === null) return;
    this.options.log(`status: ${change.text}`);
    this.signals?.running(change.problems);
    this.publisher.publishRetained(this.topic.status, this.statusPayload());
  }

  /** Who is publishing now: gateway, open session, run (mqtt/codec.ts MessageContext). */
  ctx(): MessageContext {
    return { gateway: this.options.gateway, session: this.session?.id ?? '', run: this.runId };
  }

  private statusPayload(): Buffer {
    return this.status.payload(this);
  }

  /** A command from cmd/<verb>: checked by the gate, run, answered on reply/<verb>; never throws. */
  private command(topic: string, payload: Buffer, retain: boolean): void {
    const cmd = this.commands.admit(topic, payload, retain);
    if (cmd === null) return;
    this.evidence.command(cmd.verb, cmd.args);
    try {
      cmd.reply(true, runVerb(this, cmd.verb, cmd.args));
    } catch (err) {
      cmd.reply(false, err instanceof EgressError ? err.message : String(err));
    }
  }
}
