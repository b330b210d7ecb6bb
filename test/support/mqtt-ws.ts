// Every MQTT-over-WebSocket connection a test makes goes through here, so
// how the agent's HTTP server admits the /mqtt upgrade is handled in one
// place: the dashboard's session cookie (from GET /?token=) comes first, then
// the MQTT login with whatever credentials the test gives.

import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { MQTT_PATH } from '../../agent/src/http/server.js';
import { dashboardCookie } from './dashboard-http.js';

/** The WebSocket URL of the MQTT endpoint on an agent HTTP server (`http://host:port`). */
export function mqttWsUrl(httpBase: string): string {
  return `${httpBase.replace(/^http/, 'ws').replace(/\/$/, '')}${MQTT_PATH}`;
}

/**
 * Connect MQTT over WebSocket to the agent's HTTP server at `httpBase`
 * (`http://127.0.0.1:PORT`), with the session cookie the dashboard token
 * `httpToken` gives; `options` carry the MQTT login.
 */
export async function connectMqttWs(httpBase: string, httpToken: string, options: IClientOptions): Promise<MqttClient> {
  const cookie = await dashboardCookie(httpBase, httpToken);
  return connectAsync(mqttWsUrl(httpBase), {
    protocolVersion: 4,
    reconnectPeriod: 0,
    ...options,
    wsOptions: { headers: { cookie } },
  });
}
