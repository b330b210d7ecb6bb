// Every string a person reads, in one catalogue per language (English,
// Dutch). Reason texts are made here from the reason codes and the
// destination's fields, so both languages work from the same message.
// Country names come from the browser (Intl.DisplayNames), offline.

import type { Dest, Severity, StatusProblemMsg } from './proto.js';

const en = {
  title: 'Egress Sentinel',
  language: 'Language',
  theme: 'Theme',
  themeDay: 'Daylight',
  themeNight: 'Night',
  gateway: 'Gateway',
  stateReady: 'Ready',
  stateCapturing: 'Capturing',
  stateAlert: 'ALERT',
  stateOffline: 'Agent offline',
  stateDegraded: 'Needs attention',
  stateConnecting: 'Connecting…',
  alertsOpen: '{n} alert(s) on this page not acknowledged',
  latched: 'Red light and buzzer on at the gateway: {n} high alert(s) not acknowledged there',
  ackGateway: 'Acknowledge: lights off',
  preflight: 'Preflight',
  preflightPass: 'passed (green light on)',
  preflightWarn: 'warnings (green light blinks): {list}',
  preflightFail: 'FAILED (green light off): {list}',
  preflightNone: 'no gateway lights',
  preflightDetails: 'what to do',
  preflightDetailsEnglish: 'what to do',
  check_capture: 'capture',
  check_interface: 'network interface',
  check_tcpdump: 'tcpdump',
  check_broker: 'broker',
  check_clock: 'clock',
  check_geo: 'geo data',
  check_disk: 'disk space',
  check_evidence_key: 'evidence key',
  check_gpio: 'GPIO',
  check_spool: 'spool',
  check_block: 'block helper',
  agentAcknowledged: 'red light and buzzer off ({x} acknowledged)',
  broker: 'Broker',
  brokerconnecting: 'connecting…',
  brokerconnected: 'connected',
  brokerreconnecting: 'reconnecting…',
  brokeroffline: 'not connected',
  brokerunauthorised: 'not logged in',
  capture: 'Capture',
  packets: '{n} packets',
  lastPacket: 'last packet {age} ago',
  noPacketYet: 'no packet yet',
  dropsWarning: 'capture incomplete, {n} packets missed',
  noDrops: 'no packets missed',
  captureIncomplete: 'CAPTURE INCOMPLETE: no alert does not mean nothing happened',
  gapkernel_drop: 'packets dropped by the gateway: {n}, between {from} and {to}',
  gapinterface_drop: 'packets dropped by the network interface: {n}, between {from} and {to}',
  gapcapture_restart: 'capture restarted: blind between {from} and {to}',
  gapcapture_down: 'capture down between {from} and {to}',
  problemcapture_error: 'capture failed: {detail}',
  problemcapture_stalled: 'no packet for {n} s',
  problemcapture_incomplete: 'capture incomplete, see Capture',
  problemspool_full: '{n} messages dropped: the spool is full (broker away, disk full?)',
  problemtraffic_held:
    'the gateway holds the controller’s traffic: the block helper does not renew the watch ({detail})',
  dropsEarlier: '{n} packets missed since the agent started',
  clock: 'Clock',
  clockSynced: 'synchronised',
  clockNotSynced: 'NOT synchronised',
  clockUnknown: 'unknown',
  geoDb: 'Geo database',
  flight: 'Flight',
  noFlight: 'no flight open',
  flightOpen: '{name} — {duration}',
  alerts: 'Alerts',
  noAlerts: 'No alerts. Nothing has left for where it should not.',
  noAlertsIncomplete: 'No alerts so far, but the capture missed packets: something may have left unseen.',
  noAlertsLatched:
    'No alerts on this page since it opened, but the gateway still holds high alerts from before ({n}): see ALERT above.',
  alertsMore: '{n} older destinations not shown (acknowledge or filter the table below).',
  acknowledge: 'Acknowledge',
  acknowledged: 'Acknowledged',
  acknowledgeAll: 'Acknowledge all',
  repeats: '× {n}',
  repeatsTitle: '{n} alerts for this destination',
  firstSeen: 'first seen',
  lastSeen: 'last seen',
  unknownName: 'no name seen (address only)',
  lookupLabel: 'Lookup',
  lookupWhere: '{client} asked the resolver {resolver} for this denied name (whether or not a connection followed)',
  namesHidden: 'names may be hidden by: {list}',
  network: 'Network',
  unknownNetwork: 'unknown network',
  allowThis: 'Allow this destination',
  allowDenied: 'Deny rules beat allow: this destination stays flagged',
  sevhigh: 'HIGH',
  sevmedium: 'MEDIUM',
  sevallowed: 'allowed',
  sevunknown: 'unknown',
  reason_deny_country: 'The destination is in {country}, a denied country.',
  reason_deny_as_country: 'Its network is registered in {asCountry}, a denied country.',
  reason_deny_asn: 'Its network {asn} ({asOrg}) is denied.',
  reason_deny_domain: 'One of its names is on the deny list.',
  reason_not_allowlisted: 'Not on the allowlist.',
  reason_other: 'Reason: {code}',
  connections: 'All connections',
  filterVerdict: 'Verdict',
  filterCountry: 'Country',
  filterSearch: 'Search name or address',
  all: 'All',
  rowsShown: '{shown} of {total} connections',
  rowsDropped: '({n} oldest dropped: the page keeps at most {max})',
  colVerdict: 'Verdict',
  colDestination: 'Destination',
  colCountry: 'Country',
  colNetwork: 'Network',
  colPort: 'Port',
  colOut: 'Sent',
  colIn: 'Received',
  colFirst: 'First seen',
  colLast: 'Last seen',
  sortAsc: 'sorted ascending',
  sortDesc: 'sorted descending',
  map: 'Where the data goes',
  mapGateway: 'Gateway',
  mapLegend: 'Lines: red = high, amber = medium, grey = allowed',
  mapCountries: 'Destination countries: {list}',
  timeline: 'First contact per destination',
  timelineEmpty: 'No destination contacted yet.',
  controls: 'Controls',
  policy: 'Policy',
  allowOverlay: 'Allowed from this dashboard',
  allowOverlayEmpty: 'nothing',
  flightName: 'Flight name',
  startFlight: 'Start flight',
  endFlight: 'End flight',
  exportEvidence: 'Export evidence',
  exportMissing: 'The gateway has no evidence for this flight (404).',
  exportOpen: 'This flight is still open: end it before exporting.',
  exportFailed: 'Export failed: HTTP {status}',
  sessions: 'Flights',
  replyOk: 'Agent: {message}',
  replyRefused: 'Refused by the agent: {message}',
  agentFlightStarted: 'flight {x} started',
  agentFlightEnded: 'flight {x} ended',
  agentAllowed: '{x} added to the allow overlay',
  agentAllowedAlready: '{x} is already in the allow overlay',
  attribution: 'Network data: IP Geolocation by DB-IP',
  utc: 'UTC',
  reducedMotion: 'Animations off',
  skipToAlerts: 'Skip to alerts',
} as const;

