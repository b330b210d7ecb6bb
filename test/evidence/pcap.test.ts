// flagged.pcapng as evidence: the packets of every flagged flow, complete
// from the DNS query that named it on (the query and answer were still in the
// pre-trigger ring when the flow was flagged), and nothing of allowed flows.
// Reopened by our own reader (the flows it gives match the session's) and by
// tshark (a capture Wireshark opens, with a comment on each packet).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { CaptureReader } from '../../agent/src/capture/reader.js';
import type { FlowRecord } from '../../agent/src/output/flow-record.js';
import { ScanPipeline } from '../../agent/src/pipeline.js';
import { loadPolicy } from '../../agent/src/policy/load.js';
import { egress } from '../support/cli.js';
import { FLIGHT, recordFlight } from './flight.js';

// The demo policy, with its resolver allowed: DNS packets then reach the
// pcapng only because they named a flagged flow.
const POLICY = `extends: dji
allow:
  domains: [maps.example.nl]
  cidrs: [198.51.100.53/32]
geo_overrides:
  - { cidr: 203.0.113.53/32, country: CN, asn: 4134, as_org: "China Telecom (test)", as_country: CN }
  - { cidr: 198.51.100.40/32, country: DE, asn: 45102, as_org: "Alibaba (test)", as_country: CN }
  - { cidr: 192.0.2.0/24, country: NL, asn: 64500, as_org: "Test NL", as_country: NL }
  - { cidr: 198.51.100.0/24, country: NL, asn: 64501, as_org: "Test NL 2", as_country: NL }
  - { cidr: 203.0.113.0/24, country: US, asn: 64502, as_org: "Test US", as_country: US }
  - { cidr: 2001:db8::/32, country: US, asn: 64503, as_org: "Test US v6", as_country: US }
`;

interface CsvFlow {
  flow_id: string;
  src_ip: string;
  src_port: string;
  dest_ip: string;
  dest_port: string;
  proto: string;
  names: string;
  verdict: string;
  pkts_toserver: string;
  pkts_toclient: string;
  bytes_toserver: string;
}

let pcap: string;
let flows: CsvFlow[];
let policyFile: string;

function parseCsv(text: string): CsvFlow[] {
  const [head, ...rows] = text.trim().split('\r\n');
  const cols = head.split(',');
  // No cell in this capture holds a comma or quote.
  return rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [cols[i], v])) as unknown as CsvFlow);
}

interface Frame {
  time: string;
  src: string;
  dst: string;
  proto: 'TCP' | 'UDP' | '';
  sport: string;
  dport: string;
  syn: string;
  ack: string;
  qname: string;
  response: string;
  comment: string;
}

/** Every frame of flagged.pcapng as tshark dissects it (one run). */
function frames(): Frame[] {
  const fields = [
    'frame.time_epoch',
    'ip.src',
    'ipv6.src',
    'ip.dst',
    'ipv6.dst',
    'tcp.srcport',
    'tcp.dstport',
    'udp.srcport',
    'udp.dstport',
    'tcp.flags.syn',
    'tcp.flags.ack',
    'dns.qry.name',
    'dns.flags.response',
    'frame.comment',
  ];
  const out = execFileSync(
    'tshark',
    ['-r', pcap, '-T', 'fields', '-E', 'occurrence=f', ...fields.flatMap((f) => ['-e', f])],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const v = l.split('\t');
      return {
        time: v[0],
        src: v[1] || v[2],
        dst: v[3] || v[4],
        proto: v[5] ? 'TCP' : v[7] ? 'UDP' : '',
        sport: v[5] || v[7],
        dport: v[6] || v[8],
        syn: v[9],
        ack: v[10],
        qname: v[11],
        response: v[12],
        comment: v[13],
      };
    });
}

