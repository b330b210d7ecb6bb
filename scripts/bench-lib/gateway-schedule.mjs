// Packets of overlapping flows, written to a classic pcap (microsecond,
// Ethernet) in time order: flows are added in order of their start, each
// packet waits in a min-heap by timestamp until no later-starting flow can
// come before it.

import { closeSync, openSync, writeSync } from 'node:fs';

const OUT_CHUNK = 4 << 20;

export class Schedule {
  constructor(file, limit) {
    this.fd = openSync(file, 'w');
    this.limit = limit;
    this.written = 0;
    this.lastTs = 0;
    this.ts = [];
    this.pkts = [];
    this.seq = [];
    this.n = 0;
    this.buf = Buffer.alloc(OUT_CHUNK);
    this.at = 0;
    const head = Buffer.alloc(24);
    head.writeUInt32LE(0xa1b2c3d4, 0);
    head.writeUInt16LE(2, 4);
    head.writeUInt16LE(4, 6);
    head.writeUInt32LE(65535, 16);
    head.writeUInt32LE(1, 20);
    this.out(head);
  }

  get full() {
    return this.written >= this.limit;
  }

  add(ts, pkt) {
    // Ties keep insertion order (a flow's packets at the same microsecond).
    let i = this.n++;
    const us = Math.round(ts * 1e6);
    const key = this.n;
    this.ts[i] = us;
    this.pkts[i] = pkt;
    this.seq[i] = key;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.less(p, i)) break;
      this.swap(i, p);
      i = p;
    }
  }

  less(a, b) {
    return this.ts[a] < this.ts[b] || (this.ts[a] === this.ts[b] && this.seq[a] < this.seq[b]);
  }

  swap(a, b) {
    [this.ts[a], this.ts[b]] = [this.ts[b], this.ts[a]];
    [this.pkts[a], this.pkts[b]] = [this.pkts[b], this.pkts[a]];
    [this.seq[a], this.seq[b]] = [this.seq[b], this.seq[a]];
  }

  pop() {
    const us = this.ts[0];
    const pkt = this.pkts[0];
    const last = --this.n;
    this.swap(0, last);
    this.pkts[last] = undefined;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.n && this.less(l, m)) m = l;
      if (r < this.n && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return [us, pkt];
  }

  /** Write every packet before `ts` (seconds): nothing added later starts earlier. */
  advance(ts) {
    const limitUs = Math.round(ts * 1e6);
    while (this.n > 0 && this.ts[0] < limitUs && !this.full) this.record(...this.pop());
  }

  record(us, pkt) {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(Math.floor(us / 1e6), 0);
    h.writeUInt32LE(us % 1e6, 4);
    h.writeUInt32LE(pkt.length, 8);
    h.writeUInt32LE(pkt.length, 12);
    this.out(h);
    this.out(pkt);
    this.written++;
    this.lastTs = us / 1e6;
  }

  out(b) {
    if (this.at + b.length > this.buf.length) {
      writeSync(this.fd, this.buf, 0, this.at);
      this.at = 0;
    }
    this.at += b.copy(this.buf, this.at);
  }

  close() {
    while (this.n > 0 && !this.full) this.record(...this.pop());
    writeSync(this.fd, this.buf, 0, this.at);
    closeSync(this.fd);
  }
}
