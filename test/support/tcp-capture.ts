// Client-to-server TCP segments of a capture file, read with the product's
// own reader and decoder, for the names-stage tests: sequence number, SYN
// flag and a copy of the payload of every segment sent to `dstPort`.

import { readFileSync } from 'node:fs';
import { CaptureReader } from '../../agent/src/capture/reader.js';
import { Anomalies } from '../../agent/src/decode/anomaly.js';
import { decodePacket } from '../../agent/src/decode/decode.js';
import { DecodeResult, IpProto, Packet, TcpFlag } from '../../agent/src/decode/packet.js';

export interface Segment {
  seq: number;
  syn: boolean;
  payload: Buffer;
}

/** TCP segments to `dstPort` (the client's side), in capture order. */
export function clientSegments(file: string, dstPort = 443): Segment[] {
  const out: Segment[] = [];
  const p = new Packet();
  const anomalies = new Anomalies();
  const reader = new CaptureReader(
    {
      packet(buf, off, caplen, _origLen, _tsUs, linkType) {
        const r = decodePacket(buf, off, caplen, linkType, p, anomalies.counts);
        if (r !== DecodeResult.TRANSPORT || p.proto !== IpProto.TCP || p.dstPort !== dstPort) return;
        // The decoder keeps offsets, not the TCP header: find it after the IP header.
        const tcpOff = p.ipVersion === 4 ? p.ipOff + (buf[p.ipOff] & 0x0f) * 4 : p.ipOff + 40;
        out.push({
          seq: buf.readUInt32BE(tcpOff + 4),
          syn: (p.tcpFlags & TcpFlag.SYN) !== 0,
          payload: Buffer.from(buf.subarray(p.payloadOff, p.payloadOff + p.payloadLen)),
        });
      },
    },
    anomalies,
    file,
  );
  reader.push(readFileSync(file));
  const err = reader.end();
  if (err) throw err;
  return out;
}

/** UDP payloads to `dstPort`, in capture order. */
export function clientDatagrams(file: string, dstPort = 443): Buffer[] {
  const out: Buffer[] = [];
  const p = new Packet();
  const anomalies = new Anomalies();
  const reader = new CaptureReader(
    {
      packet(buf, off, caplen, _origLen, _tsUs, linkType) {
        const r = decodePacket(buf, off, caplen, linkType, p, anomalies.counts);
        if (r !== DecodeResult.TRANSPORT || p.proto !== IpProto.UDP || p.dstPort !== dstPort) return;
        out.push(Buffer.from(buf.subarray(p.payloadOff, p.payloadOff + p.payloadLen)));
      },
    },
    anomalies,
    file,
  );
  reader.push(readFileSync(file));
  const err = reader.end();
  if (err) throw err;
  return out;
}