beforeAll(() => {
  policyFile = join(mkdtempSync(join(tmpdir(), 'egress-pcap-policy-')), 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  const { dataDir, id } = recordFlight('Flight, resolver allowed', FLIGHT, policyFile);
  const bundle = join(dataDir, 'b.zip');
  expect(egress(['export', id, '--out', bundle, '--data-dir', dataDir]).code).toBe(0);
  const files = unzipSync(readFileSync(bundle));
  pcap = join(dataDir, 'flagged.pcapng');
  writeFileSync(pcap, files['flagged.pcapng']);
  flows = parseCsv(Buffer.from(files['flows.csv']).toString());
});

describe('flagged.pcapng', () => {
  it('holds every flagged flow complete, named as in the session, when our reader reads it back', async () => {
    const flagged = flows.filter((f) => f.verdict !== 'allowed');
    expect(flagged.length).toBeGreaterThan(10);
    const again: FlowRecord[] = [];
    const p = new ScanPipeline({ flow: (r) => again.push(r) }, { policy: loadPolicy({ file: policyFile }) });
    const reader = new CaptureReader(p, p.anomalies);
    reader.push(readFileSync(pcap));
    expect(reader.end()).toBeNull();
    await p.finish();
    for (const f of flagged) {
      const g = again.find((r) => r.srcPort === Number(f.src_port) && r.destIp === f.dest_ip && r.proto === f.proto);
      expect(g, `flow ${f.flow_id} to ${f.dest_ip}`).toBeDefined();
      expect(
        [g?.pktsToServer, g?.pktsToClient, g?.bytesToServer, g?.names.join(' '), g?.verdict],
        `flow ${f.flow_id}`,
      ).toEqual([Number(f.pkts_toserver), Number(f.pkts_toclient), Number(f.bytes_toserver), f.names, f.verdict]);
    }
    // Nothing of an allowed flow (other than DNS packets that named a flagged one).
    for (const f of flows.filter((x) => x.verdict === 'allowed' && x.proto === 'TCP' && x.dest_port !== '53'))
      expect(again.find((r) => r.srcPort === Number(f.src_port) && r.destIp === f.dest_ip)).toBeUndefined();
  });

  it('opens in tshark: each flagged TCP flow starts with its SYN, after the DNS query for its name, with comments', () => {
    const tcp = flows.filter((f) => f.verdict !== 'allowed' && f.proto === 'TCP' && f.names !== '');
    expect(tcp.length).toBeGreaterThan(5);
    const all = frames();
    for (const f of tcp) {
      const mine = all.filter(
        (x) =>
          x.proto === 'TCP' &&
          ((x.sport === f.src_port && x.dst === f.dest_ip) || (x.dport === f.src_port && x.src === f.dest_ip)),
      );
      expect(mine.length, `flow ${f.flow_id}`).toBe(Number(f.pkts_toserver) + Number(f.pkts_toclient));
      expect([mine[0].syn, mine[0].ack], `flow ${f.flow_id} starts with a SYN`).toEqual(['1', '0']);
      expect(mine[0].comment).toMatch(new RegExp(`^flow ${f.flow_id} (high|medium) \\[`));
    }
  });

  it('holds the DNS query and answer of every flagged flow whose name was looked up, before its first packet', () => {
    const asked = new Set(
      execFileSync('tshark', ['-r', FLIGHT, '-Y', 'dns.flags.response == 0', '-T', 'fields', '-e', 'dns.qry.name'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      })
        .split('\n')
        .filter((n) => n !== ''),
    );
    const named = flows.filter(
      (f) => f.verdict !== 'allowed' && f.proto === 'TCP' && f.names.split(' ').some((n) => asked.has(n)),
    );
    expect(named.length).toBeGreaterThanOrEqual(4);
    const all = frames();
    for (const f of named) {
      const name = f.names.split(' ').find((n) => asked.has(n)) ?? '';
      const first = all.find((x) => x.proto === 'TCP' && x.sport === f.src_port && x.dst === f.dest_ip);
      const query = all.find((x) => x.qname === name && x.response === '0');
      const answer = all.find((x) => x.qname === name && x.response === '1');
      expect([query, answer, first], `DNS for ${name}`).not.toContain(undefined);
      expect(Number(query?.time)).toBeLessThan(Number(answer?.time));
      expect(Number(answer?.time)).toBeLessThan(Number(first?.time));
      // Its own flow's comment when the resolver is flagged too, else the flow it named.
      expect(query?.comment).toMatch(/^(dns naming flow \d+ \(|flow \d+ (high|medium) )/);
    }
  });
});
