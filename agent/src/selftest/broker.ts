// Broker check: an external broker (--broker URL) must accept a real MQTT
// connection with the gateway's credentials within a few seconds; for the
// embedded broker, its port on 127.0.0.1 must be free to listen on.

import { createServer } from 'node:net';
import mqtt from 'mqtt';
import { fix } from './fixes.js';
import { seen } from './seen.js';
import { type CheckResult, result } from './types.js';

export interface BrokerTarget {
  url?: string;
  username?: string;
  password?: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** Embedded broker port (when no url). */
  port: number;
  timeoutMs?: number;
}

export async function checkBroker(t: BrokerTarget): Promise<CheckResult> {
  if (t.url === undefined) return checkEmbeddedPort(t.port);
  const started = Date.now();
  const timeout = t.timeoutMs ?? 5000;
  let client: mqtt.MqttClient | undefined;
  try {
    client = await mqtt.connectAsync(
      t.url,
      {
        connectTimeout: timeout,
        reconnectPeriod: 0,
        username: t.username,
        password: t.password,
        ca: t.ca,
        cert: t.cert,
        key: t.key,
        clientId: `egress-selftest-${process.pid}`,
      },
      false,
    );
    return result('broker', 'pass', `broker ${t.url} accepted a connection in ${Date.now() - started} ms`, null, {
      url: t.url,
      connect_ms: Date.now() - started,
    });
  } catch (err) {
    return result(
      'broker',
      'fail',
      seen('broker_unreachable', { url: t.url, error: (err as Error).message }),
      fix('broker_unreachable', { url: t.url }),
      { url: t.url },
    );
  } finally {
    await client?.endAsync(true).catch(() => {});
  }
}

function checkEmbeddedPort(port: number): Promise<CheckResult> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) =>
      resolve(
        result(
          'broker',
          'warn',
          seen('broker_port_taken', { port, code: String(err.code) }),
          fix('broker_port_taken', { port }),
          { port, code: err.code ?? null },
        ),
      ),
    );
    server.listen(port, '127.0.0.1', () => {
      server.close(() =>
        resolve(result('broker', 'pass', `embedded broker can listen on 127.0.0.1:${port}`, null, { port })),
      );
    });
  });
}
