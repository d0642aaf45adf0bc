import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

// The app is served from dist/renderer/ by `vetbench serve` and loaded from the app:// protocol by Electron:
// relative asset paths work under both. No eval and no inline scripts, so the strict CSP holds.
export default defineConfig({
  root: here,
  base: './',
  plugins: [svelte()],
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1024,
  },
});
