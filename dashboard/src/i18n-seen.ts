// What a preflight check saw, in the page's language: one sentence per
// summary id the agent sends (status field 35, egress.proto PreflightCheck
// summary_id; the ids and their facts are declared in
// agent/src/selftest/seen.ts), filled from the facts like the fixes
// (i18n-fix.ts): `{name}` is a fact, text between backticks is shown as code,
// verbatim (a path, a program's own message). An id this page does not know
// (a newer agent), a fact missing, or no id (an older agent, or a summary
// that is a program's own message): null, and the page shows the agent's
// English summary, marked as English.

import { type Lang, lang } from './i18n.js';
import { type FixPart, fillParts } from './i18n-fix.js';

const en = {
  interface_not_given: 'No interface was given.',
  ip_missing: 'Cannot tell: the `ip` command is missing.',
  interface_missing: 'Interface {interface} does not exist.',
  interface_down: 'Interface {interface} is down.',
  interface_no_carrier: 'Interface {interface} is up but has no link (no carrier).',
  tcpdump_not_installed: '`{tcpdump}` is not installed.',
  tcpdump_no_capability: 'tcpdump {version} at `{tcpdump}` has no right to capture.',
  capture_no_packet: 'tcpdump listens on {interface} but saw no packet in {wait_s} s.',
  capture_not_listening: 'tcpdump did not start listening on {interface} within {wait_s} s.',
  tcpdump_not_started: '`{tcpdump}` cannot be started.',
  capture_no_permission: 'No permission to capture on {interface}.',
  capture_no_interface: 'Cannot capture on {interface}: no such device, or it is down.',
  capture_tcpdump_failed: 'tcpdump failed, saying `{said}`.',
  capture_ended: 'tcpdump ended without a packet or an error.',
  clock_timesyncd: 'The clock is not synchronised (systemd-timesyncd).',
  clock_chrony: 'The clock is not synchronised (chrony says `{leap}`).',
  clock_chrony_no_leap: 'The clock is not synchronised (chrony gives no leap status).',
  clock_unknown: 'Unknown whether the clock is synchronised: neither timedatectl nor chronyc answered.',
  geo_old: 'The geo data from {data_date} is {age_days} days old (more than {max_days}).',
  geo_undated: 'The geo data has no known date.',
  disk_unreadable: 'The free space of `{path}` cannot be read: `{error}`.',
  disk_free: '{free_mib} MiB free for flights in `{path}`.',
  broker_unreachable: 'Broker `{url}` cannot be reached: `{error}`.',
  broker_port_taken: 'Port 127.0.0.1:{port} for the built-in broker is taken ({code}).',
  key_missing: 'There is no evidence signing key yet in `{dir}`.',
  key_readable: 'Others can read the evidence signing key (mode {mode}).',
  capture_not_yet: 'tcpdump is not capturing on {interface} yet.',
  broker_not_connected: 'Not connected to the broker yet: alerts wait in the spool.',
  // The running agent's problems after the preflight (as the banner says them, problem* in i18n-en.ts).
  capture_error: 'Capture failed: `{detail}`.',
  capture_stalled: 'No packet for {count} s.',
  capture_incomplete: 'Capture incomplete: packets were missed (see Capture for when).',
  spool_full: '{count} messages dropped: the spool is full.',
  traffic_held: 'The gateway holds the controller’s traffic: the block helper does not renew the watch (`{detail}`).',
} as const;

export type SeenId = keyof typeof en;

const nl: Record<SeenId, string> = {
  interface_not_given: 'Er is geen interface opgegeven.',
  ip_missing: 'Niet vast te stellen: het commando `ip` ontbreekt.',
  interface_missing: 'Interface {interface} bestaat niet.',
  interface_down: 'Interface {interface} staat uit.',
  interface_no_carrier: 'Interface {interface} staat aan, maar heeft geen verbinding (geen signaal).',
  tcpdump_not_installed: '`{tcpdump}` is niet geïnstalleerd.',
  tcpdump_no_capability: 'tcpdump {version} in `{tcpdump}` heeft niet het recht om verkeer vast te leggen.',
  capture_no_packet: 'tcpdump luistert op {interface}, maar zag in {wait_s} s geen enkel pakket.',
  capture_not_listening: 'tcpdump begon niet binnen {wait_s} s te luisteren op {interface}.',
  tcpdump_not_started: '`{tcpdump}` kan niet worden gestart.',
  capture_no_permission: 'Geen toestemming om verkeer vast te leggen op {interface}.',
  capture_no_interface: 'Vastleggen op {interface} lukt niet: het apparaat bestaat niet of staat uit.',
  capture_tcpdump_failed: 'tcpdump faalde met de melding `{said}`.',
  capture_ended: 'tcpdump stopte zonder pakket en zonder foutmelding.',
  clock_timesyncd: 'De klok is niet gelijkgezet (systemd-timesyncd).',
  clock_chrony: 'De klok is niet gelijkgezet (chrony meldt `{leap}`).',
  clock_chrony_no_leap: 'De klok is niet gelijkgezet (chrony geeft geen synchronisatiestatus).',
  clock_unknown: 'Onbekend of de klok gelijkgezet is: timedatectl en chronyc gaven geen antwoord.',
  geo_old: 'De geodata van {data_date} zijn {age_days} dagen oud (meer dan {max_days}).',
  geo_undated: 'De geodata hebben geen bekende datum.',
  disk_unreadable: 'De vrije ruimte van `{path}` is niet te lezen: `{error}`.',
  disk_free: '{free_mib} MiB vrij voor vluchten in `{path}`.',
  broker_unreachable: 'Broker `{url}` is niet bereikbaar: `{error}`.',
  broker_port_taken: 'Poort 127.0.0.1:{port} voor de ingebouwde broker is bezet ({code}).',
  key_missing: 'Er is nog geen bewijssleutel in `{dir}`.',
  key_readable: 'Anderen kunnen de bewijssleutel lezen (rechten {mode}).',
  capture_not_yet: 'tcpdump legt nog geen verkeer vast op {interface}.',
  broker_not_connected: 'Nog geen verbinding met de broker: alarmen wachten in de wachtrij.',
  capture_error: 'Vastleggen mislukt: `{detail}`.',
  capture_stalled: 'Al {count} s geen pakket.',
  capture_incomplete: 'Vastlegging onvolledig: er zijn pakketten gemist (zie Vastleggen voor wanneer).',
  spool_full: '{count} berichten weggegooid: de wachtrij is vol.',
  traffic_held:
    'De gateway houdt het verkeer van de controller tegen: de blokkeerhulp verlengt de bewaking niet (`{detail}`).',
};

export const SEEN_CATALOGUES: Record<Lang, Record<SeenId, string>> = { en, nl };

/** What summary `id` says in language `l` (the page's by default), filled from `facts`; null when this page cannot say it. */
export function summaryParts(id: string, facts: Readonly<Record<string, string>>, l: Lang = lang()): FixPart[] | null {
  if (!Object.hasOwn(en, id)) return null;
  return fillParts(SEEN_CATALOGUES[l][id as SeenId], facts);
}

/** The same as one plain string (tests). */
export function summaryText(id: string, facts: Readonly<Record<string, string>>, l: Lang = lang()): string | null {
  return (
    summaryParts(id, facts, l)
      ?.map((p) => p.text)
      .join('') ?? null
  );
}
