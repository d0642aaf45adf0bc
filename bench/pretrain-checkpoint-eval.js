#!/usr/bin/env node
// @ts-check
/**
 * Zero-shot CA of a pretraining run part-way: its last checkpoint's parameters written as CLIP weights, then
 * `vetbench eval` on a dataset (for the demo world: the downstream task `demo-world`).
 *
 *   npm run build && node bench/pretrain-checkpoint-eval.js --project world.vbproj --run 1 --dataset demo-world
 *
 * The weights go to .vetbench-cache/pretrain-checkpoints/run-<id>-epoch-<n>.safetensors (F32).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_CACHE, REPO_ROOT } from './bench-cache.js';

const { loadClipWeights } = await import('../dist/engine/clip/load-weights.js');
const { readSafetensors } = await import('../dist/engine/clip/safetensors.js');
const { saveClipWeights } = await import('../dist/engine/clip/save-weights.js');
const { trainedToCanonical } = await import('../dist/engine/train/contrastive-objective.js');
const { ProjectStore } = await import('../dist/electron/store/project-store.js');

const { values: args } = parseArgs({
  options: {
    project: { type: 'string' },
    run: { type: 'string' },
    dataset: { type: 'string', default: 'demo-world' },
  },
});
if (!args.project || !args.run)
  throw new Error('usage: --project <file.vbproj> --run <id> [--dataset demo-world]');
const store = ProjectStore.open(args.project);
const run = store.getRunRecord(Number(args.run));
const init = store.getModel(run.modelId).path;
const dir = store.checkpointDir(run.id);
store.close();
const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
const initial = await loadClipWeights(init);
const file = await readSafetensors(join(dir, readdirSync(dir).find((f) => f.endsWith('.safetensors')) ?? ''));
/** @type {Record<string, { data: Float32Array, shape: readonly number[] }>} */
const vars = {};
for (const t of file.tensors)
  if (t.name.startsWith('param.')) vars[t.name.slice(6)] = { data: t.data, shape: t.shape };
const outDir = join(BENCH_CACHE, 'pretrain-checkpoints');
mkdirSync(outDir, { recursive: true });
const out = join(outDir, `run-${run.id}-epoch-${state.epoch}.safetensors`);
await saveClipWeights(out, initial.config, trainedToCanonical(vars, initial), { dtype: 'F32' });
console.log(`run ${run.id}: checkpoint after epoch ${state.epoch} (step ${state.step}) -> ${out}`);
const r = spawnSync(
  process.execPath,
  [
    join(REPO_ROOT, 'bin', 'vetbench.js'),
    'eval',
    '--model',
    out,
    '--dataset',
    args.dataset,
    '--project',
    join(outDir, 'eval.vbproj'),
  ],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
