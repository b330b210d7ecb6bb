// MQTT topic names of schema egress.v1 (agent/src/mqtt/topics.ts), both ways:
// the names the agent builds, and what a received topic is.

import { describe, expect, it } from 'vitest';
import {
  allFilter,
  checkGatewayId,
  commandFilter,
  commandTopic,
  parseTopic,
  replyTopic,
  topicFor,
} from '../../agent/src/mqtt/topics.js';

describe('topic names', () => {
  it.each([
    [() => topicFor('gw-1', 'alert'), 'egress/v1/gw-1/alert'],
    [() => topicFor('pi.local', 'status'), 'egress/v1/pi.local/status'],
    [() => commandTopic('gw_1', 'start_flight'), 'egress/v1/gw_1/cmd/start_flight'],
    [() => replyTopic('gw1', 'ping'), 'egress/v1/gw1/reply/ping'],
    [() => commandFilter('gw1'), 'egress/v1/gw1/cmd/+'],
    [() => allFilter(), 'egress/v1/+/#'],
    [() => allFilter('+'), 'egress/v1/+/#'],
    [() => allFilter('gw1'), 'egress/v1/gw1/#'],
  ])('%s', (make, topic) => {
    expect(make()).toBe(topic);
  });

  it.each([
    () => topicFor('a/b', 'alert'),
    () => commandFilter('gw+'),
    () => allFilter('#'),
    () => allFilter(''),
    () => commandTopic('gw1', 'Start'),
    () => replyTopic('gw1', 'x'.repeat(33)),
  ])('refuses %s with EGRESS_USAGE', (make) => {
    expect(make).toThrow(expect.objectContaining({ code: 'EGRESS_USAGE' }));
  });

  it('names the gateway id it refuses and what it may be', () => {
    expect(() => checkGatewayId('a b')).toThrow(
      `gateway id "a b" must be 1-64 letters, digits, '.', '_' or '-' (it becomes an MQTT topic level)`,
    );
    expect(checkGatewayId('x'.repeat(64))).toBe('x'.repeat(64));
    expect(() => checkGatewayId('x'.repeat(65))).toThrow();
  });
});

describe('parseTopic', () => {
  it.each([
    ['egress/v1/gw1/alert', { gateway: 'gw1', kind: 'alert', verb: null }],
    ['egress/v1/gw1/session', { gateway: 'gw1', kind: 'session', verb: null }],
    ['egress/v1/gw1/cmd/ping', { gateway: 'gw1', kind: 'cmd', verb: 'ping' }],
    ['egress/v1/gw1/reply/end_flight', { gateway: 'gw1', kind: 'reply', verb: 'end_flight' }],
    ['egress/v1/gw1', null],
    ['egress/v1', null],
    ['egress', null],
    ['egress/v1/gw1/alerts', null],
    ['egress/v1/gw1/alert/x', null],
    ['egress/v1/gw1/cmd/', null],
    ['egress/v1/gw1/cmd/Ping', null],
    ['egress/v1/gw1/status/ping', null],
    ['egress/v1/gw1/cmd/ping/x', null],
    ['egress/v2/gw1/alert', null],
    ['egres/v1/gw1/alert', null],
    ['x/egress/v1/gw1/alert', null],
    ['egress/v1/+/alert', null],
    ['egress/v1/-gw/alert', null],
  ])('%s', (topic, parsed) => {
    expect(parseTopic(topic)).toEqual(parsed);
  });
});
