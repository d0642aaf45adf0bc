// Shared by the scanner benches (scan-demo, probe-demo, scan-explore): flags, the dataset, and the models
// scanned, i.e. the clean model ("demo", or --clean-model) and the backdoored ones in the attacks folder.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadClipWeights } from '../dist/engine/clip/load-weights.js';
import { resolveModelPath } from '../dist/engine/clip/resolve-model.js';
import { createEncoder } from '../dist/engine/clip/clip-encoder.js';
import { resolveDataset } from '../dist/engine/datasets/resolve.js';
import { importDataset } from '../dist/engine/datasets/import-dataset.js';

/** `flag('--name', fallback)`: the value after --name on the command line. */
export function commandFlags(args = process.argv.slice(2)) {
  return (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : fallback;
  };
}

export const DEFAULT_ATTACKS_DIR = process.env.VETBENCH_DEMO_ATTACKS ?? '/work/artifacts/demo-attacks';

/** A dataset by name or root ('demo' is the built-in one). */
export async function openDataset(spec = 'demo') {
  const r = await resolveDataset(spec);
  return importDataset(r.manifest ?? r.root);
}

/**
 * Calls `fn(name, weights, encoder)` for each model that exists ('demo' is the clean model: the built-in
 * one or `cleanModel`; any other name is `<attacksDir>/<name>.safetensors`), disposing each encoder after.
 */
export async function forEachModel(names, fn, { attacksDir = DEFAULT_ATTACKS_DIR, cleanModel } = {}) {
  for (const name of names) {
    const path =
      name === 'demo' ? (cleanModel ?? resolveModelPath('demo')) : join(attacksDir, `${name}.safetensors`);
    if (!existsSync(path)) {
      console.log(`${name}: ${path} missing, skipped`);
      continue;
    }
    const weights = await loadClipWeights(path);
    const encoder = await createEncoder(weights);
    try {
      await fn(name, weights, encoder);
    } finally {
      await encoder.dispose();
    }
  }
}