export type MessageKey = keyof typeof en;

const nl: Record<MessageKey, string> = {
  title: 'Egress Sentinel',
  language: 'Taal',
  theme: 'Thema',
  themeDay: 'Daglicht',
  themeNight: 'Nacht',
  gateway: 'Gateway',
  stateReady: 'Gereed',
  stateCapturing: 'Bezig met vastleggen',
  stateAlert: 'ALARM',
  stateOffline: 'Agent offline',
  stateDegraded: 'Aandacht nodig',
  stateConnecting: 'Verbinden…',
  alertsOpen: '{n} alarm(en) op deze pagina niet bevestigd',
  latched: 'Rood licht en zoemer aan op de gateway: {n} hoge alarm(en) daar niet bevestigd',
  ackGateway: 'Bevestigen: licht uit',
  preflight: 'Voorcontrole',
  preflightPass: 'geslaagd (groen licht aan)',
  preflightWarn: 'waarschuwingen (groen licht knippert): {list}',
  preflightFail: 'MISLUKT (groen licht uit): {list}',
  preflightNone: 'geen lampjes op de gateway',
  preflightDetails: 'wat te doen',
  preflightDetailsEnglish: 'wat te doen (de tekst van de gateway, in het Engels)',
  check_capture: 'vastleggen',
  check_interface: 'netwerkinterface',
  check_tcpdump: 'tcpdump',
  check_broker: 'broker',
  check_clock: 'klok',
  check_geo: 'geodata',
  check_disk: 'schijfruimte',
  check_evidence_key: 'bewijssleutel',
  check_gpio: 'GPIO',
  check_spool: 'wachtrij',
  check_block: 'blokkeerhulp',
  agentAcknowledged: 'rood licht en zoemer uit ({x} bevestigd)',
  broker: 'Broker',
  brokerconnecting: 'verbinden…',
  brokerconnected: 'verbonden',
  brokerreconnecting: 'opnieuw verbinden…',
  brokeroffline: 'niet verbonden',
  brokerunauthorised: 'niet ingelogd',
  capture: 'Vastleggen',
  packets: '{n} pakketten',
  lastPacket: 'laatste pakket {age} geleden',
  noPacketYet: 'nog geen pakket',
  dropsWarning: 'vastlegging onvolledig, {n} pakketten gemist',
  noDrops: 'geen pakketten gemist',
  captureIncomplete: 'VASTLEGGING ONVOLLEDIG: geen alarm betekent niet dat er niets gebeurde',
  gapkernel_drop: 'pakketten verloren in de gateway: {n}, tussen {from} en {to}',
  gapinterface_drop: 'pakketten verloren door de netwerkinterface: {n}, tussen {from} en {to}',
  gapcapture_restart: 'vastlegging herstart: blind tussen {from} en {to}',
  gapcapture_down: 'vastlegging uit tussen {from} en {to}',
  problemcapture_error: 'vastleggen mislukt: {detail}',
  problemcapture_stalled: 'al {n} s geen pakket',
  problemcapture_incomplete: 'vastlegging onvolledig, zie Vastleggen',
  problemspool_full: '{n} berichten weggegooid: de wachtrij is vol (broker weg, schijf vol?)',
  problemtraffic_held:
    'de gateway houdt het verkeer van de controller tegen: de blokkeerhulp verlengt de bewaking niet ({detail})',
  dropsEarlier: '{n} pakketten gemist sinds de start van de agent',
  clock: 'Klok',
  clockSynced: 'gesynchroniseerd',
  clockNotSynced: 'NIET gesynchroniseerd',
  clockUnknown: 'onbekend',
  geoDb: 'Geodatabase',
  flight: 'Vlucht',
  noFlight: 'geen vlucht open',
  flightOpen: '{name} — {duration}',
  alerts: 'Alarmen',
  noAlerts: 'Geen alarmen. Er is niets vertrokken naar waar het niet hoort.',
  noAlertsIncomplete: 'Nog geen alarmen, maar de vastlegging miste pakketten: er kan ongezien iets vertrokken zijn.',
  noAlertsLatched:
    'Geen alarmen op deze pagina sinds hij openging, maar de gateway meldt nog hoge alarmen van daarvoor ({n}): zie ALARM hierboven.',
  alertsMore: '{n} oudere bestemmingen niet getoond (bevestig, of filter de tabel hieronder).',
  acknowledge: 'Bevestigen',
  acknowledged: 'Bevestigd',
  acknowledgeAll: 'Alles bevestigen',
  repeats: '× {n}',
  repeatsTitle: '{n} alarmen voor deze bestemming',
  firstSeen: 'eerst gezien',
  lastSeen: 'laatst gezien',
  unknownName: 'geen naam gezien (alleen adres)',
  lookupLabel: 'Opzoeking',
  lookupWhere:
    '{client} vroeg de resolver {resolver} naar deze geweigerde naam (of er nu een verbinding volgde of niet)',
  namesHidden: 'namen mogelijk verborgen door: {list}',
  network: 'Netwerk',
  unknownNetwork: 'onbekend netwerk',
  allowThis: 'Deze bestemming toestaan',
  allowDenied: 'Weigerregels gaan voor: deze bestemming blijft gemarkeerd',
  sevhigh: 'HOOG',
  sevmedium: 'MIDDEL',
  sevallowed: 'toegestaan',
  sevunknown: 'onbekend',
  reason_deny_country: 'De bestemming ligt in {country}, een geweigerd land.',
  reason_deny_as_country: 'Het netwerk is geregistreerd in {asCountry}, een geweigerd land.',
  reason_deny_asn: 'Het netwerk {asn} ({asOrg}) is geweigerd.',
  reason_deny_domain: 'Een van de namen staat op de weigerlijst.',
  reason_not_allowlisted: 'Staat niet op de toegestane lijst.',
  reason_other: 'Reden: {code}',
  connections: 'Alle verbindingen',
  filterVerdict: 'Oordeel',
  filterCountry: 'Land',
  filterSearch: 'Zoek naam of adres',
  all: 'Alle',
  rowsShown: '{shown} van {total} verbindingen',
  rowsDropped: '({n} oudste weggelaten: de pagina houdt er hoogstens {max})',
  colVerdict: 'Oordeel',
  colDestination: 'Bestemming',
  colCountry: 'Land',
  colNetwork: 'Netwerk',
  colPort: 'Poort',
  colOut: 'Verzonden',
  colIn: 'Ontvangen',
  colFirst: 'Eerst gezien',
  colLast: 'Laatst gezien',
  sortAsc: 'oplopend gesorteerd',
  sortDesc: 'aflopend gesorteerd',
  map: 'Waar de gegevens heen gaan',
  mapGateway: 'Gateway',
  mapLegend: 'Lijnen: rood = hoog, oranje = middel, grijs = toegestaan',
  mapCountries: 'Landen van bestemming: {list}',
  timeline: 'Eerste contact per bestemming',
  timelineEmpty: 'Nog geen bestemming gecontacteerd.',
  controls: 'Bediening',
  policy: 'Beleid',
  allowOverlay: 'Toegestaan via dit dashboard',
  allowOverlayEmpty: 'niets',
  flightName: 'Naam van de vlucht',
  startFlight: 'Vlucht starten',
  endFlight: 'Vlucht beëindigen',
  exportEvidence: 'Bewijs exporteren',
  exportMissing: 'De gateway heeft geen bewijs van deze vlucht (404).',
  exportOpen: 'Deze vlucht loopt nog: beëindig hem voordat u exporteert.',
  exportFailed: 'Exporteren mislukt: HTTP {status}',
  sessions: 'Vluchten',
  replyOk: 'Agent: {message}',
  replyRefused: 'Geweigerd door de agent: {message}',
  agentFlightStarted: 'vlucht {x} gestart',
  agentFlightEnded: 'vlucht {x} beëindigd',
  agentAllowed: '{x} toegevoegd aan de lijst toegestaan via dit dashboard',
  agentAllowedAlready: '{x} staat al op de lijst toegestaan via dit dashboard',
  attribution: 'Netwerkgegevens: IP Geolocation by DB-IP',
  utc: 'UTC',
  reducedMotion: 'Animaties uit',
  skipToAlerts: 'Naar de alarmen',
};

