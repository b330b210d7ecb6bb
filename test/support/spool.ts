// What the spool tests share: temporary data directories removed after each
// test, and a topic per message class.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { SpoolClass } from '../../agent/src/mqtt/spool.js';

/** A maker of fresh directories named PREFIX…, each removed after the test that made it (call at a file's top level). */
export function tempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
}

export const TOPIC: Record<SpoolClass, string> = {
  alert: 'egress/v1/gw/alert',
  flow: 'egress/v1/gw/flow',
  stats: 'egress/v1/gw/stats',
  session: 'egress/v1/gw/session',
};
