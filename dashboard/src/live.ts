// The page's MQTT connection (MQTT.js browser build over WebSocket at
// /mqtt, MQTT 3.1.1): the session cookie opens the WebSocket, the viewer
// token (from /api/config, only for a logged-in browser) is the MQTT
// password and goes inside every command. MQTT.js reconnects by itself
// after the agent or its broker restarts; the retained status comes again.

import mqtt, { type MqttClient } from 'mqtt';
import {
  decodeAlert,
  decodeFlow,
  decodeReply,
  decodeSession,
  decodeStats,
  decodeStatus,
  encodeCommand,
  type ReplyMsg,
} from './proto.js';
import { store } from './store.js';

interface Config {
  gateway: string;
  token: string;
  mqtt: string | null;
}

let client: MqttClient | null = null;
let config: Config | null = null;
const pending = new Map<string, (r: ReplyMsg) => void>();
let seq = 0;

export async function connect(): Promise<void> {
  const res = await fetch('/api/config', { credentials: 'same-origin', cache: 'no-store' });
  if (res.status === 401) {
    store.setBroker('unauthorised');
    return;
  }
  config = (await res.json()) as Config;
  store.gateway = config.gateway;
  if (config.mqtt === null) {
    store.setBroker('offline');
    return;
  }
  const url = new URL(config.mqtt, location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const gw = config.gateway;
  client = mqtt.connect(url.toString(), {
    username: 'egress-viewer',
    password: config.token,
    protocolVersion: 4,
    clean: true,
    clientId: `egress-dashboard-${crypto.getRandomValues(new Uint32Array(2)).join('')}`,
    reconnectPeriod: 1000,
    connectTimeout: 5000,
    // MQTT.js would run its keep-alive timer in a Worker made from a blob: URL, which the CSP forbids.
    timerVariant: 'native',
  });
  client.on('connect', () => {
    store.setBroker('connected');
    client?.subscribe(`egress/v1/${gw}/#`, { qos: 1 });
  });
  client.on('reconnect', () => store.setBroker('reconnecting'));
  client.on('offline', () => store.setBroker('offline'));
  client.on('close', () => {
    if (store.broker === 'connected') store.setBroker('reconnecting');
  });
  client.on('message', (topic, payload) => receive(topic, payload));
}

function receive(topic: string, payload: Uint8Array): void {
  const parts = topic.split('/');
  const kind = parts[3];
  try {
    switch (kind) {
      case 'alert':
        store.addAlert(decodeAlert(payload));
        break;
      case 'flow':
        store.addFlow(decodeFlow(payload));
        break;
      case 'status':
        if (payload.length > 0) store.setStatus(decodeStatus(payload));
        break;
      case 'stats':
        store.setStats(decodeStats(payload));
        break;
      case 'session':
        if (payload.length > 0) store.setSession(decodeSession(payload));
        break;
      case 'reply': {
        const r = decodeReply(payload);
        pending.get(r.id)?.(r);
        pending.delete(r.id);
        break;
      }
    }
  } catch {
    // A payload that is not egress.v1: counted nowhere, shown nowhere; the page keeps going.
  }
}

/** Publish cmd/<verb> and wait for the agent's reply (5 s). */
export function command(verb: string, args: Record<string, string> = {}): Promise<ReplyMsg> {
  const c = client;
  const cfg = config;
  if (c === null || cfg === null || !c.connected)
    return Promise.resolve({ id: '', ok: false, code: 'OFFLINE', message: 'not connected' });
  const id = `dash-${Date.now().toString(36)}-${seq++}`;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      resolve({ id, ok: false, code: 'TIMEOUT', message: 'no answer from the agent' });
    }, 5000);
    pending.set(id, (r) => {
      clearTimeout(timer);
      resolve(r);
    });
    c.publish(`egress/v1/${cfg.gateway}/cmd/${verb}`, encodeCommand(id, verb, cfg.token, args) as never, { qos: 1 });
  });
}
