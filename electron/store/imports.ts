import { basename, resolve } from 'node:path';
import type { DatasetSummary, ModelSummary } from '../api/contract.js';
import { scanWeightFile } from '../../engine/clip/checkpoints/file-scan.js';
import { loadClipWeights, resolveWeightsFile } from '../../engine/clip/load-weights.js';
import { resolveModelPath } from '../../engine/clip/resolve-model.js';
import { importDataset } from '../../engine/datasets/import-dataset.js';
import { resolveDataset } from '../../engine/datasets/resolve.js';
import { VetbenchError } from '../../engine/errors.js';
import { modelArchitecture } from './model-architecture.js';
import type { ProjectStore } from './project-store.js';

/** Sample images listed per class for previews. */
const SAMPLES_PER_CLASS = 4;

/** Loads a model file (checks it fully), and lists it in the project once per path and content. */
export async function importModelInto(
  store: ProjectStore,
  nameOrPath: string,
  name?: string,
): Promise<ModelSummary> {
  const path = resolve(resolveModelPath(nameOrPath));
  // First vetting step: scan the file without running it; a pickle that names other code is never loaded.
  const scan = await scanWeightFile(await resolveWeightsFile(path));
  if (scan.verdict === 'refused') {
    throw new VetbenchError(
      'model-refused',
      `${scan.path}: ${scan.reason ?? 'refused by the file scan'}`,
      'Do not open this file with torch.load. Ask its publisher for a safetensors file; `vetbench inspect-model` lists what the file references.',
    );
  }
  const weights = await loadClipWeights(path);
  const existing = store.findModel(path, weights.source.fingerprint);
  if (existing) return existing;
  return store.insertModel({
    name: name ?? (nameOrPath === 'demo' ? 'demo' : basename(path)),
    path,
    fingerprint: weights.source.fingerprint,
    fileBytes: weights.source.fileBytes,
    architecture: modelArchitecture(weights, scan),
    warnings: [...weights.source.warnings],
  });
}

/**
 * Imports a dataset (folder, CSV manifest or `demo`) and lists it in the project once per source and
 * content. `onGenerated` is told when the demo dataset had to be generated first.
 */
export async function importDatasetInto(
  store: ProjectStore,
  nameOrPath: string,
  options: { name?: string; onGenerated?: (root: string, images: number) => void } = {},
): Promise<DatasetSummary> {
  const resolved = await resolveDataset(nameOrPath);
  if (resolved.generated) options.onGenerated?.(resolved.root, resolved.generatedImages);
  const source = resolved.manifest ?? resolved.root;
  const dataset = await importDataset(source);
  if (dataset.items.length === 0)
    throw new VetbenchError(
      'dataset-empty',
      `no usable images in ${dataset.root}`,
      'Run `vetbench dataset inspect` on it to see why files were skipped.',
    );
  const existing = store.findDataset(source, dataset.fingerprint);
  if (existing) return existing;
  const samples: string[] = [];
  for (const c of dataset.classes)
    samples.push(
      ...dataset.items
        .filter((i) => i.label === c.index)
        .slice(0, SAMPLES_PER_CLASS)
        .map((i) => i.relativePath),
    );
  const counts: DatasetSummary['counts'] = {};
  for (const item of dataset.items) counts[item.split] = (counts[item.split] ?? 0) + 1;
  return store.insertDataset({
    name: options.name ?? (nameOrPath === 'demo' ? 'demo' : basename(dataset.root)),
    root: source,
    fingerprint: dataset.fingerprint,
    layout: dataset.layout,
    classes: dataset.classes.map((c) => ({
      index: c.index,
      name: c.name,
      folder: c.folder,
      count: c.count,
      counts: { ...c.counts },
    })),
    total: dataset.items.length,
    counts,
    captions: dataset.items.filter((i) => i.caption !== undefined).length,
    sampleImageIds: samples,
    skipped: dataset.skipped.map(({ path, code, reason }) => ({ path, code, reason })),
    warnings: [...dataset.warnings],
  });
}
