// `egress scan FILE|-`: read a capture, build flows, print NDJSON events or a
// per-destination table. Exit 0 when the whole input was read, 3 when it
// was truncated or corrupt (everything before the fault is still reported).

import { statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { CaptureReader, fileChunks, readCapture } from '../capture/reader.js';
import { EgressError, ErrorCode, ExitCode } from '../errors.js';
import { DEFAULT_MAX_FLOWS } from '../flow/table.js';
import type { FlowRecord } from '../output/flow-record.js';
import { flowEventLine, type ScanStats, statsEvent } from '../output/ndjson.js';
import { DestinationTable } from '../output/table.js';
import { LineWriter } from '../output/writer.js';
import { ScanPipeline } from '../pipeline.js';
import { parseCommand, positiveInt } from './args.js';
import type { CliIo } from './io.js';
import { Progress } from './progress.js';

export const SCAN_USAGE = `Usage: egress scan FILE|- [options]

Read a pcap or pcapng capture (FILE, or - for standard input) and report
every connection it holds.

Options:
  --format ndjson|table   NDJSON events (one JSON object a line, stats last)
                          or a per-destination table (default: table on a
                          terminal, ndjson otherwise)
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

  const writer = new LineWriter(io.stdout);
  const table = new DestinationTable();
  const output = {
    flow:
      format === 'ndjson'
        ? (r: FlowRecord) => {
            if (r.internet) writer.line(flowEventLine(r));
          }
        : (r: FlowRecord) => table.flow(r),
  };
  const pipeline = new ScanPipeline(output, { maxFlows });
  const reader = new CaptureReader(pipeline, pipeline.anomalies, file === '-' ? 'stdin' : file);
  const wantProgress = values['no-progress'] ? false : (values.progress as boolean | undefined);
  const progress = Progress.enabledFor(io.stderr, wantProgress) ? new Progress(io.stderr, file, size) : null;

  let error: EgressError | null;
  try {
    error = await readCapture(reader, input, async (bytes) => {
      progress?.update(bytes, pipeline.packets);
      await writer.flush();
    });
  } catch (err) {
    throw unreadable(file, err);
  }
  progress?.done();
  await pipeline.finish(() => writer.flush());

  const stats = collectStats(pipeline, reader, error);
  if (format === 'ndjson') writer.line(JSON.stringify(statsEvent(stats)));
  else writer.line(table.render(stats).trimEnd());
  await writer.flush();
  if (error) {
    io.stderr.write(`egress: ${error.toLine()}\n`);
    return ExitCode.BAD_INPUT;
  }
  return ExitCode.OK;
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
  return new EgressError(ErrorCode.INPUT_UNREADABLE, `cannot read ${file}: ${e.code ?? ''} ${e.message}`.trim(), {
    file,
  });
}

function collectStats(p: ScanPipeline, reader: CaptureReader, error: EgressError | null): ScanStats {
  const c = p.flows.counters;
  return {
    packets: p.packets,
    bytes: p.bytes,
    firstUs: p.firstUs,
    lastUs: p.lastUs,
    format: reader.format,
    linkTypes: reader.linkTypes(),
    decoded: { transport: p.decoded[0], ip_only: p.decoded[1], not_ip: p.decoded[2], malformed: p.decoded[3] },
    flows: c.created,
    flowsInternet: p.flowsInternet,
    flowsLocal: p.flowsLocal,
    flowTable: {
      max: p.flows.maxFlows,
      active_max: c.activeMax,
      ended_closed: c.endedClosed,
      ended_timeout: c.endedTimeout,
      ended_port_reuse: c.endedPortReuse,
      ended_end_of_input: c.endedEndOfInput,
      evicted_lru: c.evictedLru,
    },
    anomalies: p.anomalies.toJSON(),
    error,
  };
}
