// Rewrites the agent's MQTT packets on their way to the page (a Playwright
// routed WebSocket), to show the page what another agent version would send:
// the stream is cut into whole MQTT 3.1.1 packets (the agent's broker writes
// a packet in several WebSocket messages), a PUBLISH on a topic the caller
// picks gets a new payload, every packet goes on as one message. Written
// here because the MQTT packet library is not a dependency of the tests and
// the framing is a few lines (MQTT 3.1.1 §2.2: fixed header, remaining length
// in 7-bit groups; §3.3: PUBLISH topic, packet id when QoS > 0, payload).

/** Cuts a byte stream into MQTT packets and hands on each, PUBLISH payloads rewritten by `rewrite`. */
export class MqttRewriter {
  private pending = Buffer.alloc(0);

  constructor(
    private readonly send: (packet: Buffer) => void,
    private readonly rewrite: (topic: string, payload: Buffer) => Buffer,
  ) {}

  push(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    for (;;) {
      const length = remainingLength(this.pending);
      if (length === null) return;
      const total = length.headerBytes + length.value;
      if (this.pending.length < total) return;
      const packet = this.pending.subarray(0, total);
      this.pending = this.pending.subarray(total);
      this.send(this.publish(packet, length.headerBytes));
    }
  }

  private publish(packet: Buffer, headerBytes: number): Buffer {
    const first = packet[0] as number;
    if (first >> 4 !== 3) return Buffer.from(packet);
    const qos = (first >> 1) & 3;
    const topicLength = packet.readUInt16BE(headerBytes);
    const topicEnd = headerBytes + 2 + topicLength;
    const topic = packet.subarray(headerBytes + 2, topicEnd).toString('utf8');
    const payloadStart = topicEnd + (qos > 0 ? 2 : 0);
    const payload = this.rewrite(topic, packet.subarray(payloadStart));
    const variable = packet.subarray(headerBytes, payloadStart);
    return Buffer.concat([Buffer.from([first]), encodeLength(variable.length + payload.length), variable, payload]);
  }
}

function remainingLength(buf: Buffer): { value: number; headerBytes: number } | null {
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    if (buf.length <= i) return null;
    const byte = buf[i] as number;
    value += (byte & 0x7f) * 128 ** (i - 1);
    if ((byte & 0x80) === 0) return { value, headerBytes: i + 1 };
  }
  throw new Error('MQTT remaining length longer than 4 bytes');
}

function encodeLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}
