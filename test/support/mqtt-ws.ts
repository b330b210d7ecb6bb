// Every MQTT-over-WebSocket connection a test makes goes through here, so a
// change in how the agent's HTTP server admits the /mqtt upgrade (a session
// cookie, a path) is adapted in one place.

import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { MQTT_WS_PATH } from '../../agent/src/mqtt/broker.js';

/** The WebSocket URL of the MQTT endpoint on an agent HTTP server (`http://host:port`). */
export function mqttWsUrl(httpBase: string): string {
  return `${httpBase.replace(/^http/, 'ws').replace(/\/$/, '')}${MQTT_WS_PATH}`;
}

/** Connect MQTT over WebSocket to the agent's HTTP server at `httpBase` (`http://127.0.0.1:PORT`). */
export function connectMqttWs(httpBase: string, options: IClientOptions): Promise<MqttClient> {
  return connectAsync(mqttWsUrl(httpBase), { protocolVersion: 4, reconnectPeriod: 0, ...options });
}
