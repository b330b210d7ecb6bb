// What a preflight check saw when it warned or failed ("clock not
// synchronised (systemd-timesyncd)"), each with a stable id and the facts its
// sentence is made from, as fixes.ts does for what to do. The English
// sentence is the summary the CLI, the logs and older pages show; the
// dashboard says the same from the id and facts in the page's language
// (dashboard/src/i18n-seen.ts, a test keeps the catalogues in step). A
// summary that is a program's own message (tcpdump's, the geo loader's, a
// GPIO driver's) has no id: the page shows the English line, marked as
// English. Ids are never renamed.

import { defineFix, type FixDefinition, type FixFacts, type FixOf } from '@egress/hardware';

export const SEEN = {
  // capture.ts
  interface_not_given: defineFix([], () => 'no interface given'),
  ip_missing: defineFix([], () => 'cannot tell: the ip command is missing'),
  interface_missing: defineFix(['interface'], (f) => `interface ${f.interface} does not exist`),
  interface_down: defineFix(['interface'], (f) => `interface ${f.interface} is down`),
  interface_no_carrier: defineFix(['interface'], (f) => `interface ${f.interface} is up but has no carrier`),
  tcpdump_not_installed: defineFix(['tcpdump'], (f) => `${f.tcpdump} is not installed`),
  tcpdump_no_capability: defineFix(
    ['version', 'tcpdump'],
    (f) => `tcpdump ${f.version} at ${f.tcpdump} has no capture capability`,
  ),
  capture_no_packet: defineFix(
    ['interface', 'wait_s'],
    (f) => `tcpdump listens on ${f.interface} but saw no packet in ${f.wait_s} s`,
  ),
  capture_not_listening: defineFix(
    ['interface', 'wait_s'],
    (f) => `tcpdump did not start listening on ${f.interface} within ${f.wait_s} s`,
  ),
  tcpdump_not_started: defineFix(['tcpdump'], (f) => `${f.tcpdump} cannot be started`),
  capture_no_permission: defineFix(['interface'], (f) => `no permission to capture on ${f.interface}`),
  capture_no_interface: defineFix(['interface'], (f) => `cannot capture on ${f.interface}: no such device or not up`),
  capture_tcpdump_failed: defineFix(['said'], (f) => `tcpdump failed: ${f.said}`),
  capture_ended: defineFix([], () => 'tcpdump ended without a packet or an error'),
  // system.ts
  clock_timesyncd: defineFix([], () => 'clock not synchronised (systemd-timesyncd)'),
  clock_chrony: defineFix(['leap'], (f) => `clock not synchronised (chrony: ${f.leap})`),
  clock_chrony_no_leap: defineFix([], () => 'clock not synchronised (chrony: no leap status)'),
  clock_unknown: defineFix([], () => 'clock synchronisation unknown: neither timedatectl nor chronyc answered'),
  geo_old: defineFix(
    ['data_date', 'age_days', 'max_days'],
    (f) =>
      `geo data from ${f.data_date} is ${f.age_days} days old (more than ${f.max_days}): install a newer bundle with \`egress db update FILE\``,
  ),
  geo_undated: defineFix([], () => 'geo data of unknown date: install a current bundle (egress db update)'),
  disk_unreadable: defineFix(['path', 'error'], (f) => `cannot read free space of ${f.path}: ${f.error}`),
  disk_free: defineFix(['free_mib', 'path'], (f) => `${f.free_mib} MiB free for sessions in ${f.path}`),
  // broker.ts
  broker_unreachable: defineFix(['url', 'error'], (f) => `broker ${f.url} not reachable: ${f.error}`),
  broker_port_taken: defineFix(
    ['port', 'code'],
    (f) => `embedded broker port 127.0.0.1:${f.port} is taken (${f.code})`,
  ),
  // evidence.ts
  key_missing: defineFix(['dir'], (f) => `no evidence signing key yet in ${f.dir}`),
  key_readable: defineFix(['mode'], (f) => `the evidence signing key is readable by others (mode ${f.mode})`),
  // live/preflight.ts: the running agent's capture and broker
  capture_not_yet: defineFix(['interface'], (f) => `tcpdump is not capturing on ${f.interface} yet`),
  broker_not_connected: defineFix([], () => 'not connected to the broker yet: alerts wait in the spool'),
  // live/agent-condition.ts: the running agent's problems after the preflight (status field 34's ids). The
  // English is the agent's own status line (`problemSeen`); for a gap and held traffic it says more than the
  // sentence here (the gap's times, the interface), which the page shows in its Capture panel and banner.
  capture_error: defineFix(['detail'], (f) => `capture: ${f.detail}`),
  capture_stalled: defineFix(['count'], (f) => `capture: no packet for ${f.count} s`),
  capture_incomplete: defineFix([], () => 'capture incomplete'),
  spool_full: defineFix(['count'], (f) => `spool full: ${f.count} messages dropped`),
  traffic_held: defineFix(['detail'], (f) => `traffic held: the block helper did not renew the watch (${f.detail})`),
} as const;

export type SeenId = keyof typeof SEEN;
export type Seen = FixOf<SeenId>;

/** Every id a result can carry, for the tests that keep the page's catalogue complete. */
export const SEEN_IDS = Object.keys(SEEN) as SeenId[];

/** Ids whose English line is the running agent's own status line, fuller than the catalogue's sentence. */
export const SEEN_OWN_LINE: readonly SeenId[] = ['capture_incomplete', 'traffic_held'];

/** A running problem (live/agent-condition.ts) as what was seen: its id, its facts, the status line's English. */
export function problemSeen(p: {
  id: 'capture_error' | 'capture_stalled' | 'capture_incomplete' | 'spool_full' | 'traffic_held';
  count: number;
  detail: string;
  text: string;
}): Seen {
  const names = SEEN[p.id].facts as readonly string[];
  const facts = Object.fromEntries(names.map((n) => [n, n === 'count' ? p.count : p.detail]));
  return { id: p.id, text: p.text, facts };
}

/** What was seen, `id` with its facts, and its English sentence made from them. */
export function seen<I extends SeenId>(id: I, facts: FixFacts<(typeof SEEN)[I]['facts']>): Seen {
  const def = SEEN[id] as FixDefinition;
  return { id, text: def.en(facts), facts: { ...facts } };
}