export type Lang = 'en' | 'nl';
export const CATALOGUES: Record<Lang, Record<MessageKey, string>> = { en, nl };

let current: Lang = 'en';

export function setLang(l: Lang): void {
  current = l;
  document.documentElement.lang = l;
}

export function lang(): Lang {
  return current;
}

export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  return CATALOGUES[current][key].replace(/\{(\w+)\}/g, (m, p: string) => (p in params ? String(params[p]) : m));
}

const regionNames: Partial<Record<Lang, Intl.DisplayNames>> = {};

/** "China" / "China" for "CN"; the code itself when the browser does not know it. */
export function countryName(code: string | null): string {
  if (code === null) return '?';
  regionNames[current] ??= new Intl.DisplayNames([current], { type: 'region' });
  try {
    return regionNames[current]?.of(code) ?? code;
  } catch {
    return code;
  }
}

/** The flag emoji of a country code (regional indicator symbols); always shown beside the code. */
export function flag(code: string | null): string {
  if (code === null || !/^[A-Z]{2}$/.test(code)) return '';
  return String.fromCodePoint(...[...code].map((c) => 0x1f1e6 + c.charCodeAt(0) - 65));
}

export function severityLabel(s: Severity): string {
  return t(`sev${s}` as MessageKey);
}

/** The plain-language reasons of an alert or flow, in the page's language. */
export function reasonText(code: string, d: Dest): string {
  const params = {
    country: `${countryName(d.country)} (${d.country ?? '?'})`,
    asCountry: `${countryName(d.asCountry)} (${d.asCountry ?? '?'})`,
    asn: d.asn === null ? '?' : `AS${d.asn}`,
    asOrg: d.asOrg ?? '?',
    name: d.names[0] ?? '?',
    code,
  };
  const key = `reason_${code}` as MessageKey;
  return key in en ? t(key, params) : t('reason_other', params);
}

