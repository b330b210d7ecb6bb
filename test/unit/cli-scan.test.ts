// `egress scan` through main() in process, so mutation testing sees cli/scan.ts
// at work (test/cli/ runs the built binary on the same inputs): every fixture
// gives its reviewed expected.ndjson and exit status; the table view carries
// alerts, lookups and capture gaps; each input error has its exact message.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../agent/src/cli/main.js';
import { ethernet, ipPacket, pcapFile, type Rec, tcpConversation, udpDatagram } from '../support/builders.js';
import { egressIn } from '../support/cli-in.js';
import { FIXTURES_DIR, listFixtures } from '../support/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'egress-scan-in-'));
const T0 = 1_767_225_600_000_000;

describe('scan in process: every fixture gives its reviewed events and exit status', () => {
  it.each(listFixtures())('$name', async (fx) => {
    const r = await egressIn(['scan', fx.input, '--format', 'ndjson']);
    expect(r.stdout).toBe(readFileSync(fx.expected, 'utf8'));
    const truncated = JSON.parse(r.stdout.trimEnd().split('\n').at(-1) as string).truncated as boolean;
    if (truncated) {
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/^egress: EGRESS_[A-Z_]+ (at|of) [^\n]+: [^\n]+\n$/);
    } else {
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
    }
  });
});

/** A DNS query (RD set, one question, type A). */
function dnsQuery(id: number, name: string): Buffer {
  const labels = name.split('.').flatMap((l) => [l.length, ...Buffer.from(l)]);
  return Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, ...labels, 0, 0, 1, 0, 1]);
}

