// The agent's own broker and dashboard connections are left out of `egress
// run`'s capture (cli/live.ts ownEndpoints): which URLs give an exclusion and
// with which host and port. A numeric address only (tcpdump's filter takes
// no names); an IPv6 address without its brackets; the port the MQTT client
// really connects to when the URL has none (mqtt 1883, mqtts 8883, ws 80,
// wss 443); a wildcard listen address (0.0.0.0, ::) is no host to filter on.

import { describe, expect, it } from 'vitest';
import { ownEndpoints, REPLAY_USAGE, RUN_USAGE } from '../../agent/src/cli/live.js';

describe('ownEndpoints: the agent’s own connections left out of the capture', () => {
  it.each([
    ['mqtt://127.0.0.1:1884', null, [{ host: '127.0.0.1', port: 1884 }]],
    ['mqtt://127.0.0.1', null, [{ host: '127.0.0.1', port: 1883 }]],
    ['mqtts://127.0.0.1', null, [{ host: '127.0.0.1', port: 8883 }]],
    ['mqtts://192.0.2.7:18883', null, [{ host: '192.0.2.7', port: 18883 }]],
    ['ws://192.0.2.7/mqtt', null, [{ host: '192.0.2.7', port: 80 }]],
    ['wss://192.0.2.7/mqtt', null, [{ host: '192.0.2.7', port: 443 }]],
    ['mqtt://[::1]:1884', null, [{ host: '::1', port: 1884 }]],
    ['mqtts://[2001:db8::7]', null, [{ host: '2001:db8::7', port: 8883 }]],
    ['mqtt://broker.example:1883', null, []],
    ['mqtt://0.0.0.0:1883', null, []],
    ['mqtt://[::]:1883', null, []],
    [
      'mqtt://127.0.0.1:1884',
      'http://127.0.0.1:8080',
      [
        { host: '127.0.0.1', port: 1884 },
        { host: '127.0.0.1', port: 8080 },
      ],
    ],
    [
      'mqtt://192.0.2.7:1883',
      'http://[::1]:8081',
      [
        { host: '192.0.2.7', port: 1883 },
        { host: '::1', port: 8081 },
      ],
    ],
    ['mqtt://[::]:1883', 'http://0.0.0.0:8080', []],
    ['mqtt://0.0.0.0:1883', 'http://[::]:8080', []],
  ])('broker %s, dashboard %s', (brokerUrl, httpAddress, want) => {
    expect(ownEndpoints({ brokerUrl, httpAddress })).toEqual(want);
  });
});

describe('the usage texts (the --help tests compare with these constants)', () => {
  it.each([
    [
      RUN_USAGE,
      'Usage: egress run --interface IF [options]\n',
      'Exit status: 0 stopped on request, 1 failure, 2 usage error.',
    ],
    [REPLAY_USAGE, 'Usage: egress replay FILE [options]\n', '3 truncated or corrupt capture.'],
  ])('%#: starts and ends as written, with the live options', (usage, head, tail) => {
    expect(usage.startsWith(head)).toBe(true);
    expect(usage.endsWith(tail)).toBe(true);
    expect(usage).toContain('--broker URL');
    expect(usage).toContain('--block-socket PATH');
  });
});
