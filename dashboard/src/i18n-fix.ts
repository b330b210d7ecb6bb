// What to do about a preflight check that warned or failed, in the page's
// language: one sentence per fix id the agent sends (status field 35,
// egress.proto PreflightCheck; the ids and their facts are declared in
// agent/src/selftest/fixes.ts and hardware/src/gpio/fixes.ts), filled from
// the facts. `{name}` is a fact; text between backticks is a command or a
// path and is shown as code, verbatim. An id this page does not know (a newer
// agent), a fact missing, or no id at all (an older agent): null, and the
// page shows the agent's English line instead.

import { type Lang, lang } from './i18n.js';

const en = {
  interface_not_given: 'Give the interface: `--interface wlan0` (access point) or `--interface br0` (bridge).',
  iproute2_missing: 'Install iproute2: `apt install iproute2`.',
  interface_missing:
    'Interface {interface} does not exist: check the name with `ip link`. In access-point mode wlan0 appears once the Wi-Fi adapter is there.',
  interface_down: 'Bring the interface up: `ip link set {interface} up`, or check the network service.',
  interface_no_carrier:
    'No link on {interface}: plug in the cable, or start the access point (`systemctl status hostapd`).',
  tcpdump_missing: 'Install tcpdump: `apt install tcpdump`.',
  tcpdump_no_capability: 'Give tcpdump the right to capture: `setcap cap_net_raw,cap_net_admin+eip {tcpdump}`.',
  capture_no_packet:
    'No traffic on {interface} within {wait_s} s: is the controller switched on and connected (Wi-Fi joined, cable in)?',
  capture_no_permission:
    'Give tcpdump the right to capture: `setcap cap_net_raw,cap_net_admin+eip $(command -v tcpdump)`.',
  capture_no_interface: 'Cannot capture on {interface}: check the name with `ip link`.',
  capture_tcpdump_error: 'tcpdump said: `{said}`. Run the same tcpdump by hand to see why.',
  capture_ended: 'tcpdump stopped without a word. Run it by hand on {interface}: `tcpdump -i {interface} -n`.',
  clock_timesyncd:
    'Give the gateway network time once (network cable to the internet), or check `timedatectl timesync-status`.',
  clock_chrony: 'The gateway needs a time source: check `chronyc sources`.',
  clock_unknown: 'Run systemd-timesyncd or chrony, so the times in the evidence can be trusted.',
  geo_stale: 'Copy a new geo data bundle to the gateway and run `egress db update FILE` (FILE is that bundle).',
  geo_missing: 'Install geo data: `egress db update FILE`, or rebuild the agent.',
  disk_unreadable: 'Free space of `{path}` cannot be read: check that the service user may read the data directory.',
  disk_full: 'Free space, or move `--data-dir` to a larger disk (at least {need_mib} MiB).',
  disk_low: 'Export and remove old flights (at least {advised_mib} MiB free is advised).',
  broker_unreachable:
    'Broker `{url}` cannot be reached: check the address, the network to it, the username (`EGRESS_BROKER_PASSWORD`) and the CA certificate.',
  broker_port_taken:
    'Port {port} is taken by another agent or broker: stop it, or choose another port with `--mqtt-port`.',
  key_missing: 'Start the agent once (`egress run`): it makes the key. Then `egress key export` gives the public key.',
  key_readable: 'Make the evidence key readable by the agent only: `chmod 600 {file}`.',
  key_invalid: 'Restore the key from its backup. A new key cannot sign for flights already recorded.',
  capture_not_running:
    'Run `egress selftest --interface {interface}` to find the cause (interface down, tcpdump capability).',
  broker_not_connected:
    'Check the broker address and login (`egress selftest --broker URL`). Alerts wait in the spool meanwhile.',
  capture_down: 'Note: the gateway sees no traffic until tcpdump captures again.',
  capture_gap: 'Note: no alert during the gap does not mean nothing was sent.',
  spool_dropping: 'Check the connection to the broker and the disk space.',
  block_helper_silent: 'Start the block helper: `systemctl restart egress-block`.',
  gpio_tool_missing: '{tool} is missing. Install it: `apt install gpiod` (or use `--gpio libgpiod`).',
  gpio_chip_missing:
    'GPIO chip `{chip}` does not exist. Find the right one with `gpiodetect` (older Pi 5 kernels: gpiochip4).',
  gpio_pin_invalid: 'Give a BCM number (0 to 511) for the {pin} pin.',
  gpio_pin_shared: '{first} and {second} both use line {line}: give each signal its own line.',
  gpio_chip_name_invalid: '"{chip}" is not a chip name. Use for example `gpiochip0`.',
  gpio_libgpiod_missing:
    'Run `apt install libgpiod-dev build-essential`, then `npm_config_nodedir=/usr pnpm install`; or use `--gpio cli`.',
  gpio_chip_unopenable:
    'GPIO chip `{chip}` does not open. Check it with `gpiodetect`; the service user must be in the gpio group.',
  gpio_lines_busy:
    'Another program holds a GPIO line on `{chip}` (`gpioinfo` shows which), or the pin numbers are wrong.',
  gpio_pins_syntax:
    '"{part}" is not NAME=LINE. For example: `--gpio-pins green=17,amber=27,red=22,buzzer=23,button=24`.',
  gpio_driver_unknown: 'Choose one of these GPIO drivers: {drivers}.',
} as const;