const PROBLEMS = new Set(['capture_error', 'capture_stalled', 'capture_incomplete', 'spool_full', 'traffic_held']);

/**
 * Why the agent needs attention, in the page's language, from the status's
 * problem ids and facts; the agent's English `text` for an id this page does
 * not know (a newer agent) or when the agent sent no ids (an older one).
 */
export function problemLines(problems: readonly StatusProblemMsg[], text: string): string[] {
  if (problems.length === 0) return text && text !== 'ready' ? [text] : [];
  const known = problems.every((p) => PROBLEMS.has(p.id));
  if (!known) return [text];
  return problems.map((p) => t(`problem${p.id}` as MessageKey, { n: number(p.count), detail: p.detail }));
}

/** A preflight check's name, from the stable id the agent sends (`clock`, `evidence_key`…); an unknown id as sent. */
export function checkName(id: string): string {
  const key = `check_${id}` as MessageKey;
  return key in en ? t(key) : id;
}

const AGENT_REPLIES: [RegExp, MessageKey][] = [
  [/^flight (\S+) started$/, 'agentFlightStarted'],
  [/^flight (\S+) ended$/, 'agentFlightEnded'],
  [/^(\S+) added to the allow overlay$/, 'agentAllowed'],
  [/^(\S+) is already in the allow overlay$/, 'agentAllowedAlready'],
  [/^acknowledged (\d+) high-severity alert/, 'agentAcknowledged'],
];

/** The agent answers in English; the replies the page knows are said in the page's language. */
export function agentReply(message: string): string {
  for (const [re, key] of AGENT_REPLIES) {
    const m = re.exec(message);
    if (m) return t(key, { x: m[1] });
  }
  return message;
}

/** Local time, "14:03:12"; the UTC time goes in a title (hover). */
export function localTime(us: number): string {
  return new Date(us / 1000).toLocaleTimeString(current === 'nl' ? 'nl-NL' : 'en-GB');
}

export function utcTime(us: number): string {
  return `${new Date(us / 1000).toISOString().replace('T', ' ').slice(0, 19)} ${t('utc')}`;
}

export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0
    ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`
    : `${m}:${String(sec).padStart(2, '0')}`;
}

export function bytes(n: number): string {
  const f = new Intl.NumberFormat(current === 'nl' ? 'nl-NL' : 'en-GB', { maximumFractionDigits: 1 });
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${f.format(n / 1024)} KiB`;
  return `${f.format(n / 1024 / 1024)} MiB`;
}

export function number(n: number): string {
  return new Intl.NumberFormat(current === 'nl' ? 'nl-NL' : 'en-GB').format(n);
}