describe('scan in process: the table view', () => {
  const recs: Rec[] = [
    ...tcpConversation({ src: '10.0.0.2', dst: '198.51.100.10', sport: 40000, dport: 443, t0: T0 }),
    // A lookup of a name the dji profile denies, at the LAN resolver.
    {
      tsUs: T0 + 50_000,
      data: ethernet(
        ipPacket(
          { src: '10.0.0.2', dst: '10.0.0.1' },
          udpDatagram({
            src: '10.0.0.2',
            dst: '10.0.0.1',
            sport: 53000,
            dport: 53,
            payload: dnsQuery(7, 'flysafe-api.dji.com'),
          }),
        ),
      ),
    },
  ];
  const file = join(dir, 't.pcap');
  writeFileSync(file, pcapFile(recs));

  it('lists the flagged destination and the denied lookup, ends with one newline, and writes no NDJSON', async () => {
    const r = await egressIn(['scan', file, '--format', 'table', '--profile', 'dji']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^MEDIUM\s+198\.51\.100\.10:443\s+TCP/m);
    expect(r.stdout).toContain('flysafe-api.dji.com');
    expect(r.stdout).toContain('10.0.0.2');
    expect(r.stdout.endsWith('\n')).toBe(true);
    expect(r.stdout.endsWith('\n\n')).toBe(false);
    expect(r.stdout.startsWith(' ')).toBe(false);
    expect(r.stdout).not.toContain('"event_type"');
    const nd = await egressIn(['scan', file, '--format', 'ndjson', '--profile', 'dji']);
    expect(nd.stdout).toContain('"event_type":"lookup"');
    expect(nd.stdout).toContain('"event_type":"alert"');
  });

  it('is the default on a terminal; NDJSON otherwise', async () => {
    const tty = await egressIn(['scan', file], { tty: true });
    expect(tty.stdout).toMatch(/^MEDIUM\s+198\.51\.100\.10:443/m);
    const pipe = await egressIn(['scan', file]);
    expect(pipe.stdout.split('\n')[0]).toMatch(/^\{"timestamp":/);
  });

  it('shows a capture gap of a pcapng statistics block', async () => {
    // test/fixtures/format/pcapng with its one ISB's isb_ifdrop set to 42 (as test/cli/capture-gap.test.ts does).
    const src = readFileSync(join(FIXTURES_DIR, 'format/pcapng/input.pcapng'));
    const gap = Buffer.from(src);
    let set = false;
    for (let o = 0; o < gap.length && !set; ) {
      const type = gap.readUInt32LE(o);
      const len = gap.readUInt32LE(o + 4);
      if (type === 5) {
        for (let p = o + 20; p + 4 <= o + len - 4; ) {
          const code = gap.readUInt16LE(p);
          const olen = gap.readUInt16LE(p + 2);
          if (code === 0) break;
          if (code === 5) {
            gap.writeUInt32LE(42, p + 4);
            gap.writeUInt32LE(0, p + 8);
            set = true;
          }
          p += 4 + ((olen + 3) & ~3);
        }
      }
      o += len;
    }
    expect(set).toBe(true);
    const path = join(dir, 'gap.pcapng');
    writeFileSync(path, gap);
    const table = await egressIn(['scan', path, '--format', 'table']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/42 packets/);
    const nd = await egressIn(['scan', path, '--format', 'ndjson']);
    expect(nd.stdout).toContain('"event_type":"capture_gap"');
    expect(nd.stdout).toContain('"packets_dropped":42');
  });
});

describe('scan in process: input and options', () => {
  const file = join(dir, 'c.pcap');
  writeFileSync(
    file,
    pcapFile(tcpConversation({ src: '10.0.0.2', dst: '198.51.100.10', sport: 40000, dport: 443, t0: T0 })),
  );

  it('reads standard input with -, and calls it stdin', async () => {
    const bytes = readFileSync(file);
    const r = await egressIn(['scan', '-', '--format', 'ndjson', '--progress'], { stdin: bytes });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe((await egressIn(['scan', file, '--format', 'ndjson'])).stdout);
    expect(r.stderr).toMatch(/^\rscanning stdin \d/);
  });

  it('--no-progress wins over --progress; progress names the file and its share', async () => {
    expect((await egressIn(['scan', file, '--format', 'ndjson', '--progress', '--no-progress'])).stderr).toBe('');
    const shown = await egressIn(['scan', file, '--format', 'ndjson', '--progress']);
    expect(shown.stderr).toMatch(new RegExp(`^\\rscanning ${file.replace(/[.]/g, '\\.')} +\\d+% \\d+ packets`));
    expect(shown.stderr.endsWith('\r\x1b[K')).toBe(true);
  });

  it.each([
    {
      what: 'a missing file',
      args: () => ['scan', join(dir, 'nope.pcap')],
      line: () =>
        `egress: EGRESS_INPUT_UNREADABLE of ${join(dir, 'nope.pcap')}: cannot read ${join(dir, 'nope.pcap')}: ENOENT: no such file or directory, stat '${join(dir, 'nope.pcap')}'\n`,
    },
    {
      what: 'a directory',
      args: () => ['scan', dir],
      line: () => `egress: EGRESS_INPUT_UNREADABLE of ${dir}: cannot read ${dir}: EISDIR not a regular file\n`,
    },
    {
      what: 'no file',
      args: () => ['scan'],
      line: () => 'egress: EGRESS_USAGE: scan takes exactly one FILE (or -)\n',
    },
    {
      what: 'two files',
      args: () => ['scan', file, file],
      line: () => 'egress: EGRESS_USAGE: scan takes exactly one FILE (or -)\n',
    },
    {
      what: 'an unknown format',
      args: () => ['scan', file, '--format', 'xml'],
      line: () => 'egress: EGRESS_USAGE: --format must be ndjson or table, got "xml"\n',
    },
  ])('$what: its exact first line', async (c) => {
    const r = await egressIn(c.args());
    expect(r.stderr.split('\n')[0]).toBe(c.line().trimEnd());
    expect(r.stdout).toBe('');
  });

  it('a bad --max-flows is named in its line', async () => {
    const r = await egressIn(['scan', file, '--max-flows', '0']);
    expect([r.code, r.stderr]).toEqual([2, 'egress: EGRESS_USAGE: --max-flows must be a positive integer, got "0"\n']);
  });

  it('standard input failing mid-read: its message, with no code to repeat', async () => {
    const out = new PassThrough();
    const err = new PassThrough();
    let stderr = '';
    err.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const failing = new Readable({
      read() {
        this.destroy(new Error('the pipe broke'));
      },
    });
    const code = await main(['scan', '-', '--format', 'ndjson'], {
      stdin: failing as unknown as NodeJS.ReadStream,
      stdout: out as unknown as NodeJS.WriteStream,
      stderr: err as unknown as NodeJS.WriteStream,
    });
    expect([code, stderr]).toEqual([1, 'egress: EGRESS_INPUT_UNREADABLE of -: cannot read -: the pipe broke\n']);
  });

  it('the usage names every profile and the flow limit', async () => {
    const r = await egressIn(['scan', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('built-in profile: default, dji, camera, local-data-mode');
    expect(r.stdout).toContain('(default 262144)');
    const usage = await egressIn(['scan']);
    expect(usage.stderr).toContain('Usage: egress scan FILE|- [options]');
  });

  it('--max-flows limits the table (an eviction counted in stats)', async () => {
    const two = join(dir, 'two.pcap');
    writeFileSync(
      two,
      pcapFile([
        ...tcpConversation({ src: '10.0.0.2', dst: '198.51.100.10', sport: 40000, dport: 443, t0: T0 }),
        ...tcpConversation({ src: '10.0.0.2', dst: '198.51.100.11', sport: 40001, dport: 443, t0: T0 + 1_000 }),
      ]),
    );
    const r = await egressIn(['scan', two, '--format', 'ndjson', '--max-flows', '1']);
    const stats = JSON.parse(r.stdout.trimEnd().split('\n').at(-1) as string);
    expect(stats.flow_table.max).toBe(1);
    expect(stats.flow_table.evicted_lru).toBe(1);
  });
});
