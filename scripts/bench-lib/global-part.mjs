// How much of a scan is the part every flow shard would need in a sharded design (BENCHMARKS.md,
// "Gateway-shaped capture"): read + pcap parse + decode + the global flow table (ids, ends,
// timeouts), nothing after. Prints the CPU time. Usage: node scripts/bench-lib/global-part.mjs FILE parse|decode|table
import '../../agent/dist/cli/heap.js';

const { CaptureReader, fileChunks, readCapture } = await import('../../agent/dist/capture/reader.js');
const { decodePacket } = await import('../../agent/dist/decode/decode.js');
const { Packet, DecodeResult } = await import('../../agent/dist/decode/packet.js');
const { Anomalies } = await import('../../agent/dist/decode/anomaly.js');
const { FlowTable } = await import('../../agent/dist/flow/table.js');
const mode = process.argv[3];
const anomalies = new Anomalies();
let ended = 0;
const table = new FlowTable(
  {
    flowEnded() {
      ended++;
    },
  },
  {},
);
const p = new Packet();
let n = 0;
const sink = {
  packet(buf, off, caplen, origLen, tsUs, linkType) {
    n++;
    if (mode === 'parse') return;
    const r = decodePacket(buf, off, caplen, linkType, p, anomalies.counts);
    if (mode === 'decode' || r !== DecodeResult.TRANSPORT) return;
    table.update(p, buf, origLen, tsUs);
  },
  captureGap() {},
};
const reader = new CaptureReader(sink, anomalies, 'x');
await readCapture(reader, fileChunks(process.argv[2], 1024 * 1024), async () => {});
const u = process.cpuUsage();
console.log(mode, n, 'packets', ended, 'ended', ((u.user + u.system) / 1e6).toFixed(2), 's cpu');
