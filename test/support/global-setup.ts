// Build the agent once before any test, so CLI tests run the current code:
// the geo database (skipped when up to date) and tsc -b (incremental).

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  execFileSync(process.execPath, [`${root}agent/scripts/build-geo.mjs`], { cwd: root, stdio: 'inherit' });
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b'], { cwd: root, stdio: 'inherit' });
}
