// A geo data update under a running agent: `egress replay --loop` plays a
// capture of a TLS connection to 43.157.48.99 (the chinese-cloud-eu fixture
// with its server address rewritten offline by tcprewrite; nothing is sent
// anywhere but the embedded broker on 127.0.0.1) and prints each alert; an
// `egress db update` into the same data directory makes the next alerts
// answer from the new data, without a restart. A file damaged on disk
// afterwards is refused by the agent, which keeps the data in use.

import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EGRESS_BIN, egress, ROOT, spawnEgress } from '../support/cli.js';
import { writeFakeSources } from '../support/geo-bundle.js';
import { buildGeoDb } from '../support/geo-csv.js';

const tmp = mkdtempSync(join(tmpdir(), 'egress-db-live-'));
const data = join(tmp, 'data');
let child: ChildProcess | null = null;
let out = '';
let err = '';

/** Resolves when `pattern` appears in the agent's output after `from`; fails after `ms`. */
function waitFor(pattern: RegExp, from: number, ms = 30_000, stream: () => string = () => out): Promise<string> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      const m = pattern.exec(stream().slice(from));
      if (m) {
        clearInterval(poll);
        resolve(m[0]);
      } else if (Date.now() - started > ms || child?.exitCode != null) {
        clearInterval(poll);
        reject(new Error(`no ${pattern} within ${ms} ms; stdout:\n${out.slice(-2000)}\nstderr:\n${err.slice(-2000)}`));
      }
    }, 100);
  });
}

beforeAll(() => {
  buildGeoDb();
  const capture = join(tmp, 'tencent.pcap');
  const fixture = join(ROOT, 'test/fixtures/names/chinese-cloud-eu/input.pcap');
  const rw = spawnSync('tcprewrite', [
    '--pnat=198.51.100.40/32:43.157.48.99/32',
    '--fixcsum',
    '-i',
    fixture,
    '-o',
    capture,
  ]);
  if (rw.status !== 0) throw new Error(`tcprewrite failed: ${rw.stderr}`);
  const src = writeFakeSources(join(tmp, 'src'), {
    country: 'NL',
    asn: 64500,
    org: 'Test A',
    version: '2.3.2026120100',
  });
  const built = egress(['db', 'build', '--from', src, '--out', join(tmp, 'a.egdb')]);
  if (built.code !== 0) throw new Error(built.stderr);
  child = spawnEgress(
    ['replay', capture, '--loop', '--speed', '1', '--stats-interval', '1'].concat([
      '--no-http',
      '--mqtt-port',
      '0',
      '--data-dir',
      data,
      '--gateway',
      'gw-db-live',
    ]),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    err += d;
  });
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const done = new Promise((r) => child?.once('exit', r));
    child.kill('SIGINT');
    const killer = setTimeout(() => child?.kill('SIGKILL'), 15_000);
    await done;
    clearTimeout(killer);
  }
});

describe('egress db update under a running egress replay', () => {
  it('the next lookups answer from the new data, with no restart', async () => {
    await waitFor(/ALERT HIGH .*43\.157\.48\.99.*Tencent.*\(AS132203, registered in CN\), located in DE/, 0);
    const update = egress(['db', 'update', join(tmp, 'a.egdb'), '--data-dir', data]);
    expect(update.code, update.stderr).toBe(0);
    const mark = out.length;
    const line = await waitFor(
      /ALERT HIGH .*43\.157\.48\.99.*Test A \(AS64500, registered in CN\), located in NL.*/,
      mark,
    );
    expect(line).toContain('deny_as_country');
    expect(err).toMatch(/geo: now using installed data .*geo\.bin/);
    expect(child?.exitCode).toBeNull(); // the same process all along
  }, 60_000);

  it('the retained status says which data and how old', () => {
    const broker = /broker (mqtt:\/\/127\.0\.0\.1:\d+)/.exec(err)?.[1];
    expect(broker, err).toBeDefined();
    const args = ['tail', '--broker', broker as string, '--gateway', 'gw-db-live', '--data-dir', data];
    const tail = spawnSync(process.execPath, [EGRESS_BIN, ...args, '--status', '--json', '--count', '1'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    const status = tail.stdout
      .split('\n')
      .filter((l) => l.includes('geo_data'))
      .map((l) => JSON.parse(l))[0];
    expect(status, tail.stdout + tail.stderr).toBeDefined();
    expect(status.geo_data_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(status.geo_data_age_days).toBeGreaterThanOrEqual(0);
    expect(typeof status.geo_data_stale).toBe('boolean');
  }, 60_000);

  it('a geo file damaged on disk is refused by the agent, which keeps answering from the data in use', async () => {
    writeFileSync(join(data, 'geo', 'geo.bin'), 'not a geo database');
    await waitFor(/geo: kept the data in use; .*geo\.bin failed to load/, 0, 30_000, () => err);
    const mark = out.length;
    await waitFor(/ALERT HIGH .*Test A \(AS64500/, mark);
    expect(out.slice(mark)).not.toContain('AS132203');
  }, 60_000);
});
