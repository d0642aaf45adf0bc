import { rm, writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { createEncoder } from '../../../engine/clip/clip-encoder.js';
import type { ClipConfig } from '../../../engine/clip/config.js';
import { initClipWeights } from '../../../engine/clip/init-weights.js';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import { resolveModelPath } from '../../../engine/clip/resolve-model.js';
import { saveClipWeights } from '../../../engine/clip/save-weights.js';
import { ClipTokenizer } from '../../../engine/clip/tokenizer.js';
import { VetbenchError } from '../../../engine/errors.js';
import { requireSplit } from '../../../engine/eval/require-split.js';
import { evaluateZeroShot } from '../../../engine/eval/zero-shot-eval.js';
import { vetbenchVersion } from '../../../engine/paths.js';
import { DatasetPairs } from '../../../engine/train/dataset-pairs.js';
import { parseTrainingExecutor } from '../../../engine/train/create-trainer.js';
import { pretrainClip } from '../../../engine/train/pretrain.js';
import { Rng } from '../../../engine/util/rng.js';
import { formatDuration, openDataset } from '../open-dataset.js';

/** The demo model's configuration and schedule: the defaults of `vetbench pretrain`. */
export const PRETRAIN_DEFAULTS = {
  epochs: 30,
  batchSize: 64,
  lr: 1e-3,
  warmup: 100,
  weightDecay: 0.1,
  seed: 1,
  resolution: 32,
  patch: 8,
  visionWidth: 128,
  visionLayers: 4,
  textWidth: 64,
  textLayers: 4,
  contextLength: 32,
  embedDim: 64,
  shift: 2,
} as const;

interface PretrainCliOptions {
  dataset: string;
  out: string;
  init?: string;
  epochs: string;
  batchSize: string;
  lr: string;
  warmup: string;
  weightDecay: string;
  seed: string;
  resolution: string;
  patch: string;
  visionWidth: string;
  visionLayers: string;
  textWidth: string;
  textLayers: string;
  contextLength: string;
  embedDim: string;
  shift: string;
  checkpointDir?: string;
  executor: string;
  dtype: 'f16' | 'f32';
}

function int(value: string, flag: string, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new VetbenchError(
      'bad-option',
      `${flag} must be an integer >= ${min}, got '${value}'`,
      `Pass e.g. ${flag} ${Math.max(min, 1)}.`,
    );
  }
  return n;
}

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new VetbenchError(
      'bad-option',
      `${flag} must be a non-negative number, got '${value}'`,
      `Pass e.g. ${flag} 0.001.`,
    );
  return n;
}

