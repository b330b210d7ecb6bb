#!/usr/bin/env node
// Embedded broker throughput: the agent's connection (MQTT.js over TCP)
// publishes N alert-sized messages at QoS 1, a viewer subscribed to
// egress/v1/# receives them; prints messages/s at the subscriber, for the
// broker with its packet-size guard in front of aedes. Asserts nothing.
// Needs the built agent (pnpm build).
//
//   node scripts/bench-broker.mjs [--messages N] [--payload BYTES] [--dist DIR]
//
// --dist points at another build's agent/dist (e.g. an older checkout) to
// compare the same measurement on both.

import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connectAsync } from 'mqtt';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '50000' },
    payload: { type: 'string', default: '400' },
    inflight: { type: 'string', default: '64' },
    dist: { type: 'string' },
  },
});
const N = Number(values.messages);
const dist = values.dist ?? fileURLToPath(new URL('../agent/dist', import.meta.url));
const { EmbeddedBroker, AGENT_USER, VIEWER_USER } = await import(`${dist}/mqtt/broker.js`);
const AGENT = 'bench-agent-token-0123456789abcdef';
const VIEWER = 'bench-viewer-token-0123456789abcdef';
const broker = await EmbeddedBroker.start({ port: 0, agentToken: AGENT, viewerToken: VIEWER });
const opts = { protocolVersion: 4, reconnectPeriod: 0 };
const viewer = await connectAsync(broker.url, { ...opts, username: VIEWER_USER, password: VIEWER });
const agent = await connectAsync(broker.url, { ...opts, username: AGENT_USER, password: AGENT });
agent.stream.setNoDelay?.(true);
await viewer.subscribeAsync('egress/v1/#', { qos: 1 });
const payload = Buffer.alloc(Number(values.payload), 0x61);
let received = 0;
const done = new Promise((resolve) =>
  viewer.on('message', () => {
    if (++received === N) resolve();
  }),
);
const t0 = process.hrtime.bigint();
let sent = 0;
let acked = 0;
const window = Number(values.inflight);
await new Promise((resolve) => {
  const more = () => {
    while (sent < N && sent - acked < window) {
      sent++;
      agent.publish('egress/v1/bench/alert', payload, { qos: 1 }, () => {
        acked++;
        if (acked === N) resolve();
        else more();
      });
    }
  };
  more();
});
await done;
const s = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`broker ${dist}`);
console.log(
  `${N} messages of ${payload.length} B, QoS 1, ${window} in flight: ${(N / s).toFixed(0)} msg/s at the subscriber (${s.toFixed(2)} s)`,
);
console.log(`process RSS ${(process.memoryUsage().rss / 1048576).toFixed(0)} MB`);
await agent.endAsync(true);
await viewer.endAsync(true);
await broker.close();
