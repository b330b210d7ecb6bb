// The capture fixtures: test/fixtures/<proto>/<case>/{README.md,input.pcap|input.pcapng,expected.ndjson}.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli.js';

export interface Fixture {
  name: string; // <proto>/<case>
  dir: string;
  input: string;
  expected: string;
  bad: boolean;
}

export const FIXTURES_DIR = join(ROOT, 'test/fixtures');

export function listFixtures(): Fixture[] {
  const out: Fixture[] = [];
  for (const proto of readdirSync(FIXTURES_DIR, { withFileTypes: true })) {
    if (!proto.isDirectory()) continue;
    for (const c of readdirSync(join(FIXTURES_DIR, proto.name), { withFileTypes: true })) {
      if (!c.isDirectory()) continue;
      const dir = join(FIXTURES_DIR, proto.name, c.name);
      const input = ['input.pcap', 'input.pcapng'].map((f) => join(dir, f)).find((f) => existsSync(f));
      if (!input) continue;
      out.push({
        name: `${proto.name}/${c.name}`,
        dir,
        input,
        expected: join(dir, 'expected.ndjson'),
        bad: proto.name === 'bad',
      });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
