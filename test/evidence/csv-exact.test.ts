// flows.csv of an evidence bundle (agent/src/evidence/export.ts, flowsCsv):
// RFC 4180 quoting and CRLF lines, and no cell a spreadsheet would run as a
// formula (OWASP "CSV injection": a leading = + - @ tab or CR gets an apostrophe).

import { describe, expect, it } from 'vitest';
import { flowsCsv } from '../../agent/src/evidence/export.js';
import type { SessionModel } from '../../agent/src/evidence/model.js';

const HEADER =
  'flow_id,start,end,src_ip,src_port,dest_ip,dest_port,proto,app_proto,names,country,asn,as_org,as_country,' +
  'verdict,reasons,pkts_toserver,pkts_toclient,bytes_toserver,bytes_toclient';

function csvOf(asOrg: unknown, extra: Record<string, unknown> = {}): string {
  const flow = {
    flow_id: 7,
    start: '2026-05-01T10:00:00.000000Z',
    end: null,
    src_ip: '10.0.0.2',
    src_port: 50000,
    dest_ip: '203.0.113.9',
    dest_port: 443,
    proto: 'TCP',
    app_proto: 'tls',
    dest: { names: ['a.example', 'b.example'], country: 'CN', asn: 64500, as_org: asOrg, as_country: 'CN' },
    verdict: 'flagged',
    reasons: ['country', 'asn'],
    pkts_toserver: 1,
    pkts_toclient: 2,
    bytes_toserver: 3,
    bytes_toclient: 4,
    ...extra,
  };
  return flowsCsv({ flows: [flow] } as unknown as SessionModel);
}

const row = (org: string) =>
  `7,2026-05-01T10:00:00.000000Z,,10.0.0.2,50000,203.0.113.9,443,TCP,tls,a.example b.example,CN,64500,${org},CN,flagged,country asn,1,2,3,4`;

describe('flows.csv', () => {
  it('has the header and one CRLF line per flow; an empty session has the header only', () => {
    expect(csvOf('Example Org')).toBe(`${HEADER}\r\n${row('Example Org')}\r\n`);
    expect(flowsCsv({ flows: [] } as unknown as SessionModel)).toBe(`${HEADER}\r\n`);
  });

  it.each([
    ['plain', 'plain'],
    [null, ''],
    [undefined, ''],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\rinside', '"cr\rinside"'],
    ["it's", `"it's"`],
    ['=HYPERLINK("x")', `"'=HYPERLINK(""x"")"`],
    ['+1', `"'+1"`],
    ['-1', `"'-1"`],
    ['@SUM(A1)', `"'@SUM(A1)"`],
    ['\tTab', `"'\tTab"`],
    ['\rCR', `"'\rCR"`],
    ['a=b', 'a=b'],
  ])('cell %j is written %j', (value, written) => {
    expect(csvOf(value)).toBe(`${HEADER}\r\n${row(written)}\r\n`);
  });
});