export type FixId = keyof typeof en;

const nl: Record<FixId, string> = {
  interface_not_given: 'Geef de interface op: `--interface wlan0` (wifi-toegangspunt) of `--interface br0` (brug).',
  iproute2_missing: 'Installeer iproute2: `apt install iproute2`.',
  interface_missing:
    'Interface {interface} bestaat niet. Controleer de naam met `ip link`. Bij een wifi-toegangspunt verschijnt wlan0 pas als de wifi-adapter er is.',
  interface_down: 'Zet de interface aan: `ip link set {interface} up`, of controleer de netwerkdienst.',
  interface_no_carrier:
    'Geen verbinding op {interface}: sluit de kabel aan, of start het wifi-toegangspunt (`systemctl status hostapd`).',
  tcpdump_missing: 'Installeer tcpdump: `apt install tcpdump`.',
  tcpdump_no_capability:
    'Geef tcpdump het recht om verkeer vast te leggen: `setcap cap_net_raw,cap_net_admin+eip {tcpdump}`.',
  capture_no_packet:
    'Geen verkeer op {interface} binnen {wait_s} s. Controleer of de controller aan staat en verbonden is (wifi gekoppeld, kabel erin).',
  capture_no_permission:
    'Geef tcpdump het recht om verkeer vast te leggen: `setcap cap_net_raw,cap_net_admin+eip $(command -v tcpdump)`.',
  capture_no_interface: 'Vastleggen op {interface} lukt niet. Controleer de naam met `ip link`.',
  capture_tcpdump_error: 'tcpdump meldt: `{said}`. Start dezelfde tcpdump met de hand om de oorzaak te zien.',
  capture_ended: 'tcpdump stopte zonder melding. Start hem met de hand op {interface}: `tcpdump -i {interface} -n`.',
  clock_timesyncd:
    'De klok is niet gelijkgezet. Verbind de gateway één keer met internet via de netwerkkabel, of controleer `timedatectl timesync-status`.',
  clock_chrony: 'De klok is niet gelijkgezet: de gateway heeft een tijdbron nodig. Controleer `chronyc sources`.',
  clock_unknown:
    'Zet tijdsynchronisatie aan (systemd-timesyncd of chrony), anders zijn de tijden in het bewijs niet betrouwbaar.',
  geo_stale: 'Zet een nieuwe geodatabundel op de gateway en voer `egress db update FILE` uit (FILE is die bundel).',
  geo_missing: 'Installeer geodata: `egress db update FILE`, of bouw de agent opnieuw.',
  disk_unreadable:
    'De vrije ruimte van `{path}` is niet te lezen. Controleer of de gebruiker van de dienst de datamap mag lezen.',
  disk_full:
    'Te weinig schijfruimte. Maak ruimte vrij, of zet `--data-dir` op een grotere schijf (minstens {need_mib} MiB).',
  disk_low: 'Exporteer oude vluchten en verwijder ze (minstens {advised_mib} MiB vrij is aan te raden).',
  broker_unreachable:
    'Broker `{url}` is niet bereikbaar. Controleer het adres, het netwerk ernaartoe, de gebruikersnaam (`EGRESS_BROKER_PASSWORD`) en het CA-certificaat.',
  broker_port_taken:
    'Poort {port} is bezet door een andere agent of broker. Stop die, of kies een andere poort met `--mqtt-port`.',
  key_missing:
    'Start de agent één keer (`egress run`): die maakt de sleutel. Daarna geeft `egress key export` de publieke sleutel.',
  key_readable: 'Maak de bewijssleutel alleen leesbaar voor de agent: `chmod 600 {file}`.',
  key_invalid:
    'Zet de sleutel terug uit de back-up. Een nieuwe sleutel kan niet tekenen voor vluchten die al zijn vastgelegd.',
  capture_not_running:
    'Voer `egress selftest --interface {interface}` uit om de oorzaak te vinden (interface uit, rechten van tcpdump).',
  broker_not_connected:
    'Controleer het adres en de inloggegevens van de broker (`egress selftest --broker URL`). Alarmen wachten zolang in de wachtrij.',
  capture_down: 'Let op: de gateway ziet geen verkeer tot tcpdump weer vastlegt.',
  capture_gap: 'Let op: geen alarm tijdens de onderbreking betekent niet dat er niets is verstuurd.',
  spool_dropping: 'Controleer de verbinding met de broker en de schijfruimte.',
  block_helper_silent: 'Start de blokkeerhulp: `systemctl restart egress-block`.',
  gpio_tool_missing: '{tool} ontbreekt. Installeer het: `apt install gpiod` (of gebruik `--gpio libgpiod`).',
  gpio_chip_missing:
    'GPIO-chip `{chip}` bestaat niet. Zoek de juiste met `gpiodetect` (oudere Pi 5-kernels: gpiochip4).',
  gpio_pin_invalid: 'Geef voor de pin {pin} een BCM-nummer op (0 tot en met 511).',
  gpio_pin_shared: '{first} en {second} gebruiken allebei lijn {line}: geef elk signaal een eigen lijn.',
  gpio_chip_name_invalid: '"{chip}" is geen chipnaam. Gebruik bijvoorbeeld `gpiochip0`.',
  gpio_libgpiod_missing:
    'Voer `apt install libgpiod-dev build-essential` uit en daarna `npm_config_nodedir=/usr pnpm install`, of gebruik `--gpio cli`.',
  gpio_chip_unopenable:
    'GPIO-chip `{chip}` gaat niet open. Controleer hem met `gpiodetect`; de gebruiker van de dienst moet in de groep gpio zitten.',
  gpio_lines_busy:
    'Een ander programma gebruikt een GPIO-lijn op `{chip}` (`gpioinfo` laat zien welk), of de pinnummers kloppen niet.',
  gpio_pins_syntax:
    '"{part}" is geen NAAM=LIJN. Bijvoorbeeld: `--gpio-pins green=17,amber=27,red=22,buzzer=23,button=24`.',
  gpio_driver_unknown: 'Kies een van deze GPIO-stuurprogramma’s: {drivers}.',
};

