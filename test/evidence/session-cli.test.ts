// `egress session`, `egress key export` and `egress export` without a running
// agent: sessions opened and closed on the data directory, and the errors a
// person can act on, each with its stable code and exit status.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { egress } from '../support/cli.js';

describe('egress session / key / export without an agent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'egress-session-cli-'));
  const d = ['--data-dir', dir, '--gateway', 'gw-cli'];

  it('key export before the agent ever ran: EGRESS_KEY_MISSING, exit 1', () => {
    const r = egress(['key', 'export', ...d.slice(0, 2)]);
    expect([r.code, r.stderr]).toEqual([
      1,
      expect.stringMatching(/^egress: EGRESS_KEY_MISSING of .*keys\/evidence-ed25519\.pem: no evidence key in /),
    ]);
  });

  it('start, list, a second start refused, export of the open one refused, end, end again refused', () => {
    const s = egress(['session', 'start', '--name', 'training', '--controller-serial', 'RC-7', ...d]);
    expect(s.code, s.stderr).toBe(0);
    const id = s.stdout.match(
      /^flight (gw-cli-\S+) started \(no agent running: it resumes this flight when it starts\)\n$/,
    )?.[1];
    expect(id).toBeDefined();
    // The key was made: private 0600, public in PEM, fingerprint printed.
    expect(statSync(join(dir, 'keys', 'evidence-ed25519.pem')).mode & 0o777).toBe(0o600);
    const k = egress(['key', 'export', ...d.slice(0, 2)]);
    expect(k.stdout).toMatch(/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=]+\n-----END PUBLIC KEY-----\n$/);
    const pem = join(dir, 'pub.pem');
    writeFileSync(pem, k.stdout);
    const fp = execFileSync('sh', ['-c', `openssl pkey -pubin -in ${pem} -outform DER | sha256sum`], {
      encoding: 'utf8',
    }).split(' ')[0];
    expect(k.stderr).toBe(`fingerprint (SHA-256 of the DER key): ${fp}\n`);

    expect(egress(['session', 'list', ...d]).stdout).toMatch(new RegExp(`^${id}  open    \\S+  -  training\\n$`));
    const again = egress(['session', 'start', ...d]);
    expect([again.code, again.stderr]).toEqual([
      1,
      `egress: EGRESS_SESSION_STATE: flight ${id} is already open; end it first\n`,
    ]);
    const early = egress(['export', id ?? '', '--out', join(dir, 'x.zip'), ...d.slice(0, 2)]);
    expect([early.code, early.stderr]).toEqual([
      1,
      `egress: EGRESS_SESSION_STATE: flight ${id} is still open; end it first (egress session end)\n`,
    ]);

    expect(egress(['session', 'end', ...d]).stdout).toBe(`flight ${id} ended\n`);
    const none = egress(['session', 'end', ...d]);
    expect([none.code, none.stderr]).toEqual([1, 'egress: EGRESS_SESSION_STATE: no flight is open\n']);

    // No capture ran: the bundle refuses the "no egress observed" statement.
    const out = join(dir, 'b.zip');
    const e = egress(['export', id ?? '', '--out', out, ...d.slice(0, 2)]);
    expect([e.code, e.stdout]).toEqual([0, expect.stringContaining('; statement: no egress observed (refused)\n')]);
    expect(egress(['verify', out, '--pubkey', pem]).code).toBe(0);
    const html = execFileSync('unzip', ['-p', out, 'report.html'], { encoding: 'utf8' });
    expect(html).toContain('Geen verklaring mogelijk');
    expect(html).toContain('The capture saw no packet at all in this session.');
    expect(html).not.toContain('No gaps: the capture ran');
    expect(execFileSync('unzip', ['-p', out, 'manifest.json'], { encoding: 'utf8' })).toContain(
      '"controller_serial": "RC-7"',
    );
  });

  it('a log damaged on disk: export and resume refuse it with EGRESS_EVIDENCE_LOG_DAMAGED and the record', () => {
    const dir2 = mkdtempSync(join(tmpdir(), 'egress-session-damaged-'));
    const d2 = ['--data-dir', dir2, '--gateway', 'gw-cli'];
    const id = egress(['session', 'start', ...d2]).stdout.match(/flight (\S+) started/)?.[1] ?? '';
    const log = join(dir2, 'sessions', id, 'events.ndjson');
    const lines = readFileSync(log, 'utf8').split('\n');
    // Record 0 altered: the checkpoint after it no longer chains to it.
    lines[0] = lines[0].replace('"resumed":0', '"resumed":7');
    writeFileSync(log, lines.join('\n'));
    const end = egress(['session', 'end', ...d2]);
    expect([end.code, end.stderr]).toEqual([
      1,
      `egress: EGRESS_EVIDENCE_LOG_DAMAGED of ${log}: record 0 was altered: record 1 does not chain to it\n`,
    ]);
    // A closed session damaged afterwards: export refuses it rather than sign it.
    const dir3 = mkdtempSync(join(tmpdir(), 'egress-session-damaged-'));
    const d3 = ['--data-dir', dir3, '--gateway', 'gw-cli'];
    const id3 = egress(['session', 'start', ...d3]).stdout.match(/flight (\S+) started/)?.[1] ?? '';
    expect(egress(['session', 'end', ...d3]).code).toBe(0);
    const log3 = join(dir3, 'sessions', id3, 'events.ndjson');
    const l3 = readFileSync(log3, 'utf8').split('\n');
    [l3[1], l3[2]] = [l3[2], l3[1]];
    writeFileSync(log3, l3.join('\n'));
    const ex = egress(['export', id3, '--out', join(dir3, 'b.zip'), ...d3.slice(0, 2)]);
    expect([ex.code, ex.stderr]).toEqual([
      1,
      `egress: EGRESS_EVIDENCE_LOG_DAMAGED of ${log3}: the log of ${id3} is damaged: record at line 2 has seq 2, expected 1: a record is missing or out of order\n`,
    ]);
  });

  it.each(['session', 'export', 'verify', 'key'])('%s --help describes the command and exits 0', (cmd) => {
    const r = egress([cmd, '--help']);
    expect([r.code, r.stdout]).toEqual([0, expect.stringMatching(new RegExp(`^Usage: egress ${cmd}`))]);
    expect(egress(['--help']).stdout).toMatch(new RegExp(`\\n  ${cmd} `));
  });

  it('usage errors: exit 2', () => {
    for (const args of [['session'], ['session', 'pause'], ['verify'], ['key'], ['export']]) {
      const r = egress([...args, ...d.slice(0, 2)]);
      expect([r.code, r.stderr], args.join(' ')).toEqual([2, expect.stringContaining('EGRESS_USAGE')]);
    }
    const bad = egress(['verify', join(dir, 'nothing.zip')]);
    expect([bad.code, bad.stderr]).toEqual([1, expect.stringContaining('EGRESS_INPUT_UNREADABLE')]);
  });
});
