/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';
import type { Reporter } from 'vitest/node';

// Vitest colors its summary whenever TERM is set, even into a pipe. Off a terminal we add one
// plain summary line ("      Tests  N passed (N)", the default reporter's shape) that
// scripts such as scripts/test.sh can grep.
const plainSummary: Reporter = {
  onTestRunEnd(modules) {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
    }
    const parts = [failed ? `${failed} failed` : '', `${passed} passed`, skipped ? `${skipped} skipped` : '']
      .filter(Boolean)
      .join(' | ');
    process.stdout.write(`      Tests  ${parts} (${passed + failed + skipped})\n`);
  },
};

// The dev server proxies /ws, /api and /health to a running stack (Apache on :8080 by
// default, or CHAT_DEV_BACKEND) so `npm run dev` behaves like the page behind Apache.
const backend = process.env.CHAT_DEV_BACKEND ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react(), tailwindcss()],
  base: '/',
  build: {
    target: 'es2020',
    sourcemap: false,
    // Nothing inlined as data: URIs, so a strict CSP (font-src/img-src 'self') holds.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: {
      '/api': backend,
      '/health': backend,
      '/ws': { target: backend.replace(/^http/, 'ws'), ws: true },
    },
  },
  test: {
    environment: 'node', // component tests opt into jsdom per file
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
    reporters: process.stdout.isTTY ? ['default'] : ['default', plainSummary],
  },
});
