// hardware/install.sh: every shell script passes shellcheck; both modes render
// with --dry-run into a directory and nothing else; the rendered files equal
// the golden copies in test/golden/install/<mode>/ (UPDATE_GOLDEN=1 rewrites
// them); each nftables ruleset passes `nft -c -f`, the dnsmasq configuration
// `dnsmasq --test`, and the systemd unit `systemd-analyze verify` (egress is
// not installed here, so verify runs in a private mount namespace where a
// tmpfs over /usr/local/bin holds the rendered wrapper).

import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';

const INSTALL = join(ROOT, 'hardware/install.sh');
const GOLDEN = join(ROOT, 'test/golden/install');
const dir = mkdtempSync(join(tmpdir(), 'egress-install-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function files(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(relative(root, join(d, e.name)));
    }
  };
  walk(root);
  return out.sort();
}

function render(mode: string, extra: string[] = []) {
  const out = join(dir, mode);
  const r = spawnSync('bash', [INSTALL, '--mode', mode, '--dry-run', '--out', out, ...extra], { encoding: 'utf8' });
  return { ...r, out };
}

describe('shell scripts', () => {
  const scripts = [
    'hardware/install.sh',
    'hardware/templates/common/usr/local/bin/egress',
    ...readdirSync(join(ROOT, 'scripts'))
      .map((f) => `scripts/${f}`)
      .filter(
        (f) =>
          (statSync(join(ROOT, f)).isFile() && /^#!.*\b(ba)?sh\b/.test(readFileSync(join(ROOT, f), 'utf8'))) ||
          f.endsWith('.sh'),
      ),
  ];
  it.each(scripts)('%s passes shellcheck', (script) => {
    // The provisioning scripts pass every check; the developer scripts every warning and error.
    const severity = script.startsWith('hardware/') ? 'style' : 'warning';
    const r = spawnSync('shellcheck', ['-x', `--severity=${severity}`, script], { cwd: ROOT, encoding: 'utf8' });
    expect(r.error, 'shellcheck is installed (scripts/lib.sh)').toBeUndefined();
    expect(r.stdout).toBe('');
    expect(r.status).toBe(0);
  });
});

describe.each(['ap', 'bridge'])('install.sh --mode %s --dry-run', (mode) => {
  const r = render(mode, ['--passphrase', 'golden-passphrase-42']);

  it('renders every file and says so, changing nothing outside --out', () => {
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const rendered = files(r.out);
    for (const f of rendered) expect(r.stdout).toContain(`  ${f}\n`);
    expect(rendered).toContain('etc/systemd/system/egress-agent.service');
    expect(rendered).toContain('etc/nftables.conf');
    expect(existsSync('/etc/egress/egress.env')).toBe(false);
  });

  it('matches the golden files', () => {
    const golden = join(GOLDEN, mode);
    if (process.env.UPDATE_GOLDEN === '1') {
      rmSync(golden, { recursive: true, force: true });
      cpSync(r.out, golden, { recursive: true });
    }
    expect(files(r.out)).toEqual(files(golden));
    for (const f of files(golden))
      expect(readFileSync(join(r.out, f), 'utf8'), f).toBe(readFileSync(join(golden, f), 'utf8'));
  });

  it('the nftables ruleset passes nft -c -f', () => {
    const c = spawnSync('nft', ['-c', '-f', join(r.out, 'etc/nftables.conf')], { encoding: 'utf8' });
    expect(c.stderr).toBe('');
    expect(c.status).toBe(0);
  });

  it('the systemd units pass systemd-analyze verify', () => {
    const unit = join(r.out, 'etc/systemd/system/egress-agent.service');
    const wrapper = join(r.out, 'usr/local/bin/egress');
    const units = readdirSync(join(r.out, 'etc/systemd/system')).map(
      (u) => `'${join(r.out, 'etc/systemd/system', u)}'`,
    );
    expect(units.length).toBe(mode === 'ap' ? 2 : 1);
    const script = `mount -t tmpfs tmpfs /usr/local/bin && cp '${wrapper}' /usr/local/bin/egress && systemd-analyze verify ${units.join(' ')}`;
    const v = spawnSync('unshare', ['-m', 'sh', '-c', script], { encoding: 'utf8' });
    expect(v.stderr).toBe('');
    expect(v.status).toBe(0);
    const unitText = readFileSync(unit, 'utf8');
    for (const line of [
      'User=egress',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'PrivateTmp=yes',
      'StateDirectory=egress',
      'CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN',
      'Restart=on-failure',
      'StandardOutput=journal',
    ])
      expect(unitText).toContain(`\n${line}\n`);
  });
});

describe('access-point specifics', () => {
  it('dnsmasq accepts its configuration; hostapd gets the passphrase, readable by root only', () => {
    const out = render('ap', ['--passphrase', 'golden-passphrase-42']).out;
    const t = spawnSync('dnsmasq', ['--test', `--conf-file=${join(out, 'etc/dnsmasq.d/egress.conf')}`], {
      encoding: 'utf8',
    });
    expect(t.stderr).toMatch(/syntax check OK/);
    expect(readFileSync(join(out, 'etc/hostapd/hostapd.conf'), 'utf8')).toMatch(
      /^wpa_passphrase=golden-passphrase-42$/m,
    );
    expect(statSync(join(out, 'etc/hostapd/hostapd.conf')).mode & 0o777).toBe(0o600);
  });

  it("--block tells the agent the block helper's socket in egress.env; without it block mode stays off", () => {
    const env = (extra: string[]) =>
      readFileSync(
        join(render('ap', ['--passphrase', 'golden-passphrase-42', ...extra]).out, 'etc/egress/egress.env'),
        'utf8',
      );
    const off = env([]);
    const on = env(['--block']);
    expect(off).toMatch(/^EGRESS_BLOCK_SOCKET=$/m);
    expect(on).toMatch(/^EGRESS_BLOCK_SOCKET=\/run\/egress-block\/block\.sock$/m);
    expect(on.replace(/^EGRESS_BLOCK_SOCKET=.*$/m, 'EGRESS_BLOCK_SOCKET=')).toBe(off);
    // The same socket the helper listens on, in the directory systemd makes for it (group egress).
    const helper = readFileSync(join(GOLDEN, 'ap/etc/systemd/system/egress-block.service'), 'utf8');
    expect(helper).toContain(' --socket /run/egress-block/block.sock\n');
    expect(helper).toMatch(/^RuntimeDirectory=egress-block$/m);
    expect(helper).toMatch(/^Group=egress$/m);
  });

  it('--block --fail-closed drops what the controller would forward unless the agent watches it; only there', () => {
    const files = (extra: string[]) => {
      const out = render('ap', ['--passphrase', 'golden-passphrase-42', ...extra]).out;
      return {
        env: readFileSync(join(out, 'etc/egress/egress.env'), 'utf8'),
        nft: readFileSync(join(out, 'etc/nftables.conf'), 'utf8'),
        out,
      };
    };
    const rule = 'iifname "wlan0" iifname != @watched counter drop comment "fail-closed: the agent is not watching"';
    for (const extra of [[], ['--block']]) {
      const open = files(extra);
      expect(open.env).toMatch(/^EGRESS_BLOCK_FAIL_CLOSED=$/m);
      expect(open.nft).not.toContain('!= @watched');
    }
    const closed = files(['--block', '--fail-closed']);
    expect(closed.env).toMatch(/^EGRESS_BLOCK_FAIL_CLOSED=1$/m);
    // First in the forward chain: before established connections are let through, so they are held too.
    const forward = closed.nft.slice(closed.nft.indexOf('chain forward'));
    expect(forward.split('\n')[2].trim()).toBe(rule);
    expect(closed.nft).toMatch(/set watched \{\n\t\ttype ifname\n\t\tflags timeout/);
    const c = spawnSync('nft', ['-c', '-f', join(closed.out, 'etc/nftables.conf')], { encoding: 'utf8' });
    expect(c.stderr).toBe('');
    expect(c.status).toBe(0);
  });

  it('a generated passphrase is 20 letters and digits, different each time', () => {
    const a = readFileSync(join(render('ap').out, 'etc/hostapd/hostapd.conf'), 'utf8');
    const b = readFileSync(join(render('ap').out, 'etc/hostapd/hostapd.conf'), 'utf8');
    const pa = /^wpa_passphrase=([A-Za-z0-9]{20})$/m.exec(a)?.[1];
    const pb = /^wpa_passphrase=([A-Za-z0-9]{20})$/m.exec(b)?.[1];
    expect(pa).toBeDefined();
    expect(pa).not.toBe(pb);
  });
});

describe('bad options', () => {
  it.each([
    [['--mode', 'wifi'], /--mode must be ap or bridge/],
    [['--mode', 'ap', '--dry-run'], /--dry-run needs --out DIR/],
    [['--mode', 'ap', '--dry-run', '--out', dir, '--passphrase', 'short'], /--passphrase: 8-63/],
    [['--mode', 'ap', '--dry-run', '--out', dir, '--lan', 'eth0'], /--wan and --lan must differ/],
    [['--mode', 'ap', '--dry-run', '--out', dir, '--ssid', 'a|b'], /--ssid/],
    [['--mode', 'ap', '--dry-run', '--out', dir, '--gpio', 'onoff'], /--gpio must be/],
    [['--mode', 'bridge', '--dry-run', '--out', dir, '--block'], /--block works in ap mode only/],
    [['--mode', 'ap', '--dry-run', '--out', dir, '--fail-closed'], /--fail-closed needs --block/],
  ])('%j is refused with exit 2', (args, message) => {
    const r = spawnSync('bash', [INSTALL, ...args], { encoding: 'utf8' });
    expect(r.stderr).toMatch(message);
    expect(r.status).toBe(2);
  });
});

it.each(['egress-agent', 'egress-block'])('the security score of %s.service is printed for the record', (unit) => {
  const file = join(dir, 'ap', `etc/systemd/system/${unit}.service`);
  const s = execFileSync('systemd-analyze', ['security', '--offline=true', file], { encoding: 'utf8' });
  const score = /Overall exposure level for [\w-]+\.service: ([\d.]+) (\w+)/.exec(s);
  expect(score).not.toBeNull();
  console.log(`systemd-analyze security ${unit}.service: ${score![1]} ${score![2]}`);
  expect(Number(score![1])).toBeLessThan(5);
});
