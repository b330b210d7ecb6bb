// The dashboard's build: one static bundle in dist/, served by the agent
// (agent/src/http). No CDN, no inline script (the agent's CSP forbids it),
// the world map's data in a chunk of its own so the budget can be measured
// without it (scripts/dashboard-size).

import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Inline assets would need data: URLs for scripts; keep every asset a file.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
    sourcemap: false,
  },
});
