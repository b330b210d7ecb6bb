// `egress replay` through main() in process, on its timing (cli/live.ts):
// a paced replay ends flows that went idle by the wall clock on its tick, as
// `egress run` does, not only when a later packet or the end comes. A TCP
// connection that closes at the start is published as a flow (MQTT, the
// agent's embedded broker, the viewer login) about 10 s later (the closed
// grace), while the capture's next packet comes only 16 s in; the tick is
// cleared when the replay ends. At speed max there is no tick (capture
// timestamps are not "now"): a looping flow stays one flow. An ICMP alert
// line has no ports; --influx and --block-fail-closed are said in the log. And
// a replay that leaves nothing to deliver does not say it waits for the broker.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../agent/src/cli/main.js';
import { VIEWER_USER } from '../../agent/src/mqtt/broker.js';
import { decodeForTopic } from '../../agent/src/mqtt/codec-decode.js';
import { ethernet, icmpEcho, ipPacket, pcapFile, tcpConversation, udpDatagram } from '../support/builders.js';
import { capturedIo, egressIn } from '../support/cli-in.js';
import { freePort } from '../support/mosquitto.js';

const tmp = mkdtempSync(join(tmpdir(), 'egress-replay-paced-'));
let runs = 0;
const freshDir = () => join(tmp, `d${++runs}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const T0 = 1_700_000_000_000_000;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('replay on its timing', () => {
  it('paced: a closed connection is published on the tick after its 10 s grace, before the next packet (16 s in)', async () => {
    const file = join(tmp, 'closed-then-quiet.pcap');
    const udp = { src: '192.168.1.10', dst: '192.0.2.53' };
    writeFileSync(
      file,
      pcapFile([
        ...tcpConversation({ src: '192.168.1.10', dst: '192.0.2.80', sport: 40_000, dport: 80, t0: T0 }),
        { tsUs: T0 + 16_000_000, data: ethernet(ipPacket(udp, udpDatagram({ ...udp, sport: 40_001, dport: 9 }))) },
      ]),
    );
    const intervals = vi.spyOn(globalThis, 'setInterval');
    const cleared = vi.spyOn(globalThis, 'clearInterval');
    const dir = freshDir();
    const c = capturedIo();
    const exited = main(
      [
        'replay',
        file,
        '--speed',
        '1',
        '--quiet',
        '--no-http',
        '--mqtt-port',
        '0',
        '--gateway',
        'gw-paced',
        '--linger',
        '2',
        '--data-dir',
        dir,
      ],
      c.io,
    );
    let url = '';
    for (let i = 0; i < 200 && url === ''; i++) {
      url = /broker (mqtt:\/\/127\.0\.0\.1:\d+)/.exec(c.stderr())?.[1] ?? '';
      if (url === '') await sleep(25);
    }
    const token = JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8')).dashboard;
    const client = await connectAsync(url, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      username: VIEWER_USER,
      password: token,
    });
    /** Each flow message with the wall-clock ms it arrived at. */
    const flows: { at: number; flow: Record<string, unknown> }[] = [];
    client.on('message', (topic, payload) => {
      const m = decodeForTopic(topic, payload);
      if (m?.topic.kind === 'flow') flows.push({ at: Date.now(), flow: m.message as Record<string, unknown> });
    });
    await client.subscribeAsync('egress/v1/gw-paced/flow', { qos: 1 });
    const code = await exited;
    await client.endAsync(true);
    expect(code, c.stderr()).toBe(0);
    expect(c.stdout()).toMatch(/^replayed 9 packets; flows: 2 to the internet/);
    // The connection's flow, ended as closed on the tick after its grace, before the late datagram
    // (16 s later) arrived; then the datagram's, at the end.
    expect(flows.map((f) => [f.flow.dest_port, f.flow.end_reason])).toEqual([
      [80, 'closed'],
      [9, 'end_of_input'],
    ]);
    const [closed, late] = flows;
    expect(closed.at).toBeGreaterThanOrEqual(Number(closed.flow.end_us) / 1000 + 10_000);
    expect(closed.at).toBeLessThan(Number(late.flow.start_us) / 1000);
    // Its tick is gone with it (and every other timer of the agent).
    // Its tick is gone with it (and every other interval the agent set).
    const gone = new Set(cleared.mock.calls.map((c) => c[0]));
    const left = intervals.mock.results.filter((r, i) => intervals.mock.calls[i][1] === 1000 && !gone.has(r.value));
    vi.restoreAllMocks();
    expect(left).toEqual([]);
  }, 60_000);

  it('an alert without ports (ICMP) prints none; --influx and --block-fail-closed are said in the log', async () => {
    const file = join(tmp, 'ping.pcap');
    const ping = { src: '192.168.1.10', dst: '192.0.2.80' };
    writeFileSync(
      file,
      pcapFile([{ tsUs: T0, data: ethernet(ipPacket(ping, icmpEcho({ v6: false, reply: false, id: 7, seq: 1 }))) }]),
    );
    const influx = await freePort();
    const r = await egressIn([
      'replay',
      file,
      '--speed',
      'max',
      '--no-http',
      '--mqtt-port',
      '0',
      '--gateway',
      'gw-ping',
      '--linger',
      '2',
      '--influx',
      `http://127.0.0.1:${influx}/drone`,
      '--block-socket',
      join(tmp, 'no-helper.sock'),
      '--block-fail-closed',
      '--data-dir',
      freshDir(),
    ]);
    expect(r.stdout).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z ALERT [A-Z]+ 192\.168\.1\.10 -> 192\.0\.2\.80 ICMP \[[^\]]+\] .+\nreplayed 1 packets; /,
    );
    const log = r.stderr.split('\n').map((l) => l.replace(/^\S+Z egress: /, ''));
    expect(log).toContainEqual(
      expect.stringMatching(
        new RegExp(`^history: InfluxDB http://127\\.0\\.0\\.1:${influx}/drone \\(raw points kept \\S+\\)$`),
      ),
    );
    expect(log).toContain('fail-closed: for egress run only (a replay holds no interface); ignored');
  }, 60_000);

  it('max: no wall-clock tick; a looping replay whose flow never idles by its own time stays one flow', async () => {
    const file = join(tmp, 'one-flow-100s.pcap');
    const udp = { src: '192.168.1.10', dst: '192.0.2.53' };
    const datagram = ethernet(ipPacket(udp, udpDatagram({ ...udp, sport: 40_002, dport: 9 })));
    // 100 s apart (the UDP timeout is 120 s); each pass starts 1 s after the last.
    writeFileSync(
      file,
      pcapFile([
        { tsUs: T0, data: datagram },
        { tsUs: T0 + 100_000_000, data: datagram },
      ]),
    );
    const c = capturedIo();
    const exited = main(
      [
        'replay',
        file,
        '--loop',
        '--speed',
        'max',
        '--quiet',
        '--no-http',
        '--mqtt-port',
        '0',
        '--gateway',
        'gw-max',
        '--linger',
        '1',
        '--data-dir',
        freshDir(),
      ],
      c.io,
    );
    for (let i = 0; i < 400 && !c.stderr().includes('replay starts over (pass 2)'); i++) await sleep(25);
    // Long enough for a tick (every second) to have ended it, were there one.
    await sleep(2500);
    process.emit('SIGTERM');
    expect(await exited, c.stderr()).toBe(0);
    expect(c.stdout()).toMatch(/^replayed \d+ packets \(stopped\); flows: 1 to the internet, 0 local; /);
  }, 60_000);

  it('a capture with no packet: nothing to deliver, no wait for the broker', async () => {
    const file = join(tmp, 'empty.pcap');
    writeFileSync(file, pcapFile([]));
    const r = await egressIn([
      'replay',
      file,
      '--speed',
      'max',
      '--no-http',
      '--mqtt-port',
      '0',
      '--gateway',
      'gw-empty',
      '--data-dir',
      freshDir(),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('replayed 0 packets; flows: 0 to the internet, 0 local; alerts: 0\n');
    expect(r.stderr).not.toContain('waiting up to');
    expect(r.stderr).not.toContain('fail-closed');
  }, 60_000);
});
