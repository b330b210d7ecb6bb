// Client-to-server segments and datagrams of a capture file, read with the
// product's own reader and decoder, for the names-stage tests: sequence
// number, SYN flag and a copy of the payload of every packet sent to `dstPort`.

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

/** Every decoded transport packet of `file` with protocol `proto` to `dstPort`, in capture order. */
function eachPacketTo(file: string, proto: number, dstPort: number, visit: (p: Packet, buf: Buffer) => void): void {
  const p = new Packet();
  const anomalies = new Anomalies();
  const reader = new CaptureReader(
    {
      packet(buf, off, caplen, _origLen, _tsUs, linkType) {
        const r = decodePacket(buf, off, caplen, linkType, p, anomalies.counts);
        if (r === DecodeResult.TRANSPORT && p.proto === proto && p.dstPort === dstPort) visit(p, buf);
      },
    },
    anomalies,
    file,
  );
  reader.push(readFileSync(file));
  const err = reader.end();
  if (err) throw err;
}

const payloadOf = (p: Packet, buf: Buffer) => Buffer.from(buf.subarray(p.payloadOff, p.payloadOff + p.payloadLen));

/** TCP segments to `dstPort` (the client's side), in capture order. */
export function clientSegments(file: string, dstPort = 443): Segment[] {
  const out: Segment[] = [];
  eachPacketTo(file, IpProto.TCP, dstPort, (p, buf) =>
    out.push({ seq: p.tcpSeq, syn: (p.tcpFlags & TcpFlag.SYN) !== 0, payload: payloadOf(p, buf) }),
  );
  return out;
}

/** UDP payloads to `dstPort`, in capture order. */
export function clientDatagrams(file: string, dstPort = 443): Buffer[] {
  const out: Buffer[] = [];
  eachPacketTo(file, IpProto.UDP, dstPort, (p, buf) => out.push(payloadOf(p, buf)));
  return out;
}
