// A power cut in the middle of a flight: the agent is killed with SIGKILL
// while replaying, a half-written record is left at the end of the log (a
// torn write), and the next start resumes the open session: the torn record
// is cut off, the time the agent was away is a capture gap, the chain goes
// on unbroken, and the exported bundle verifies and says so in its report.

import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { checkChain } from '../../agent/src/evidence/chain.js';
import { egress, spawnEgress } from '../support/cli.js';
import { waitFor } from '../support/netns.js';
import { FLIGHT, FLIGHT_POLICY, REPLAY_COMMON } from './flight.js';

describe('a flight interrupted by SIGKILL', () => {
  it('resumes after the restart with the gap recorded, and exports a bundle that verifies', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'egress-resume-'));
    const args = [
      'replay',
      FLIGHT,
      '--policy',
      FLIGHT_POLICY,
      '--session',
      'interrupted flight',
      '--data-dir',
      dataDir,
      ...REPLAY_COMMON,
    ];
    const child = spawnEgress([...args, '--speed', '10'], { stdio: 'ignore' });
    let log = '';
    const alertsInLog = () => {
      const s = existsSync(join(dataDir, 'sessions'))
        ? readdirSync(join(dataDir, 'sessions')).filter((n) => n !== 'open')
        : [];
      if (s.length === 0) return 0;
      log = join(dataDir, 'sessions', s[0], 'events.ndjson');
      return existsSync(log) ? (readFileSync(log, 'utf8').match(/"type":"alert"/g) ?? []).length : 0;
    };
    try {
      await waitFor('three alerts in the session log', () => alertsInLog() >= 3, 30_000);
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((r) => child.once('exit', r));
    expect(child.signalCode).toBe('SIGKILL');
    const id = readFileSync(join(dataDir, 'sessions', 'open'), 'utf8').trim();
    const before = readFileSync(log);
    const atKill = checkChain(before, null);
    expect(atKill.error).toBeNull();
    // A torn write: the power went while a record was half on disk.
    const torn = '{"seq":999,"prev":"00';
    appendFileSync(log, torn);

    const again = egress([...args, '--speed', 'max']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`flight ${id} resumed after a gap since 20`));
    expect(existsSync(join(dataDir, 'sessions', 'open'))).toBe(false);

    const records = checkChain(readFileSync(log), null).records;
    const resume = records.find((r) => r.type === 'resume');
    expect(resume?.seq).toBe(atKill.records.length);
    expect(resume?.data).toMatchObject({ torn_bytes_dropped: torn.length, run: 1 });
    const gap = records.find((r) => r.type === 'capture_gap');
    expect(gap?.data).toMatchObject({
      cause: 'capture_down',
      packets_dropped: null,
      start: atKill.records[atKill.records.length - 1].ts,
    });
    expect(records[records.length - 2].type).toBe('session_end');

    const bundle = join(dataDir, 'b.zip');
    expect(egress(['export', id, '--out', bundle, '--data-dir', dataDir]).code).toBe(0);
    const v = egress(['verify', bundle]);
    expect([v.code, v.stdout]).toEqual([
      0,
      expect.stringMatching(new RegExp(`^intact: ${records.length} records, 10 files`)),
    ]);
    const files = unzipSync(readFileSync(bundle));
    const m = JSON.parse(Buffer.from(files['manifest.json']).toString());
    expect([m.capture_gaps, m.session, m.name]).toEqual([1, id, 'interrupted flight']);
    const html = Buffer.from(files['report.html']).toString();
    expect(html).toContain('opname lag stil');
    expect(html).toContain('capture was down');
    expect(html).toContain('Let op: 1 onderbreking in de opname');
    expect(html).toContain('Note: 1 capture gap');
  });
});
