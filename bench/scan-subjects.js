// Shared by the scanner benches (scan-demo, probe-demo, scan-explore): flags, the dataset, and the models
// scanned, i.e. the clean model ("demo", or --clean-model) and the backdoored ones in the attacks folder.
import { existsSync } from 'node:fs';
import { loadClipWeights } from '../dist/engine/clip/load-weights.js';
import { resolveModelPath } from '../dist/engine/clip/resolve-model.js';
import { createEncoder } from '../dist/engine/clip/clip-encoder.js';
import { resolveDataset } from '../dist/engine/datasets/resolve.js';
import { importDataset } from '../dist/engine/datasets/import-dataset.js';
import { DEMO_ATTACKS_DIR, ensureDemoAttack } from './bench-cache.js';

/** `flag('--name', fallback)`: the value after --name on the command line. */
export function commandFlags(args = process.argv.slice(2)) {
  return (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : fallback;
  };
}

export const DEFAULT_ATTACKS_DIR = DEMO_ATTACKS_DIR;

/** A dataset by name or root ('demo' is the built-in one). */
export async function openDataset(spec = 'demo') {
  const r = await resolveDataset(spec);
  return importDataset(r.manifest ?? r.root);
}

/**
 * Calls `fn(name, weights, encoder)` for each model that exists ('demo' is the clean model: the built-in
 * one or `cleanModel`; any other name is `<attacksDir>/<name>.safetensors`, made first when missing from the
 * default folder), disposing each encoder after.
 */
export async function forEachModel(names, fn, { attacksDir = DEFAULT_ATTACKS_DIR, cleanModel } = {}) {
  for (const name of names) {
    // A missing backdoored demo model is made first in the default cache folder; elsewhere it is an error.
    const path =
      name === 'demo' ? (cleanModel ?? resolveModelPath('demo')) : ensureDemoAttack(name, attacksDir);
    if (!existsSync(path)) throw new Error(`${name}: ${path} is missing`);
    const weights = await loadClipWeights(path);
    const encoder = await createEncoder(weights);
    try {
      await fn(name, weights, encoder);
    } finally {
      await encoder.dispose();
    }
  }
}
