#!/usr/bin/env node
// Entry point of the `vetbench` command: runs the compiled CLI (built by `npm run build`, which `npm ci` runs).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/electron/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error(
    'vetbench: the compiled CLI is missing. Run `npm run build` (or `npm ci`) in the Vetbench folder.',
  );
  process.exit(2);
}
await import(entry.href);
