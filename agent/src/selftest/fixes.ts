// Every "what to do" line of the preflight self-test (`egress selftest`,
// the live agent's preflight and its running checks), each with a stable id
// and the names of the facts its sentence needs. A check result can only
// carry a fix made here (types.ts `result`), so no fix sentence exists
// without its id. The English sentence is the one the CLI, the logs and
// older pages show; the dashboard says the same from the id and the facts
// in the page's language (dashboard/src/i18n-fix.ts, a test keeps the two
// catalogues in step). Ids are never renamed: a page that does not know one
// falls back to the English sentence.

import { defineFix, type FixDefinition, type FixFacts, type FixOf, GPIO_FIXES } from '@egress/hardware';

const MIB = 1024 * 1024;

export const FIXES = {
  // capture.ts: the interface, tcpdump, a first packet
  interface_not_given: defineFix([], () => 'give --interface IF (wlan0 in access-point mode, br0 in bridge mode)'),
  iproute2_missing: defineFix([], () => 'apt install iproute2'),
  interface_missing: defineFix(
    ['interface'],
    () => 'check the name with `ip link`; in access-point mode wlan0 appears once the Wi-Fi adapter is there',
  ),
  interface_down: defineFix(['interface'], (f) => `ip link set ${f.interface} up (or check the network service)`),
  interface_no_carrier: defineFix(
    ['interface'],
    () => 'plug in the cable, or start the access point (systemctl status hostapd)',
  ),
  tcpdump_missing: defineFix(['tcpdump'], () => 'apt install tcpdump'),
  tcpdump_no_capability: defineFix(['tcpdump'], (f) => `setcap cap_net_raw,cap_net_admin+eip ${f.tcpdump}`),
  capture_no_packet: defineFix(
    ['interface', 'wait_s'],
    () => 'is the controller connected and switched on? (Wi-Fi joined, cable in)',
  ),
  capture_no_permission: defineFix(
    ['interface'],
    () => 'give tcpdump the capability: setcap cap_net_raw,cap_net_admin+eip $(command -v tcpdump)',
  ),
  capture_no_interface: defineFix(['interface'], () => 'check the name with `ip link`'),
  capture_tcpdump_error: defineFix(['interface', 'said'], () => 'run the same tcpdump by hand to see why'),
  capture_ended: defineFix(['interface'], () => 'run tcpdump by hand on the interface'),
  // system.ts: clock, geo data, disk
  clock_timesyncd: defineFix(
    [],
    () => 'give the gateway network time once (Ethernet uplink), or check `timedatectl timesync-status`',
  ),
  clock_chrony: defineFix([], () => 'check `chronyc sources`; the gateway needs a time source'),
  clock_unknown: defineFix([], () => 'run systemd-timesyncd or chrony so evidence timestamps can be trusted'),
  geo_stale: defineFix([], () => 'copy a new bundle to the gateway and run `egress db update FILE`'),
  geo_missing: defineFix([], () => 'install geo data: `egress db update FILE`, or rebuild the agent'),
  disk_unreadable: defineFix(['path'], () => 'check that the service user may read the data directory'),
  disk_full: defineFix(
    ['need_mib'],
    (f) => `free space or move --data-dir to a larger disk (at least ${f.need_mib} MiB)`,
  ),
  disk_low: defineFix(
    ['advised_mib'],
    (f) => `export and remove old sessions (at least ${Number(f.advised_mib) / 1024} GiB is advised)`,
  ),
  // broker.ts
  broker_unreachable: defineFix(
    ['url'],
    () => 'check the URL, the network to it, the username (EGRESS_BROKER_PASSWORD) and the CA',
  ),
  broker_port_taken: defineFix(['port'], () => 'another agent or broker is running: stop it, or choose --mqtt-port'),
  // evidence.ts
  key_missing: defineFix(
    [],
    () => 'start the agent once (egress run): it makes the key, then `egress key export` gives the public key',
  ),
  key_readable: defineFix(['file'], (f) => `chmod 600 ${f.file}`),
  key_invalid: defineFix(
    [],
    () => 'restore the key from its backup; a new key cannot sign for flights already recorded',
  ),
  // live/preflight.ts: the running agent's capture and broker
  capture_not_running: defineFix(
    ['interface'],
    (f) => `run \`egress selftest --interface ${f.interface}\` for the cause (interface down, tcpdump capability)`,
  ),
  broker_not_connected: defineFix([], () => 'check the broker address and credentials (egress selftest --broker URL)'),
  // live/signals.ts: what the running agent reports after the preflight
  capture_down: defineFix([], () => 'the gateway is blind until tcpdump captures again'),
  capture_gap: defineFix([], () => 'no alert during the gap does not mean nothing was sent'),
  spool_dropping: defineFix([], () => 'check the broker connection and the disk'),
  block_helper_silent: defineFix([], () => 'start the block helper: systemctl restart egress-block'),
  // gpio.ts: the GPIO driver's own fixes (hardware/src/gpio/fixes.ts)
  ...GPIO_FIXES,
} as const;

export type FixId = keyof typeof FIXES;
export type Fix = FixOf<FixId>;

/** Every id a result can carry, for the tests that keep the page's catalogue complete. */
export const FIX_IDS = Object.keys(FIXES) as FixId[];

/** The fix `id` with its facts, and its English sentence made from them. */
export function fix<I extends FixId>(id: I, facts: FixFacts<(typeof FIXES)[I]['facts']>): Fix {
  const def = FIXES[id] as FixDefinition;
  return { id, text: def.en(facts), facts: { ...facts } };
}

/** Disk thresholds as the disk fixes state them. */
export const mib = (bytes: number): number => Math.round(bytes / MIB);
