// Logging in to the agent's dashboard server the way a browser does: the
// token in the address gives a session cookie; MQTT over WebSocket on /mqtt
// needs that cookie (and then the viewer token as the MQTT password).

import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';

/** The session cookie ("egress_session=…") for `token`, from GET /?token=. */
export async function dashboardCookie(httpUrl: string, token: string): Promise<string> {
  const res = await fetch(new URL(`/?token=${encodeURIComponent(token)}`, httpUrl), { redirect: 'manual' });
  const set = res.headers.get('set-cookie');
  if (res.status !== 303 || set === null) throw new Error(`login with the token failed: HTTP ${res.status}`);
  return set.split(';')[0];
}

/** An MQTT viewer over WebSocket at httpUrl's /mqtt, logged in with the cookie and the token. */
export async function connectViewerWs(
  httpUrl: string,
  token: string,
  options: IClientOptions = {},
): Promise<MqttClient> {
  const cookie = await dashboardCookie(httpUrl, token);
  const ws = new URL('/mqtt', httpUrl);
  ws.protocol = 'ws:';
  return connectAsync(ws.toString(), {
    username: 'egress-viewer',
    password: token,
    reconnectPeriod: 0,
    protocolVersion: 4,
    wsOptions: { headers: { cookie } },
    ...options,
  });
}
