// The allow overlay (`allow` command): entries appended to a file in the
// data directory, applied to the live policy on top of its allow rules,
// read again at the next start; the operator's policy is never written.

import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAddress } from '../../agent/src/policy/cidr.js';
import { loadPolicy } from '../../agent/src/policy/load.js';
import { AllowOverlay, MAX_OVERLAY, OVERLAY_FILE } from '../../agent/src/policy/overlay.js';
import { judge } from '../../agent/src/policy/verdict.js';

const dest = (ip: string, names: string[] = []) => ({
  words: parseAddress(ip) as Int32Array,
  v6: ip.includes(':'),
  internet: true,
  names,
  country: 'NL',
  asn: 64500,
  asCountry: 'NL',
});

describe('allow overlay', () => {
  it('allows names, addresses and CIDRs at once, keeps them in the data dir and applies them at the next start', () => {
    const dir = mkdtempSync(join(tmpdir(), 'egress-overlay-'));
    const policy = loadPolicy({ profile: 'default' });
    const overlay = AllowOverlay.load(dir, policy);
    expect(judge(dest('198.51.100.7', ['maps.example.nl']), policy).verdict).toBe('medium');
    expect(overlay.add('Maps.Example.NL.', Date.UTC(2026, 0, 1))).toEqual({ rule: 'maps.example.nl', added: true });
    expect(overlay.add('203.0.113.5')).toEqual({ rule: '203.0.113.5', added: true });
    expect(overlay.add('2001:db8::/32')).toEqual({ rule: '2001:db8::/32', added: true });
    expect(overlay.add('maps.example.nl')).toEqual({ rule: 'maps.example.nl', added: false });
    expect(judge(dest('198.51.100.7', ['tiles.maps.example.nl']), policy).verdict).toBe('allowed');
    expect(judge(dest('203.0.113.5'), policy).verdict).toBe('allowed');
    expect(judge(dest('203.0.113.6'), policy).verdict).toBe('medium');
    expect(judge(dest('2001:db8::9'), policy).verdict).toBe('allowed');
    const file = join(dir, OVERLAY_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').split('\n')[0]).toBe(
      '{"ts":"2026-01-01T00:00:00.000Z","rule":"maps.example.nl"}',
    );
    const fresh = loadPolicy({ profile: 'default' });
    const again = AllowOverlay.load(dir, fresh);
    expect(again.entries()).toEqual(['maps.example.nl', '203.0.113.5', '2001:db8::/32']);
    expect(judge(dest('203.0.113.5'), fresh).verdict).toBe('allowed');
  });

  it('does not override deny rules (deny beats allow)', () => {
    const policy = loadPolicy({ profile: 'default' });
    AllowOverlay.load(mkdtempSync(join(tmpdir(), 'egress-overlay-')), policy).add('203.0.113.9');
    expect(judge({ ...dest('203.0.113.9'), country: 'CN' }, policy).verdict).toBe('high');
  });

  it('refuses what is not a name, address or CIDR, and more than the limit, with EGRESS_COMMAND_REJECTED', () => {
    const overlay = AllowOverlay.load(mkdtempSync(join(tmpdir(), 'egress-overlay-')), loadPolicy({}));
    for (const bad of ['', 'not a name', '203.0.113.0/33', 'a'.repeat(300), 'x..y'])
      expect(() => overlay.add(bad), bad).toThrow(expect.objectContaining({ code: 'EGRESS_COMMAND_REJECTED' }));
    for (let i = 0; i < MAX_OVERLAY; i++) overlay.add(`h${i}.example.org`);
    expect(() => overlay.add('one-more.example.org')).toThrow(/full/);
  });

  it('stops the start on a damaged overlay file with EGRESS_POLICY_INVALID and its line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'egress-overlay-'));
    writeFileSync(join(dir, OVERLAY_FILE), '{"ts":"x","rule":"ok.example.org"}\n{"rule":"bad rule"}\n');
    expect(() => AllowOverlay.load(dir, loadPolicy({}))).toThrow(
      expect.objectContaining({ code: 'EGRESS_POLICY_INVALID', facts: expect.objectContaining({ line: 2 }) }),
    );
  });
});
