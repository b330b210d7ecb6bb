// `egress scan FILE|-`: read a capture, build flows, print NDJSON events or a
// per-destination table. Exit 0 when the whole input was read, 3 when it
// was truncated or corrupt (everything before the fault is still reported).

import { statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { CaptureReader, fileChunks, readCapture } from '../capture/reader.js';
import { Enricher } from '../enrich/enricher.js';
import { GeoDb } from '../enrich/geo.js';
import { chooseGeoData } from '../enrich/geo-store.js';
import { EgressError, ErrorCode, ExitCode } from '../errors.js';
import { DEFAULT_MAX_FLOWS } from '../flow/table.js';
import { dataDir } from '../live/settings.js';
import { QuicAhead } from '../names/quic-ahead.js';
import { EventThread } from '../output/event-thread.js';
import { lookupEventLine } from '../output/lookup.js';
import { captureGapLine, statsEvent, writeAlertEvent, writeAppEvent, writeFlowEvent } from '../output/ndjson.js';
import { collectStats } from '../output/stats.js';
import { DestinationTable } from '../output/table.js';
import { LineWriter } from '../output/writer.js';
import { type EventOutput, ScanPipeline } from '../pipeline.js';
import { DEFAULT_PROFILE, loadPolicy, profileNames } from '../policy/load.js';
import type { Policy } from '../policy/policy.js';
import { parseCommand, positiveInt } from './args.js';
import { applyHeapFlags } from './heap.js';
import type { CliIo } from './io.js';
import { Progress } from './progress.js';

// Stryker disable next-line StringLiteral: module-level text, built at import before a mutant is active (test/unit/cli-scan.test.ts checks the list)
const PROFILES = profileNames().join(', ');

export const SCAN_USAGE = `Usage: egress scan FILE|- [options]

Read a pcap or pcapng capture (FILE, or - for standard input) and report
every connection it holds.

Options:
  --format ndjson|table   NDJSON events (one JSON object a line, stats last)
                          or a per-destination table (default: table on a
                          terminal, ndjson otherwise)
  --policy FILE           policy YAML (allow, deny, geo_overrides; may extend a profile)
  --profile NAME          built-in profile: ${PROFILES}
                          (default when neither is given: ${DEFAULT_PROFILE})
  --geo-db FILE           geo/ASN database (default: the newer of the data installed by
                          "egress db update" and the one built with the agent)
  --data-dir DIR          where "egress db update" installs data (default: EGRESS_DATA_DIR
                          or ~/.local/state/egress)
  --max-flows N           flow table limit (default ${DEFAULT_MAX_FLOWS}); flows beyond it
                          evict the least recently active one (counted)
  --progress, --no-progress
                          progress on stderr (default: when stderr is a terminal)
  -h, --help              this help

Exit status: 0 read completely, 1 input unreadable, 2 usage error,
3 input truncated or corrupt (all complete records before it are reported).`;

const FILE_CHUNK = 1024 * 1024;

export async function scanCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand(
    argv,
    {
      format: { type: 'string' },
      'max-flows': { type: 'string' },
      policy: { type: 'string' },
      profile: { type: 'string' },
      'geo-db': { type: 'string' },
      'data-dir': { type: 'string' },
      progress: { type: 'boolean' },
      'no-progress': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    SCAN_USAGE,
  );
  if (values.help) {
    io.stdout.write(`${SCAN_USAGE}\n`);
    return ExitCode.OK;
  }
  if (positionals.length !== 1)
    throw new EgressError(ErrorCode.USAGE, `scan takes exactly one FILE (or -)\n${SCAN_USAGE}`);
  const format = (values.format as string | undefined) ?? (io.stdout.isTTY ? 'table' : 'ndjson');
  if (format !== 'ndjson' && format !== 'table') {
    throw new EgressError(ErrorCode.USAGE, `--format must be ndjson or table, got "${format}"`);
  }
  const maxFlows = positiveInt('max-flows', values['max-flows'] as string | undefined, DEFAULT_MAX_FLOWS);
  const file = positionals[0];
  const { input, size } = openInput(file, io);

  const policy = loadPolicy({
    file: values.policy as string | undefined,
    profile: values.profile as string | undefined,
  });
  const geo = chooseGeoData(dataDir(values['data-dir'] as string | undefined), values['geo-db'] as string | undefined);
  const enricher = new Enricher(GeoDb.load(geo.path), policy.geoOverrides);
  const wantProgress = values['no-progress'] ? false : (values.progress as boolean | undefined);
  // One helper thread: the event lines and, beside them, the QUIC look-ahead; or the look-ahead alone.
  const lookahead = wantsLookahead(file, size);
  let thread = format === 'ndjson' ? eventThreadFor(io, file, size, lookahead) : undefined;
  let quicAhead: QuicAhead | undefined;
  try {
    if (thread !== undefined && !(await thread.ready())) {
      // No thread after all: the pipeline writes its lines itself, as below the size.
      await thread.abandon();
      thread = undefined;
    }
    quicAhead = thread !== undefined ? thread.quicAhead : lookahead ? startLookahead(file) : undefined;
    await quicAhead?.ready();
    return await scanInput({
      io,
      file,
      input,
      size,
      format,
      maxFlows,
      policy,
      enricher,
      quicAhead,
      thread,
      wantProgress,
    });
  } finally {
    // Also when the scan failed part way: the look-ahead stops, the event thread writes what it was given and ends.
    await quicAhead?.stop();
    await thread?.abandon();
  }
}

interface ScanRun {
  io: CliIo;
  file: string;
  input: AsyncIterable<Buffer> | Readable;
  size: number | null;
  format: 'ndjson' | 'table';
  maxFlows: number;
  policy: Policy;
  enricher: Enricher;
  quicAhead: QuicAhead | undefined;
  thread: EventThread | undefined;
  wantProgress: boolean | undefined;
}

async function scanInput(run: ScanRun): Promise<number> {
  const { io, file, input, size, format, maxFlows, policy, enricher, quicAhead, thread, wantProgress } = run;
  const writer = new LineWriter(io.stdout);
  const table = new DestinationTable();
  const events = thread?.events;
  const output: EventOutput =
    events !== undefined
      ? {
          // Flow records read where the flow lies: no FlowRecord (nor address text) made for them.
          flowAt: (t, slot, reason, app, tunnel) => {
            if (app.internet) events.flowAt(t, slot, reason, app, tunnel);
          },
          internetFlowsOnly: true,
          // The thread makes each alert's text: the pipeline hands on what it is made from.
          alertFacts: (a) => events.alertFacts(a),
          app: (e) => events.app(e),
          gap: (g) => events.line(captureGapLine(g)),
          lookup: (l) => events.line(lookupEventLine(l)),
          keepsNoRecord: true,
        }
      : format === 'ndjson'
        ? {
            flow: (r) => {
              if (!r.internet) return;
              writeFlowEvent(writer.out, r);
              writer.endLine();
            },
            internetFlowsOnly: true,
            alert: (a) => {
              writeAlertEvent(writer.out, a);
              writer.endLine();
            },
            app: (e) => {
              writeAppEvent(writer.out, e);
              writer.endLine();
            },
            gap: (g) => writer.line(captureGapLine(g)),
            lookup: (l) => writer.line(lookupEventLine(l)),
            keepsNoRecord: true,
          }
        : {
            flow: (r) => table.flow(r),
            alert: (a) => table.alert(a),
            app: () => {},
            gap: (g) => table.gap(g),
            lookup: (l) => table.lookup(l),
          };
  const pipeline = new ScanPipeline(output, { maxFlows, policy, enricher, quicAhead });
  const label = file === '-' ? 'stdin' : file;
  const reader = new CaptureReader(pipeline, pipeline.anomalies, label);
  const progress = Progress.enabledFor(io.stderr, wantProgress) ? new Progress(io.stderr, label, size) : null;

  // Between input chunks (and batches of the flows ended at the end): the lines made so far go out.
  const between = events !== undefined ? async () => events.flush() : () => writer.flush();
  let error: EgressError | null;
  try {
    error = await readCapture(reader, input, async (bytes) => {
      progress?.update(bytes, pipeline.packets);
      await between();
    });
  } catch (err) {
    throw unreadable(file, err);
  }
  progress?.done();
  await quicAhead?.stop();
  await pipeline.finish(between);
  // Every event line is written before the stats line.
  await thread?.close();

  const stats = collectStats(pipeline, reader, error, policy.source, enricher.versions());
  if (format === 'ndjson') writer.line(JSON.stringify(statsEvent(stats)));
  else writer.line(table.render(stats).trimEnd());
  await writer.flush();
  if (error) {
    io.stderr.write(`egress: ${error.toLine()}\n`);
    return ExitCode.BAD_INPUT;
  }
  return ExitCode.OK;
}

/**
 * A capture file this large gets a second thread opening its QUIC Initials
 * ahead of the pipeline (names/quic-ahead.ts); below it, starting the thread
 * costs more than it saves. EGRESS_SCAN_LOOKAHEAD=0 turns it off, =1 on for
 * any file (tests, benchmarks).
 */
const LOOKAHEAD_MIN_BYTES = 32 * 1024 * 1024;

function wantsLookahead(file: string, size: number | null): boolean {
  const env = process.env.EGRESS_SCAN_LOOKAHEAD;
  if (file === '-' || size === null || env === '0') return false;
  return env === '1' || size >= LOOKAHEAD_MIN_BYTES;
}

function startLookahead(file: string): QuicAhead | undefined {
  try {
    return QuicAhead.start(file, applyHeapFlags);
  } catch {
    return undefined; // no thread to be had: the scan opens every Initial itself, as it always could
  }
}

/**
 * NDJSON to a file descriptor from a capture file this large gets a thread
 * of its own making the event lines (output/event-ring.ts); below it,
 * starting the thread costs more than it saves. EGRESS_SCAN_EVENT_THREAD=0
 * turns it off, =1 on for any file (tests, benchmarks). An output that is
 * a stream of this process only (a test's) has no descriptor and never has it.
 */
const EVENT_THREAD_MIN_BYTES = 32 * 1024 * 1024;

function eventThreadFor(io: CliIo, file: string, size: number | null, lookahead: boolean): EventThread | undefined {
  const env = process.env.EGRESS_SCAN_EVENT_THREAD;
  const fd = (io.stdout as { fd?: unknown }).fd;
  if (typeof fd !== 'number' || file === '-' || size === null || env === '0') return undefined;
  if (env !== '1' && size < EVENT_THREAD_MIN_BYTES) return undefined;
  try {
    return EventThread.start(fd, applyHeapFlags, lookahead ? file : undefined);
  } catch {
    return undefined; // no thread to be had: the pipeline writes the lines itself
  }
}

function openInput(file: string, io: CliIo): { input: AsyncIterable<Buffer> | Readable; size: number | null } {
  if (file === '-') return { input: io.stdin, size: null };
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
    size = st.size;
  } catch (err) {
    throw unreadable(file, err);
  }
  return { input: fileChunks(file, FILE_CHUNK), size };
}

function unreadable(file: string, err: unknown): EgressError {
  const e = err as NodeJS.ErrnoException;
  // Node's system errors already start with their code ("ENOENT: no such file…"): not twice.
  const why = e.code === undefined || e.message.startsWith(`${e.code}:`) ? e.message : `${e.code} ${e.message}`;
  return new EgressError(ErrorCode.INPUT_UNREADABLE, `cannot read ${file}: ${why}`, {
    file,
  });
}
