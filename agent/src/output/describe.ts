// Plain-language text for a verdict, for the table view and alerts:
// "Connects to flysafe-api.dji.com at 203.0.113.10: Alibaba (AS37963,
// registered in CN), located in CN. Denied domain dji.com."

import type { Judgement } from '../policy/verdict.js';
import type { EventFlow } from './ndjson.js';
import { type TunnelInfo, tunnelText } from './tunnel.js';

const ENCRYPTED_DNS_TEXT = {
  dot: 'DNS over TLS',
  doq: 'DNS over QUIC',
  doh: 'DNS over HTTPS to a public resolver',
} as const;

/** What the text reads of a flow: a FlowApp has it, and so has the scan's event thread (output/event-consumer.ts). */
export type DescribedFlow = Pick<
  EventFlow,
  'destIp' | 'country' | 'asn' | 'asOrg' | 'asCountry' | 'ech' | 'encryptedDns'
> & {
  readonly sni: string | null;
  readonly httpHost: string | null;
};

export function describeJudgement(
  app: DescribedFlow,
  names: readonly string[],
  j: Pick<Judgement, 'reasons' | 'matched'>,
  tunnel: TunnelInfo | null = null,
): string {
  const g = app;
  // The name the client itself asked for (SNI, Host) says most; else the name a deny rule matched; else the first.
  const rule = j.matched.deny_domain?.replace(/^\*\./, '');
  const main =
    app.sni ??
    app.httpHost ??
    names.find((n) => rule !== undefined && (n === rule || n.endsWith(`.${rule}`))) ??
    names[0];
  const who =
    main !== undefined
      ? `${main}${names.length > 1 ? ` (+${names.length - 1} names)` : ''} at ${app.destIp}`
      : app.destIp;
  const net =
    g.asn !== null
      ? `${g.asOrg ?? 'an unnamed network'} (AS${g.asn}${g.asCountry ? `, registered in ${g.asCountry}` : ''})`
      : 'an unknown network';
  const where = g.country ? `, located in ${g.country}` : '';
  const why: string[] = [];
  if (j.matched.deny_domain) why.push(`denied domain ${j.matched.deny_domain}`);
  if (j.matched.deny_country) why.push(`denied country ${j.matched.deny_country}`);
  if (j.matched.deny_as_country) why.push(`network registered in denied country ${j.matched.deny_as_country}`);
  if (j.matched.deny_asn) why.push(`denied network ${j.matched.deny_asn}`);
  if (j.reasons.includes('not_allowlisted')) why.push('not on the allow list');
  // Chromium offers a decoy (GREASE) ECH extension on every connection, so this is "may", never "is".
  if (app.ech) why.push('it offers Encrypted ClientHello, so the real name may be hidden');
  if (app.encryptedDns !== null)
    why.push(`it speaks ${ENCRYPTED_DNS_TEXT[app.encryptedDns]}, so the names it looks up are hidden`);
  const reason = why.length > 0 ? ` ${why[0][0].toUpperCase()}${why.join('; ').slice(1)}.` : '';
  return `Connects to ${who}: ${net}${where}.${reason}${tunnel === null ? '' : tunnelText(tunnel)}`;
}
