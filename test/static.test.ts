// Static checks as tests, so CI fails on them like on any other test:
// the linter/formatter (Biome) and a type check of the tests themselves.

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support/cli.js';

function run(cmd: string, args: string[]) {
  return spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
}

describe('static checks', () => {
  it('passes biome check (lint and format)', () => {
    const r = run(`${ROOT}node_modules/.bin/biome`, ['check', '--colors=off', '.']);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  });

  it('type-checks the tests', () => {
    const r = run(process.execPath, [`${ROOT}node_modules/typescript/bin/tsc`, '-p', 'test/tsconfig.json']);
    expect(r.status, r.stdout).toBe(0);
  });
});
