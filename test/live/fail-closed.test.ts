// Fail-closed block mode through a real gateway (DESIGN.md: "fail-open by
// default, fail-closed on request"): the three namespaces of
// test/support/gateway-net.ts with the ruleset `install.sh --mode ap --block
// --fail-closed` renders, the real block helper in the gateway namespace, and
// `egress run --block-fail-closed` capturing wlan0 there. A real client in
// the controller namespace (curl) reaches the internet side only while the
// agent captures: before it starts, within the 15 s timeout after it is
// killed (measured and printed), and at once after it stops cleanly, the
// gateway holds the traffic. Nothing leaves the namespaces; every process is
// stopped by PID and the namespaces are deleted. Needs root, as CI has.

import { type ChildProcess, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, spawnEgress } from '../support/cli.js';
import { type GatewayNet, NL_SERVER, setupGatewayNet } from '../support/gateway-net.js';
import { deleteNamespace, inNs, startInNs, stop, waitFor } from '../support/netns.js';

const dir = mkdtempSync(join(tmpdir(), 'egress-fail-closed-'));
const started: ChildProcess[] = [];
const SOCKET = join(dir, 'block.sock');
let net: GatewayNet | null = null;
let tcpdump = '';

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('this test needs root: it creates network namespaces');
  net = await setupGatewayNet(started, dir, `fc${process.pid}`, 'ap', ['--block', '--fail-closed']);
  tcpdump = join(dir, 'tcpdump-gw');
  writeFileSync(tcpdump, `#!/bin/sh\nexec ip netns exec ${net.gw} tcpdump "$@"\n`);
  chmodSync(tcpdump, 0o755);
  // The helper in the gateway namespace, so its nft acts on the gateway's ruleset.
  await startInNs(
    started,
    net.gw,
    process.execPath,
    [join(ROOT, 'hardware/dist/block/bin.js'), '--socket', SOCKET],
    /listening on/,
  );
}, 90_000);

afterAll(async () => {
  for (const child of started.reverse()) await stop(child);
  if (net) for (const ns of [net.ctl, net.gw, net.net]) deleteNamespace(ns);
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

/** One HTTP fetch from the controller through the gateway: true when it came back. */
function reaches(maxS = 2): boolean {
  const r = spawnSync(
    'ip',
    ['netns', 'exec', net?.ctl ?? '', 'curl', '-sS', '--max-time', String(maxS), `http://${NL_SERVER}/index.html`],
    { encoding: 'utf8' },
  );
  return r.status === 0 && r.stdout === 'hello\n';
}

const watched = () => inNs(net?.gw ?? '', 'nft', ['list', 'set', 'inet', 'egress', 'watched']);
const held = () =>
  Number(
    /!= @watched counter packets (\d+)/.exec(
      inNs(net?.gw ?? '', 'nft', ['list', 'chain', 'inet', 'egress', 'forward']),
    )?.[1] ?? -1,
  );

/** `egress run --block-fail-closed` on the gateway's wlan0; its log, and a way to wait for a line. */
async function startAgent(tag: string): Promise<{ child: ChildProcess; log: () => string }> {
  const args = ['run', '--interface', 'wlan0', '--tcpdump', tcpdump, '--gateway', `fc-${tag}`];
  args.push('--data-dir', join(dir, `data-${tag}`), '--no-http', '--mqtt-port', '0', '--quiet');
  args.push('--block-socket', SOCKET, '--block-fail-closed');
  const child = spawnEgress(args, { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let log = '';
  child.stderr?.on('data', (c: Buffer) => (log += c.toString()));
  await waitFor('the agent to watch wlan0', () => log.includes('fail-closed: the agent watches wlan0'), 30_000);
  return { child, log: () => log };
}

describe('fail-closed block mode on a real gateway (install.sh --block --fail-closed, egress run --block-fail-closed)', () => {
  it('holds the controller’s traffic while no agent watches it', () => {
    expect(watched()).not.toContain('"wlan0"');
    const before = held();
    expect(reaches()).toBe(false);
    expect(held()).toBeGreaterThan(before);
  });

  it('forwards it while the agent captures wlan0, renewing the watch', async () => {
    const agent = await startAgent('a');
    expect(agent.log()).toContain(
      "fail-closed: the gateway forwards wlan0's traffic only while this agent captures it (renewed every 5 s, held within 15 s otherwise)",
    );
    expect(watched()).toMatch(/elements = \{ "wlan0" timeout 15s expires \d+/);
    expect(reaches()).toBe(true);
    // Renewed: after more than one renewal period the element's timeout started again.
    // Without a renewal 15 - 7 = 8 s would be left; renewed 5 s in, about 13.
    await new Promise((r) => setTimeout(r, 7000));
    const left = Number(/expires (\d+)s/.exec(watched())?.[1]);
    expect(left).toBeGreaterThanOrEqual(10);
    expect(reaches()).toBe(true);

    // The agent dies (SIGKILL: no unwatch): the gateway holds the traffic when the element times out.
    const killedAt = Date.now();
    agent.child.kill('SIGKILL');
    let heldAfterMs = -1;
    while (Date.now() - killedAt < 25_000) {
      if (!reaches(1)) {
        heldAfterMs = Date.now() - killedAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    console.log(`fail-closed: traffic held ${(heldAfterMs / 1000).toFixed(1)} s after the agent was killed`);
    expect(heldAfterMs).toBeGreaterThan(0);
    expect(heldAfterMs).toBeLessThanOrEqual(18_000); // 15 s timeout, renewed at most 5 s before the kill
    expect(watched()).not.toContain('"wlan0"');
    // The tcpdump it left behind is not a watcher: nothing renews the element.
    const orphans = spawnSync('ip', ['netns', 'exec', net?.gw ?? '', 'pgrep', '-x', 'tcpdump'], { encoding: 'utf8' });
    for (const pid of orphans.stdout.split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
  }, 60_000);

  it('holds it at once when the agent stops cleanly', async () => {
    const agent = await startAgent('b');
    expect(reaches()).toBe(true);
    agent.child.kill('SIGTERM');
    await waitFor('the agent to stop', () => agent.child.exitCode !== null, 20_000);
    expect(agent.child.exitCode, agent.log()).toBe(0);
    expect(agent.log()).toContain("fail-closed: the agent stops; the gateway holds wlan0's traffic now");
    expect(watched()).not.toContain('"wlan0"');
    expect(reaches()).toBe(false);
  }, 60_000);
});
