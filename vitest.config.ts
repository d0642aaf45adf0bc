import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Compiles the renderer's *.svelte.ts state managers (runes) for test/renderer; other files pass through.
  plugins: [svelte({ configFile: false, compilerOptions: { runes: true } })],
  test: {
    include: ['test/**/*.test.ts'],
    // Every test must assert something that can fail (test/setup/every-test-asserts.ts).
    setupFiles: ['test/setup/every-test-asserts.ts'],
    // Native add-ons (onnxruntime-node, sharp) and the wasm backend are safest in child processes.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
