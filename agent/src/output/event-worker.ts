// The scan's helper thread (event-thread.ts starts it): it writes the event
// lines (event-ring.ts) and, when asked to, opens the capture's QUIC
// Initials ahead of the pipeline (names/quic-ahead.ts) in between. One
// thread for both: each worker is an isolate of its own, ~10 MB, and a
// scan's peak stays under 150 MB only with one.

import { parentPort, workerData } from 'node:worker_threads';
import { AheadRing } from '../names/quic-ahead.js';
import { openAhead } from '../names/quic-ahead-open.js';
import { EventConsumer } from './event-consumer.js';
import { EventRing, POLL_MS } from './event-ring.js';

const data = workerData as { sab: SharedArrayBuffer; fd: number; ahead?: { file: string; sab: SharedArrayBuffer } };
const events = new EventConsumer(new EventRing(data.sab), data.fd);
// Loaded and about to take records: the pipeline hands its events over only after this.
parentPort?.postMessage('ready');
events.guard(() => {
  const ahead = data.ahead;
  if (ahead !== undefined) {
    let linesFailed = false;
    const lines = () => {
      try {
        events.poll();
      } catch (err) {
        linesFailed = true;
        throw err;
      }
    };
    try {
      openAhead(ahead.file, new AheadRing(ahead.sab), POLL_MS, lines);
    } catch (err) {
      if (linesFailed) throw err;
      // The look-ahead failed: the pipeline opens every Initial the ring does not hold, as it always could.
    }
  }
  events.run();
});
