// The look-ahead thread's entry (quic-ahead.ts starts it): the work is in
// quic-ahead-open.ts, where tests can run it on their own thread.

import { workerData } from 'node:worker_threads';
import { AheadRing } from './quic-ahead.js';
import { openAhead } from './quic-ahead-open.js';

const data = workerData as { file: string; sab: SharedArrayBuffer; waitMs?: number };
openAhead(data.file, new AheadRing(data.sab), data.waitMs);
