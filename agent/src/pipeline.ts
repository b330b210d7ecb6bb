// The scan pipeline: capture records → decode → flow table → finished flow
// records. One object implements the capture sink and the flow-end sink so
// the per-packet path is a handful of monomorphic calls with no allocation.

import type { PacketSink } from './capture/types.js';
import { Anomalies } from './decode/anomaly.js';
import { decodePacket } from './decode/decode.js';
import { DecodeResult, Packet } from './decode/packet.js';
import { type FlowEndSink, FlowTable, type FlowTableOptions } from './flow/table.js';
import { type FlowRecord, readFlowRecord } from './output/flow-record.js';

const FINISH_BATCH = 1024;

export interface FlowOutput {
  /** Called once per finished flow, in the order flows end. */
  flow(record: FlowRecord): void;
}

export interface PipelineOptions extends FlowTableOptions {}

export class ScanPipeline implements PacketSink, FlowEndSink {
  readonly anomalies = new Anomalies();
  readonly flows: FlowTable;
  packets = 0;
  bytes = 0;
  firstUs = -1;
  lastUs = -1;
  /** Packets by DecodeResult: transport, ip only, not IP, malformed. */
  readonly decoded = new Float64Array(4);
  flowsInternet = 0;
  flowsLocal = 0;
  private readonly view = new Packet();

  constructor(
    private readonly out: FlowOutput,
    options: PipelineOptions = {},
  ) {
    this.flows = new FlowTable(this, options);
  }

  packet(buf: Buffer, off: number, caplen: number, origLen: number, tsUs: number, linkType: number): void {
    this.packets++;
    this.bytes += origLen;
    if (this.firstUs < 0) this.firstUs = tsUs;
    if (tsUs > this.lastUs) this.lastUs = tsUs;
    const r = decodePacket(buf, off, caplen, linkType, this.view, this.anomalies.counts);
    this.decoded[r]++;
    if (r === DecodeResult.TRANSPORT) this.flows.update(this.view, buf, origLen, tsUs);
  }

  flowEnded(table: FlowTable, slot: number, reason: number): void {
    const record = readFlowRecord(table, slot, reason);
    if (record.internet) this.flowsInternet++;
    else this.flowsLocal++;
    this.out.flow(record);
  }

  /**
   * End of input: every open flow is finished and handed to the output, in
   * batches with `between` awaited after each, so a slow reader of the
   * output holds back the flush instead of memory growing.
   */
  async finish(between: () => Promise<void> = async () => {}): Promise<void> {
    const slots = this.flows.openFlowsInOrder();
    for (let i = 0; i < slots.length; i++) {
      this.flows.endAtEndOfInput(slots[i]);
      if (i % FINISH_BATCH === FINISH_BATCH - 1) await between();
    }
  }
}