export function registerPretrain(program: Command): void {
  const d = PRETRAIN_DEFAULTS;
  program
    .command('pretrain')
    .description(
      'train a CLIP from scratch (or fine-tune one) with the contrastive loss on an image-caption dataset',
    )
    .requiredOption(
      '--dataset <root|demo>',
      'ImageFolder / CSV dataset (captions from the CSV, else class-name templates)',
    )
    .requiredOption('--out <file>', 'output weights (.safetensors)')
    .option('--init <weights>', 'start from these weights instead of a fresh initialisation')
    .option('--epochs <n>', 'epochs', String(d.epochs))
    .option('--batch-size <n>', 'batch size', String(d.batchSize))
    .option('--lr <x>', 'peak learning rate (AdamW)', String(d.lr))
    .option('--warmup <steps>', 'linear warm-up steps before the cosine decay', String(d.warmup))
    .option(
      '--weight-decay <x>',
      'AdamW weight decay (not on norms, biases, logit scale)',
      String(d.weightDecay),
    )
    .option('--seed <n>', 'seed of initialisation, shuffling and augmentation', String(d.seed))
    .option('--resolution <px>', 'image resolution of a fresh model', String(d.resolution))
    .option('--patch <px>', 'patch size of a fresh model', String(d.patch))
    .option('--vision-width <n>', 'image tower width (heads = width/64)', String(d.visionWidth))
    .option('--vision-layers <n>', 'image tower blocks', String(d.visionLayers))
    .option('--text-width <n>', 'text tower width (heads = width/64)', String(d.textWidth))
    .option('--text-layers <n>', 'text tower blocks', String(d.textLayers))
    .option('--context-length <n>', 'text context length', String(d.contextLength))
    .option('--embed-dim <n>', 'joint embedding size', String(d.embedDim))
    .option('--shift <px>', 'random translation augmentation (0 = none)', String(d.shift))
    .option(
      '--checkpoint-dir <dir>',
      'checkpoint folder (default <out>.checkpoint); rerun the same command to resume',
    )
    .addOption(
      new Option('--executor <name>', 'training-step executor').choices(['onnx', 'tfjs']).default('onnx'),
    )
    .addOption(new Option('--dtype <type>', 'stored weight type').choices(['f16', 'f32']).default('f16'))
    .action(async (opts: PretrainCliOptions) => {
      const dataset = await openDataset(opts.dataset);
      const seed = int(opts.seed, '--seed', 0);
      let initial;
      if (opts.init) {
        initial = await loadClipWeights(resolveModelPath(opts.init));
      } else {
        const visionWidth = int(opts.visionWidth, '--vision-width');
        const textWidth = int(opts.textWidth, '--text-width');
        const config: ClipConfig = {
          embedDim: int(opts.embedDim, '--embed-dim'),
          vision: {
            width: visionWidth,
            layers: int(opts.visionLayers, '--vision-layers'),
            heads: Math.max(1, Math.round(visionWidth / 64)),
            patchSize: int(opts.patch, '--patch'),
            imageResolution: int(opts.resolution, '--resolution'),
          },
          text: {
            width: textWidth,
            layers: int(opts.textLayers, '--text-layers'),
            heads: Math.max(1, Math.round(textWidth / 64)),
            contextLength: int(opts.contextLength, '--context-length', 2),
            vocabSize: 49408,
          },
        };
        for (const [tower, w] of [
          ['vision', visionWidth],
          ['text', textWidth],
        ] as const) {
          if (w % 64 !== 0 && w > 64)
            throw new VetbenchError(
              'bad-option',
              `--${tower}-width ${w} is not a multiple of 64`,
              'Widths are split into heads of 64; use 64, 128, 192, ...',
            );
        }
        if (config.vision.imageResolution % config.vision.patchSize !== 0) {
          throw new VetbenchError(
            'bad-option',
            `--resolution ${config.vision.imageResolution} is not a multiple of --patch ${config.vision.patchSize}`,
            'Choose a patch size that divides the resolution.',
          );
        }
        initial = initClipWeights(config, new Rng(seed));
      }
      const config = initial.config;
      const trainItems = requireSplit(dataset, 'train');
      const pairs = new DatasetPairs(
        dataset,
        trainItems,
        config.vision.imageResolution,
        int(opts.shift, '--shift', 0),
      );
      const options = {
        epochs: int(opts.epochs, '--epochs'),
        batchSize: int(opts.batchSize, '--batch-size'),
        lr: positive(opts.lr, '--lr'),
        warmupSteps: int(opts.warmup, '--warmup', 0),
        weightDecay: positive(opts.weightDecay, '--weight-decay'),
        seed,
        executor: parseTrainingExecutor(opts.executor, '--executor'),
        checkpointDir: opts.checkpointDir ?? `${opts.out}.checkpoint`,
      };
      console.error(
        `Pretraining on ${trainItems.length} pairs of ${dataset.root}: ${options.epochs} epochs x ${Math.floor(trainItems.length / options.batchSize)} steps, batch ${options.batchSize}`,
      );
      let lastPrint = 0;
      const result = await pretrainClip(initial, pairs, ClipTokenizer.default(), {
        ...options,
        onProgress: (p) => {
          if (Date.now() - lastPrint < 2000 && p.step !== p.totalSteps) return;
          lastPrint = Date.now();
          console.error(
            `epoch ${p.epoch + 1}/${options.epochs}  step ${p.step}/${p.totalSteps}  loss ${p.loss.toFixed(4)}  lr ${p.lr.toExponential(2)}  scale ${p.logitScale.toFixed(1)}  ETA ${formatDuration(p.etaMs)}`,
          );
        },
      });
      if (result.resumedFromStep > 0) console.error(`(resumed from step ${result.resumedFromStep})`);
      const provenance = {
        tool: `vetbench ${vetbenchVersion()}`,
        command: `vetbench ${process.argv.slice(2).join(' ')}`,
        dataset: dataset.root,
        dataset_fingerprint: dataset.fingerprint,
        train_pairs: String(trainItems.length),
        options: JSON.stringify({ ...options, shift: Number(opts.shift), init: opts.init ?? null }),
        epoch_losses: JSON.stringify(result.epochLosses.map((x) => Number(x.toFixed(5)))),
        created: new Date().toISOString(),
      };
      await saveClipWeights(opts.out, config, result.tensors, {
        dtype: opts.dtype === 'f16' ? 'F16' : 'F32',
        metadata: { vetbench_provenance: JSON.stringify(provenance) },
      });
      // The run is complete and its result stored: the checkpoint has done its job.
      await rm(options.checkpointDir, { recursive: true, force: true });
      // Zero-shot CA of the stored weights (as a user will load them), when the dataset has a test split.
      const stored = await loadClipWeights(opts.out);
      let ca: number | null = null;
      if (dataset.items.some((i) => i.split === 'test')) {
        const encoder = await createEncoder(stored);
        const acc = await evaluateZeroShot(encoder, dataset, { split: 'test' });
        await encoder.dispose();
        ca = acc.ca;
        console.error(`zero-shot CA on the test split: ${acc.ca.toFixed(2)}% (${acc.correct}/${acc.n})`);
      }
      const report = {
        weights: opts.out,
        fingerprint: stored.source.fingerprint,
        config,
        steps: result.steps,
        wall_ms: result.wallMs,
        epoch_losses: result.epochLosses,
        zero_shot_ca_test: ca,
        provenance,
      };
      await writeFile(`${opts.out}.json`, `${JSON.stringify(report, null, 2)}\n`);
      console.log(`${opts.out}  (report: ${opts.out}.json)`);
    });
}
