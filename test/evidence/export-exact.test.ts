// `egress export` in process (agent/src/evidence/export.ts): the bundle of a
// recorded flight — its files, the manifest field by field, SHA256SUMS in
// sha256sum's format, both signatures, every zip entry dated at the flight's
// end — written to a file with the same bytes as the download; an empty
// capture when no packet was flagged; and the stable errors for a flight
// still open and a log that is damaged.

import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { afterEach, describe, expect, it } from 'vitest';
import { bundleReadme } from '../../agent/src/evidence/bundle-readme.js';
import { exportSession, exportSessionBytes } from '../../agent/src/evidence/export.js';
import { emptyPcapng } from '../../agent/src/evidence/flagged-pcap.js';
import { loadOrCreateKey, verifyBytes } from '../../agent/src/evidence/keys.js';
import {
  endSession,
  type OpenSession,
  type RecorderContext,
  startSession,
} from '../../agent/src/evidence/session-store.js';
import { caught } from '../support/caught.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const START = Date.parse('2026-05-01T10:00:00Z');

function recorded(): { data: string; ctx: RecorderContext; s: OpenSession } {
  const data = mkdtempSync(join(tmpdir(), 'egress-export-'));
  dirs.push(data);
  let now = START * 1000;
  const ctx: RecorderContext = {
    gateway: 'gw-e',
    version: '3.1.4',
    policy: { source: 'policy.yaml', sha256: 'd'.repeat(64) },
    databases: { geo: '2026-01' },
    key: loadOrCreateKey(data),
    clock: () => ({ synchronized: true, source: 'test' }),
    now: () => {
      now += 1_000_000;
      return now;
    },
  };
  const s = startSession(data, ctx, 'Export flight', { unit: 'U1' });
  s.log.append(
    'flow',
    JSON.stringify({
      flow_id: 1,
      start: '2026-05-01T10:00:01.000000Z',
      end: '2026-05-01T10:00:02.000000Z',
      src_ip: '10.0.0.2',
      src_port: 5000,
      dest_ip: '203.0.113.9',
      dest_port: 443,
      proto: 'TCP',
      app_proto: 'tls',
      dest: { names: ['a.example'], country: 'CN', asn: 4134, as_org: 'CT', as_country: 'CN' },
      verdict: 'high',
      reasons: ['deny_country'],
      pkts_toserver: 1,
      pkts_toclient: 1,
      bytes_toserver: 10,
      bytes_toclient: 20,
    }),
  );
  s.log.append(
    'capture_gap',
    JSON.stringify({
      start: '2026-05-01T10:00:01Z',
      end: '2026-05-01T10:00:02Z',
      cause: 'kernel_drop',
      packets_dropped: 1,
    }),
  );
  s.log.append(
    'lookup',
    JSON.stringify({
      timestamp: '2026-05-01T10:00:01Z',
      src_ip: '10.0.0.2',
      dest_ip: '10.0.0.1',
      name: 'x.example',
      alert: { severity: 'high', rule: 'deny' },
    }),
  );
  return { data, ctx, s };
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The DOS date and time of each zip entry's local header (APPNOTE 4.3.7), as a local Date. */
function entryTimes(zip: Buffer): Date[] {
  const out: Date[] = [];
  for (let p = zip.indexOf('PK\x03\x04'); p >= 0; p = zip.indexOf('PK\x03\x04', p + 4)) {
    const t = zip.readUInt16LE(p + 10);
    const d = zip.readUInt16LE(p + 12);
    out.push(new Date((d >> 9) + 1980, ((d >> 5) & 15) - 1, d & 31, t >> 11, (t >> 5) & 63, (t & 31) * 2));
  }
  return out;
}

describe('export', () => {
  it('bundles a closed flight: ten files, a manifest of its facts, sums and signatures that verify', () => {
    const { data, ctx, s } = recorded();
    const meta = endSession(s, ctx, { packets: 4 });
    const when = new Date('2026-05-02T08:00:00.000Z');
    const out = join(data, 'bundle.zip');
    const r = exportSession(data, meta.id, out, when);
    const zip = readFileSync(out);
    expect(zip.equals(exportSessionBytes(data, meta.id, when))).toBe(true);
    const files = unzipSync(zip);
    const records = Buffer.from(files['events.ndjson']).toString().trim().split('\n').length;
    expect(r).toEqual({
      file: out,
      files: 10,
      records,
      statement: {
        kind: 'egress_observed',
        strength: 'not_applicable',
        window: { start: meta.start, end: meta.end },
        clock: 'gateway',
        gapSeconds: 1,
        gaps: 1,
      },
      fingerprint: ctx.key.fingerprint,
    });
    const names = ['report.html', 'flows.csv', 'events.ndjson', 'flagged.pcapng', 'public-key.pem', 'README.txt'];
    expect(Object.keys(files)).toEqual([...names, 'manifest.json', 'manifest.sig', 'SHA256SUMS', 'SHA256SUMS.sig']);
    expect(Buffer.from(files['events.ndjson']).equals(readFileSync(join(s.dir, 'events.ndjson')))).toBe(true);
    expect(Buffer.from(files['flagged.pcapng']).equals(emptyPcapng('Egress Sentinel 3.1.4'))).toBe(true);
    expect(Buffer.from(files['public-key.pem']).toString()).toBe(ctx.key.publicPem);
    expect(Buffer.from(files['README.txt']).toString()).toBe(bundleReadme(meta.id, ctx.key.fingerprint));
    expect(Buffer.from(files['report.html']).toString()).toContain('Export flight');
    expect(Buffer.from(files['flows.csv']).toString().split('\r\n')[1]).toMatch(/^1,2026-05-01T10:00:01\.000000Z,/);

    const manifestText = Buffer.from(files['manifest.json']).toString();
    expect(manifestText.endsWith('\n}\n')).toBe(true);
    expect(JSON.parse(manifestText)).toEqual({
      format: 'egress-evidence-bundle/1',
      session: meta.id,
      name: 'Export flight',
      gateway: 'gw-e',
      operator: { unit: 'U1' },
      exported: '2026-05-02T08:00:00.000Z',
      window: { start: meta.start, end: meta.end },
      clock: { start: { synchronized: true, source: 'test' }, end: { synchronized: true, source: 'test' } },
      agent_version: '3.1.4',
      policy: { source: 'policy.yaml', sha256: 'd'.repeat(64) },
      databases: { geo: '2026-01' },
      key_fingerprint: ctx.key.fingerprint,
      records,
      flows: 1,
      flagged_destinations: 1,
      capture_gaps: 1,
      denied_lookups: 1,
      statement: r.statement,
      files: names.map((n) => ({ name: n, size: files[n].length, sha256: sha(files[n]) })),
    });
    expect(manifestText).toBe(`${JSON.stringify(JSON.parse(manifestText), null, 2)}\n`);
    const sums = Buffer.from(files.SHA256SUMS).toString();
    expect(sums).toBe(`${[...names, 'manifest.json'].map((n) => `${sha(files[n])}  ${n}`).join('\n')}\n`);
    expect(
      verifyBytes(ctx.key.publicKey, Buffer.from(files['manifest.json']), Buffer.from(files['manifest.sig'])),
    ).toBe(true);
    expect(verifyBytes(ctx.key.publicKey, Buffer.from(sums), Buffer.from(files['SHA256SUMS.sig']))).toBe(true);
    // Every entry is dated at the flight's end (DOS time: 2 s steps, local time), not at the export.
    const end = new Date(meta.end as string);
    for (const t of entryTimes(zip)) expect(Math.abs(t.getTime() - end.getTime())).toBeLessThan(2000);
    expect(entryTimes(zip)).toHaveLength(10);
  });

  it("puts the flight's own flagged.pcapng in the bundle when there is one", () => {
    const { data, ctx, s } = recorded();
    writeFileSync(join(s.dir, 'flagged.pcapng'), Buffer.from('pcapng bytes'));
    const meta = endSession(s, ctx, {});
    expect(Buffer.from(unzipSync(exportSessionBytes(data, meta.id))['flagged.pcapng']).toString()).toBe('pcapng bytes');
  });

  it('refuses a flight still open (EGRESS_SESSION_STATE) and a damaged log (EGRESS_EVIDENCE_LOG_DAMAGED)', () => {
    const { data, ctx, s } = recorded();
    s.log.checkpoint();
    const open = caught(() => exportSessionBytes(data, s.meta.id));
    expect([open.code, open.message]).toEqual([
      'EGRESS_SESSION_STATE',
      `flight ${s.meta.id} is still open; end it first (egress session end)`,
    ]);
    const meta = endSession(s, ctx, {});
    const log = join(s.dir, 'events.ndjson');
    const text = readFileSync(log, 'utf8');
    writeFileSync(log, text.replace('"x.example"', '"y.example"'));
    const damaged = caught(() => exportSession(data, meta.id, join(data, 'out.zip')));
    expect(damaged.code).toBe('EGRESS_EVIDENCE_LOG_DAMAGED');
    expect(damaged.message).toMatch(new RegExp(`^the log of ${meta.id} is damaged: .+`));
    expect(damaged.facts).toEqual({ file: log });
    // A log with a line that is not a record after its end is damaged too.
    writeFileSync(log, text);
    appendFileSync(log, 'not json\n');
    expect(caught(() => exportSessionBytes(data, meta.id)).code).toBe('EGRESS_EVIDENCE_LOG_DAMAGED');
  });
});
