import type { Dataset } from '../../engine/datasets/dataset.js';
import { importDataset } from '../../engine/datasets/import-dataset.js';
import { resolveDataset } from '../../engine/datasets/resolve.js';
import { VetbenchError } from '../../engine/errors.js';

/** A dataset argument (`demo`, a folder or a CSV) imported, telling the user when the demo was generated. */
export async function openDataset(
  nameOrPath: string,
  options: { splitSeed?: number } = {},
): Promise<Dataset> {
  const resolved = await resolveDataset(nameOrPath);
  if (resolved.generated) {
    console.error(
      `Generated the built-in demo dataset (${resolved.generatedImages} images) in ${resolved.root}`,
    );
  }
  const dataset = await importDataset(resolved.manifest ?? resolved.root, {
    ...(options.splitSeed !== undefined ? { splitSeed: options.splitSeed } : {}),
  });
  if (dataset.items.length === 0) {
    throw new VetbenchError(
      'dataset-empty',
      `no usable images in ${dataset.root}`,
      'Run `vetbench dataset inspect` on it to see why files were skipped.',
    );
  }
  if (dataset.skipped.length > 0) {
    console.error(
      `note: ${dataset.skipped.length} file(s) skipped; \`vetbench dataset inspect ${nameOrPath}\` lists why`,
    );
  }
  return dataset;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const s = Math.round(ms / 1000);
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