export const FIX_CATALOGUES: Record<Lang, Record<FixId, string>> = { en, nl };

/** A run of a fix sentence: plain text, or a command or path shown as code. */
export interface FixPart {
  text: string;
  code: boolean;
}

/** The `{name}` placeholders of a template. */
export function placeholders(template: string): string[] {
  return [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
}

/**
 * The fix `id` in language `l` (the page's by default), filled from `facts`,
 * as runs of text and code; null when the id is unknown here or a fact its
 * sentence needs is missing (then the page shows the agent's English line).
 */
export function fixParts(id: string, facts: Readonly<Record<string, string>>, l: Lang = lang()): FixPart[] | null {
  if (!Object.hasOwn(en, id)) return null;
  return fillParts(FIX_CATALOGUES[l][id as FixId], facts);
}

/** A template filled from `facts`, as runs of text and code; null when a fact it needs is missing. */
export function fillParts(template: string, facts: Readonly<Record<string, string>>): FixPart[] | null {
  if (placeholders(template).some((p) => !Object.hasOwn(facts, p))) return null;
  // Split at the backticks first, then fill: a fact holding a backtick stays inside its run.
  return template
    .split('`')
    .map((run, i) => ({ text: run.replace(/\{(\w+)\}/g, (_, p: string) => facts[p] as string), code: i % 2 === 1 }))
    .filter((p) => p.text !== '');
}

/** The same as one plain string (tests, titles). */
export function fixText(id: string, facts: Readonly<Record<string, string>>, l: Lang = lang()): string | null {
  return (
    fixParts(id, facts, l)
      ?.map((p) => p.text)
      .join('') ?? null
  );
}
