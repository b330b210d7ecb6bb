// Module hooks for child.mjs: `./x.js` imported from a .ts file resolves to
// `./x.ts` when only that exists, and a .ts file is compiled by TypeScript's
// transpileModule (types stripped, nothing checked; the sources are type
// checked by `pnpm build`). Compiled text is cached on disk by the source's
// hash: every mutant of a run has the same instrumented sources, so only the
// first child of a run pays for compiling (and for loading TypeScript).

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CACHE = join(tmpdir(), 'egress-mutation-ts');
let ts = null;

export async function resolve(specifier, context, next) {
  if (context.parentURL?.endsWith('.ts') && specifier.startsWith('.') && specifier.endsWith('.js')) {
    const url = new URL(`${specifier.slice(0, -3)}.ts`, context.parentURL);
    if (existsSync(url)) return { url: url.href, format: 'module', shortCircuit: true };
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const file = fileURLToPath(url);
  const source = readFileSync(file, 'utf8');
  const key = createHash('sha256').update(file).update('\0').update(source).digest('hex');
  const cached = join(CACHE, `${key}.js`);
  if (existsSync(cached)) return { format: 'module', source: readFileSync(cached, 'utf8'), shortCircuit: true };
  ts ??= (await import('typescript')).default;
  const out = ts.transpileModule(source, {
    fileName: file,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      useDefineForClassFields: true,
      esModuleInterop: true,
    },
  }).outputText;
  try {
    mkdirSync(CACHE, { recursive: true });
    const tmp = `${cached}.${process.pid}`;
    writeFileSync(tmp, out);
    renameSync(tmp, cached);
  } catch {
    // A child running as another user (selftest's unprivileged case) may not write the cache: it compiles.
  }
  return { format: 'module', source: out, shortCircuit: true };
}
