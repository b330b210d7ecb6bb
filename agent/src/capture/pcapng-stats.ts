// pcapng Interface Statistics Block, draft-ietf-opsawg-pcapng §4.6: the
// capture's own count of what it missed. isb_ifdrop (packets the interface
// dropped) and isb_osdrop (packets the OS dropped) are totals since the
// capture began; isb_starttime/isb_endtime bound the period. The drops since
// the previous block for that interface become one `capture_gap` with cause
// `file_drop_count` (DESIGN.md): a file that says it is incomplete must not
// read as "nothing left".

import { type Anomalies, Anomaly } from '../decode/anomaly.js';
import type { CaptureGap } from './types.js';

const ISB_MIN_LEN = 24;
const TWO_POW_32 = 4_294_967_296;
export const IsbOption = { END: 0, STARTTIME: 2, ENDTIME: 3, IFDROP: 5, OSDROP: 7 } as const;

export interface Statistics {
  interfaceId: number;
  /** Timestamps as (high, low) words in the interface's units; -1 high when absent. */
  tsHi: number;
  tsLo: number;
  startHi: number;
  startLo: number;
  endHi: number;
  endLo: number;
  /** ifdrop + osdrop, or -1 when the block carries neither. */
  drops: number;
}

export function readStatistics(
  buf: Buffer,
  off: number,
  len: number,
  littleEndian: boolean,
  anomalies: Anomalies,
): Statistics | null {
  if (len < ISB_MIN_LEN) {
    anomalies.counts[Anomaly.PCAPNG_CAPLEN_OVER_BLOCK]++;
    return null;
  }
  const u32 = (o: number) => (littleEndian ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u16 = (o: number) => (littleEndian ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u64 = (o: number) => (littleEndian ? u32(o + 4) * TWO_POW_32 + u32(o) : u32(o) * TWO_POW_32 + u32(o + 4));
  const s: Statistics = {
    interfaceId: u32(off + 8),
    tsHi: u32(off + 12),
    tsLo: u32(off + 16),
    startHi: -1,
    startLo: 0,
    endHi: -1,
    endLo: 0,
    drops: -1,
  };
  let o = off + 20;
  const optEnd = off + len - 4;
  while (o + 4 <= optEnd) {
    const code = u16(o);
    const olen = u16(o + 2);
    if (code === IsbOption.END) break;
    if (o + 4 + olen > optEnd) {
      anomalies.counts[Anomaly.PCAPNG_BAD_OPTION]++;
      break;
    }
    if (olen === 8) {
      // Timestamps are two 32-bit words, high first, each in the section's byte order.
      if (code === IsbOption.STARTTIME) {
        s.startHi = u32(o + 4);
        s.startLo = u32(o + 8);
      } else if (code === IsbOption.ENDTIME) {
        s.endHi = u32(o + 4);
        s.endLo = u32(o + 8);
      } else if (code === IsbOption.IFDROP || code === IsbOption.OSDROP) {
        s.drops = Math.max(s.drops, 0) + u64(o + 4);
      }
    }
    o += 4 + ((olen + 3) & ~3);
  }
  return s;
}

interface DropState {
  dropsReported: number;
  statsUs: number;
}

/** The gap since the interface's previous statistics block, or null when nothing more was dropped. */
export function dropsSince(
  iface: DropState,
  s: Statistics,
  micros: (hi: number, lo: number) => number,
): CaptureGap | null {
  const endUs = s.endHi >= 0 ? micros(s.endHi, s.endLo) : micros(s.tsHi, s.tsLo);
  const fromUs = iface.statsUs >= 0 ? iface.statsUs : s.startHi >= 0 ? micros(s.startHi, s.startLo) : endUs;
  if (s.drops < 0 || s.drops <= iface.dropsReported) {
    if (s.drops >= 0) iface.dropsReported = s.drops;
    iface.statsUs = endUs;
    return null;
  }
  const dropped = s.drops - iface.dropsReported;
  iface.dropsReported = s.drops;
  iface.statsUs = endUs;
  return { startUs: fromUs, endUs, cause: 'file_drop_count', packetsDropped: dropped };
}
