// `egress scan --progress`: what the line says and when it is redrawn, on an
// injected clock (test/cli/scan.test.ts checks it end to end).

import { describe, expect, it } from 'vitest';
import { Progress } from '../../agent/src/cli/progress.js';

function recorder() {
  const writes: string[] = [];
  return { writes, stream: { write: (s: string) => writes.push(s) > 0 } };
}

describe('scan progress', () => {
  it('is on when asked, off when refused, else only on a terminal', () => {
    expect(Progress.enabledFor({ isTTY: false }, true)).toBe(true);
    expect(Progress.enabledFor({ isTTY: true }, false)).toBe(false);
    expect(Progress.enabledFor({ isTTY: true }, undefined)).toBe(true);
    expect(Progress.enabledFor({ isTTY: false }, undefined)).toBe(false);
    expect(Progress.enabledFor({} as { isTTY: boolean }, undefined)).toBe(false);
  });

  it('says the share of the file, the packets and the rate, and clears its line at the end', () => {
    let t = 1_000_000;
    const r = recorder();
    const p = new Progress(r.stream, 'f.pcap', 4_000, () => t);
    t += 200;
    p.update(1_000, 1_234_567);
    // 1,234,567 packets in 0.2 s: 6.17 M packets/s; 1,000 of 4,000 bytes: 25 %.
    expect(r.writes).toEqual(['\rscanning f.pcap  25% 1,234,567 packets, 6.17 M packets/s\x1b[K']);
    p.done();
    expect(r.writes.at(-1)).toBe('\r\x1b[K');
    expect(r.writes).toHaveLength(2);
  });

  it('without a known size (standard input) leaves the share out', () => {
    let t = 0;
    const r = recorder();
    const p = new Progress(r.stream, 'stdin', null, () => t);
    t = 2_000;
    p.update(10, 3_000_000);
    expect(r.writes).toEqual(['\rscanning stdin 3,000,000 packets, 1.50 M packets/s\x1b[K']);
  });

  it('redraws at most every 200 ms, counted from the last line drawn', () => {
    let t = 10_000;
    const r = recorder();
    const p = new Progress(r.stream, 'f', 100, () => t);
    t = 10_200;
    p.update(1, 1); // the first update draws
    expect(r.writes).toHaveLength(1);
    t = 10_399;
    p.update(2, 2);
    expect(r.writes).toHaveLength(1);
    t = 10_400;
    p.update(3, 3);
    expect(r.writes).toHaveLength(2);
    expect(r.writes[1]).toContain('  3% 3 packets');
  });

  it('an immediate update (no time passed) still gives a finite rate', () => {
    const t = 5_000;
    const r = recorder();
    const p = new Progress(r.stream, 'f', null, () => t);
    p.update(0, 2_000);
    // At least 1 ms: 2,000 packets in 0.001 s.
    expect(r.writes).toEqual(['\rscanning f 2,000 packets, 2.00 M packets/s\x1b[K']);
  });

  it('clears nothing when it never drew', () => {
    const r = recorder();
    const p = new Progress(r.stream, 'f', null, () => 0);
    p.update(0, 1); // 0 - 0 < 200: not drawn
    p.done();
    expect(r.writes).toEqual([]);
  });
});
