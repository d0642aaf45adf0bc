import { Option, type Command } from 'commander';
import { createEncoder } from '../../../engine/clip/clip-encoder.js';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import { resolveModelPath } from '../../../engine/clip/resolve-model.js';
import type { SplitName } from '../../../engine/datasets/dataset.js';
import { ImageLoader } from '../../../engine/datasets/image-loader.js';
import { requireSplit } from '../../../engine/eval/require-split.js';
import { loadDeepPrompts } from '../../../engine/explain/deep-prompts.js';
import { perturbationResistivity, type PrBatch } from '../../../engine/metrics/perturbation-resistivity.js';
import {
  standardPerturbations,
  triggerPerturbation,
} from '../../../engine/metrics/perturbations/standard-perturbations.js';
import { Rng } from '../../../engine/util/rng.js';
import { VetbenchError } from '../../../engine/errors.js';
import { collect, seedOption, triggerFromArgs } from '../cli-args.js';
import { emit } from '../output.js';
import { openDataset } from '../open-dataset.js';

interface PrCliOptions {
  model: string;
  dataset: string;
  split: SplitName;
  prompts?: string;
  force?: boolean;
  trigger?: string;
  param?: string[];
  limit?: string;
  seed?: string;
  batchSize: string;
  json?: boolean;
}

export function registerPr(program: Command): void {
  program
    .command('pr')
    .description(
      'perturbation resistivity per block (METHODS 2.3): mean cos(CLS_d(x), CLS_d(x+δ)) under noise, blur, colour jitter, flip and a trigger',
    )
    .requiredOption('--model <weights|demo>', 'CLIP weights (.safetensors) or the built-in name demo')
    .requiredOption('--dataset <root|demo>', 'dataset folder, CSV manifest, or demo')
    .addOption(
      new Option('--split <name>', 'split measured').choices(['train', 'val', 'test']).default('test'),
    )
    .option('--prompts <file>', 'hardened prompt file with deep visual prompts (e.g. from RVPT)')
    .option('--force', 'use a prompt file made for another model fingerprint')
    .option(
      '--trigger <method|file>',
      'also measure PR under this trigger (a family id or a saved trigger file)',
    )
    .option('--param <key=value>', 'trigger family parameter (repeatable)', collect, [])
    .option('--limit <n>', 'measure a seeded sample of this many images (default: the whole split)')
    .option('--seed <n>', 'seed of the noise, the jitter, the sample and a family trigger', '1')
    .option('--batch-size <n>', 'images per forward pass', '64')
    .option('--json', 'print JSON')
    .action(async (opts: PrCliOptions) => {
      const seed = seedOption(opts.seed, 1);
      const weights = await loadClipWeights(resolveModelPath(opts.model));
      for (const w of weights.source.warnings) console.error(`warning: ${w}`);
      const prompts = opts.prompts
        ? await loadDeepPrompts(opts.prompts, weights, {
            force: opts.force === true,
            warn: (m) => console.error(`warning: ${m}`),
          })
        : null;
      const dataset = await openDataset(opts.dataset);
      const resolution = weights.config.vision.imageResolution;
      const trigger = opts.trigger
        ? await triggerFromArgs(opts.trigger, opts.param ?? [], seed, resolution)
        : null;
      let items = requireSplit(dataset, opts.split).sort((a, b) =>
        a.relativePath < b.relativePath ? -1 : 1,
      );
      if (opts.limit !== undefined) {
        const limit = Number(opts.limit);
        if (!Number.isSafeInteger(limit) || limit < 1)
          throw new VetbenchError(
            'bad-option',
            `--limit must be a positive integer, got '${opts.limit}'`,
            'Pass e.g. --limit 200.',
          );
        items = new Rng(seed).shuffle(items).slice(0, limit);
      }
      const batchSize = Number(opts.batchSize);
      if (!Number.isSafeInteger(batchSize) || batchSize < 1)
        throw new VetbenchError(
          'bad-option',
          `--batch-size must be a positive integer, got '${opts.batchSize}'`,
          'Pass e.g. --batch-size 64.',
        );
      const loader = new ImageLoader({ resolution, cacheBytes: 0, normalize: false });
      const failed: string[] = [];
      async function* batches(): AsyncGenerator<PrBatch> {
        for await (const b of loader.batches(items, batchSize)) {
          failed.push(...b.failed.map((f) => f.item.relativePath));
          if (b.items.length) yield { pixels01: b.pixels, keys: b.items.map((i) => i.relativePath) };
        }
      }
      const perturbations = [
        ...standardPerturbations(seed),
        ...(trigger ? [triggerPerturbation(trigger)] : []),
      ];
      const encoder = await createEncoder(weights);
      const started = Date.now();
      const result = await perturbationResistivity(encoder, batches(), perturbations, { prompts });
      await encoder.dispose();
      const report = {
        ...result,
        split: opts.split,
        seed,
        failed,
        model: { path: weights.source.path, fingerprint: weights.source.fingerprint },
        prompts: prompts ? { path: opts.prompts, sha256: prompts.fileSha256, depth: prompts.depth } : null,
        dataset: { root: dataset.root, fingerprint: dataset.fingerprint },
        ...(trigger
          ? { trigger: { method: trigger.method, params: trigger.params, seed: trigger.seed } }
          : {}),
        wall_ms: Date.now() - started,
      };
      emit(opts.json === true, report, () => {
        const ids = result.rows.map((r) => r.id);
        const width = Math.max(12, ...ids.map((i) => i.length + 2));
        const header = `block ${ids.map((i) => i.padStart(width)).join('')}`;
        const lines = Array.from(
          { length: result.layers },
          (_, d) =>
            `${String(d).padStart(5)} ${result.rows.map((r) => r.pr[d]!.toFixed(4).padStart(width)).join('')}`,
        );
        return [
          `PR_d = mean cos(CLS_d(x), CLS_d(x+δ)) over ${result.images} image(s) of the ${opts.split} split${prompts ? ` with deep prompts (depth ${prompts.depth})` : ''}`,
          header,
          ...lines,
          ...(failed.length ? [`${failed.length} image(s) failed to decode and were left out`] : []),
        ].join('\n');
      });
    });
}
