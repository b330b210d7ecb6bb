// Block mode's line protocol (hardware/src/block/protocol.ts): only
// `add ADDRESS SECONDS` with a real IPv4/IPv6 address and a timeout of
// 1-86400 s, or `del ADDRESS`, passes; the nft arguments are built from the
// checked values.

import { describe, expect, it } from 'vitest';
import {
  formatUnwatchLine,
  formatWatchLine,
  nftAddArgs,
  nftDelArgs,
  nftUnwatchArgs,
  nftWatchArgs,
  parseBlockCommand,
  parseBlockLine,
} from '../../hardware/src/index.js';

describe('block line protocol', () => {
  it.each([
    ['add 203.0.113.10 3600', { family: 4, address: '203.0.113.10', timeoutS: 3600 }],
    ['add 2001:db8::1 60\n', { family: 6, address: '2001:db8::1', timeoutS: 60 }],
  ])('accepts %j', (line, want) => {
    expect(parseBlockLine(line)).toEqual(want);
  });

  it.each([
    'add 203.0.113.10',
    'add 203.0.113.10 0',
    'add 203.0.113.10 86401',
    'add 203.0.113.256 60',
    'add 203.0.113.10 60; flush ruleset',
    'add 203.0.113.10 } 60',
    'del 203.0.113.10 60',
    'add ::ffff:zz 60',
    '',
  ])('refuses %j', (line) => {
    expect(parseBlockLine(line)).toBeNull();
  });

  it.each([
    ['del 203.0.113.10', { op: 'del', family: 4, address: '203.0.113.10' }],
    ['del 2001:db8::1\n', { op: 'del', family: 6, address: '2001:db8::1' }],
    ['add 203.0.113.10 60', { op: 'add', family: 4, address: '203.0.113.10', timeoutS: 60 }],
    ['del 203.0.113.10 60', null],
    ['del 203.0.113.10; flush ruleset', null],
    ['del 203.0.113.300', null],
    ['del', null],
    ['delete 203.0.113.10', null],
  ])('reads %j as %j (add or del)', (line, want) => {
    expect(parseBlockCommand(line)).toEqual(want);
  });

  it('builds one nft argument per token, the element in the right set', () => {
    expect(nftDelArgs({ family: 4, address: '203.0.113.10' })).toEqual([
      'delete',
      'element',
      'inet',
      'egress',
      'denied4',
      '{ 203.0.113.10 }',
    ]);
    expect(nftDelArgs({ family: 6, address: '2001:db8::1' })[4]).toBe('denied6');
    expect(nftAddArgs({ family: 4, address: '203.0.113.10', timeoutS: 60 })).toEqual([
      'add',
      'element',
      'inet',
      'egress',
      'denied4',
      '{ 203.0.113.10 timeout 60s }',
    ]);
    expect(nftAddArgs({ family: 6, address: '2001:db8::1', timeoutS: 5 })[4]).toBe('denied6');
  });

  it.each([
    ['watch wlan0 15', { op: 'watch', iface: 'wlan0', timeoutS: 15 }],
    ['watch br0.10 2\n', { op: 'watch', iface: 'br0.10', timeoutS: 2 }],
    ['watch enx00e04c_1-a 600', { op: 'watch', iface: 'enx00e04c_1-a', timeoutS: 600 }],
    ['watch abcdefghijklmno 15', { op: 'watch', iface: 'abcdefghijklmno', timeoutS: 15 }],
    ['unwatch wlan0', { op: 'unwatch', iface: 'wlan0' }],
    ['watch wlan0 1', null],
    ['watch wlan0 601', null],
    ['watch wlan0', null],
    ['watch abcdefghijklmnop 15', null],
    ['watch wlan0" 15', null],
    ['watch wlan0 } 15', null],
    ['watch wl/an0 15', null],
    ['watch wlan0 15; flush ruleset', null],
    ['unwatch wlan0 15', null],
    ['unwatch', null],
  ])('reads %j as %j (watch or unwatch)', (line, want) => {
    expect(parseBlockCommand(line)).toEqual(want);
  });

  it('renews a watch in one nft transaction: add (kept if there), delete, add with a fresh timeout', () => {
    const add = ['add', 'element', 'inet', 'egress', 'watched', '{ "wlan0" timeout 15s }'];
    expect(nftWatchArgs({ iface: 'wlan0', timeoutS: 15 })).toEqual([
      ...add,
      ';',
      ...['delete', 'element', 'inet', 'egress', 'watched', '{ "wlan0" }'],
      ';',
      ...add,
    ]);
    expect(nftUnwatchArgs('wlan0')).toEqual(['delete', 'element', 'inet', 'egress', 'watched', '{ "wlan0" }']);
    expect([formatWatchLine('wlan0', 15), formatUnwatchLine('wlan0')]).toEqual(['watch wlan0 15\n', 'unwatch wlan0\n']);
    for (const line of [formatWatchLine('wlan0', 15), formatUnwatchLine('wlan0')])
      expect(parseBlockCommand(line)).not.toBeNull();
  });
});
