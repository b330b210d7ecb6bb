// The dashboard's built files (dashboard/dist), listed once at start: only
// files found there are served, so no request path can reach outside it.
// Content-hashed assets are cached for good; index.html is revalidated.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

export interface StaticFile {
  body: Buffer;
  type: string;
  immutable: boolean;
}

/** dashboard/dist of the repository, seen from agent/src/http or agent/dist/http. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../../dashboard/dist', import.meta.url));

/** Every file under `dir` by its URL path ("/index.html", "/assets/app-1a2b.js"); empty when the dashboard is not built. */
export function loadStaticFiles(dir: string): Map<string, StaticFile> {
  const out = new Map<string, StaticFile>();
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const name of names) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) {
        walk(full);
        continue;
      }
      const path = `/${relative(dir, full).split(sep).join('/')}`;
      out.set(path, {
        body: readFileSync(full),
        type: TYPES[extname(name)] ?? 'application/octet-stream',
        immutable: path.startsWith('/assets/'),
      });
    }
  };
  walk(dir);
  return out;
}
