// `egress export SESSION --out bundle.zip` and the dashboard's download:
// a closed session turned into a signed bundle (DESIGN.md "Evidence"):
// report.html, flows.csv, events.ndjson, flagged.pcapng, public-key.pem,
// README.txt, manifest.json + manifest.sig, SHA256SUMS + SHA256SUMS.sig.
// The zip is written with fflate (see README "Dependencies and why").

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { EgressError, ErrorCode } from '../errors.js';
import { bundleReadme } from './bundle-readme.js';
import { checkChain, sha256Hex } from './chain.js';
import { emptyPcapng } from './flagged-pcap.js';
import { loadKey, type SigningKey, signBytes } from './keys.js';
import { readModel, type SessionModel } from './model.js';
import { renderReport } from './report.js';
import { readMeta, sessionDir } from './session-store.js';

export const BUNDLE_FORMAT = 'egress-evidence-bundle/1';
/** Files a bundle holds besides those its manifest lists. */
export const SIGNATURE_FILES = ['manifest.json', 'manifest.sig', 'SHA256SUMS', 'SHA256SUMS.sig'] as const;

export interface ExportResult {
  file: string;
  files: number;
  records: number;
  statement: SessionModel['statement'];
  fingerprint: string;
}

/** Export a closed session of DATA_DIR to a zip at `outPath`. */
export function exportSession(dataDir: string, sessionId: string, outPath: string, now = new Date()): ExportResult {
  const key = loadKey(dataDir);
  const { zip, result } = buildBundle(dataDir, sessionId, key, now);
  writeFileSync(outPath, zip);
  return { ...result, file: outPath };
}

/** The bundle of a closed session as bytes, for an HTTP download (`GET /api/sessions/<id>/export`). */
export function exportSessionBytes(dataDir: string, sessionId: string, now = new Date()): Buffer {
  return buildBundle(dataDir, sessionId, loadKey(dataDir), now).zip;
}

export function buildBundle(
  dataDir: string,
  sessionId: string,
  key: SigningKey,
  now = new Date(),
): { zip: Buffer; result: Omit<ExportResult, 'file'> } {
  const meta = readMeta(dataDir, sessionId);
  if (meta.state !== 'closed')
    throw new EgressError(
      ErrorCode.SESSION_STATE,
      `flight ${sessionId} is still open; end it first (egress session end)`,
    );
  const dir = sessionDir(dataDir, sessionId);
  const events = readFileSync(join(dir, 'events.ndjson'));
  const chain = checkChain(events, key.publicKey);
  if (chain.error !== null)
    throw new EgressError(ErrorCode.EVIDENCE_LOG_DAMAGED, `the log of ${sessionId} is damaged: ${chain.error}`, {
      file: join(dir, 'events.ndjson'),
    });
  const model = readModel(meta, chain.records);
  let pcap: Buffer;
  try {
    pcap = readFileSync(join(dir, 'flagged.pcapng'));
  } catch {
    pcap = emptyPcapng(`Egress Sentinel ${meta.agent_version}`);
  }
  const files: Record<string, Buffer> = {
    'report.html': Buffer.from(renderReport(model, key.fingerprint)),
    'flows.csv': Buffer.from(flowsCsv(model)),
    'events.ndjson': events,
    'flagged.pcapng': pcap,
    'public-key.pem': Buffer.from(key.publicPem),
    'README.txt': Buffer.from(bundleReadme(sessionId, key.fingerprint)),
  };
  const manifest = {
    format: BUNDLE_FORMAT,
    session: meta.id,
    name: meta.name,
    gateway: meta.gateway,
    operator: meta.operator,
    exported: now.toISOString(),
    window: { start: meta.start, end: meta.end },
    clock: { start: meta.clock_start, end: meta.clock_end },
    agent_version: meta.agent_version,
    policy: meta.policy,
    databases: meta.databases,
    key_fingerprint: key.fingerprint,
    records: chain.records.length,
    flows: model.flows.length,
    flagged_destinations: model.destinations.length,
    capture_gaps: model.gaps.length,
    denied_lookups: model.lookups.length,
    statement: model.statement,
    files: Object.entries(files).map(([name, b]) => ({ name, size: b.length, sha256: sha256Hex(b) })),
  };
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  const sums = `${[...Object.entries(files), ['manifest.json', manifestBytes] as const]
    .map(([name, b]) => `${sha256Hex(b)}  ${name}`)
    .join('\n')}\n`;
  const all: Record<string, Uint8Array> = {
    ...files,
    'manifest.json': manifestBytes,
    'manifest.sig': signBytes(key, manifestBytes),
    SHA256SUMS: Buffer.from(sums),
    'SHA256SUMS.sig': signBytes(key, sums),
  };
  const mtime = new Date(meta.end ?? meta.start);
  const entries: Record<string, [Uint8Array, { mtime: Date; level: 6 }]> = {};
  for (const [name, b] of Object.entries(all)) entries[name] = [b, { mtime, level: 6 }];
  return {
    zip: Buffer.from(zipSync(entries)),
    result: {
      files: Object.keys(all).length,
      records: chain.records.length,
      statement: model.statement,
      fingerprint: key.fingerprint,
    },
  };
}

const CSV_COLUMNS = [
  'flow_id',
  'start',
  'end',
  'src_ip',
  'src_port',
  'dest_ip',
  'dest_port',
  'proto',
  'app_proto',
  'names',
  'country',
  'asn',
  'as_org',
  'as_country',
  'verdict',
  'reasons',
  'pkts_toserver',
  'pkts_toclient',
  'bytes_toserver',
  'bytes_toclient',
] as const;

/** RFC 4180 CSV; a cell that a spreadsheet would run as a formula gets a leading apostrophe. */
export function flowsCsv(m: SessionModel): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const f of m.flows) {
    const row: unknown[] = [
      f.flow_id,
      f.start,
      f.end,
      f.src_ip,
      f.src_port,
      f.dest_ip,
      f.dest_port,
      f.proto,
      f.app_proto,
      f.dest.names.join(' '),
      f.dest.country,
      f.dest.asn,
      f.dest.as_org,
      f.dest.as_country,
      f.verdict,
      f.reasons.join(' '),
      f.pkts_toserver,
      f.pkts_toclient,
      f.bytes_toserver,
      f.bytes_toclient,
    ];
    lines.push(row.map(cell).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n']/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
