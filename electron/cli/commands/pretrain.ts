import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import type { ClipConfig } from '../../../engine/clip/config.js';
import { initClipWeights } from '../../../engine/clip/init-weights.js';
import { saveClipWeights } from '../../../engine/clip/save-weights.js';
import { VetbenchError } from '../../../engine/errors.js';
import { resolveParams } from '../../../engine/methods/params.js';
import { parseTrainingExecutor } from '../../../engine/train/create-trainer.js';
import { Rng } from '../../../engine/util/rng.js';
import type { ModelSummary } from '../../api/contract.js';
import {
  CONTRASTIVE_METHOD,
  PRETRAIN_PARAMS,
  PRETRAIN_SCHEDULE_DEFAULTS,
} from '../../jobs/kinds/pretrain-job.js';
import { importModelInto } from '../../store/imports.js';
import type { ProjectStore } from '../../store/project-store.js';
import { followToDone, importDatasetArg, runArtifactPath, withJobHost } from '../run-job.js';

/** The demo model's configuration and schedule: the defaults of `vetbench pretrain`. */
export const PRETRAIN_DEFAULTS = {
  ...PRETRAIN_SCHEDULE_DEFAULTS,
  seed: 1,
  resolution: 32,
  patch: 8,
  visionWidth: 128,
  visionLayers: 4,
  textWidth: 64,
  textLayers: 4,
  contextLength: 32,
  embedDim: 64,
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
  project?: string;
}

/** The pretrain job's report.json (electron/jobs/kinds/pretrain-job.ts), as far as the CLI reads it. */
interface PretrainJobReport {
  weights: string;
  zero_shot_ca_test: number | null;
  resumed_from_step: number;
  [key: string]: unknown;
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

/** The architecture of a fresh model from the options, checked before anything is written. */
function freshConfig(opts: PretrainCliOptions): ClipConfig {
  const visionWidth = int(opts.visionWidth, '--vision-width');
  const textWidth = int(opts.textWidth, '--text-width');
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
  if (config.vision.imageResolution % config.vision.patchSize !== 0) {
    throw new VetbenchError(
      'bad-option',
      `--resolution ${config.vision.imageResolution} is not a multiple of --patch ${config.vision.patchSize}`,
      'Choose a patch size that divides the resolution.',
    );
  }
  return config;
}

/**
 * A fresh initialisation (seeded) stored in the project and listed as a model: a pretraining run starts
 * from its model, so training from scratch starts from this one. F32, no timestamp: the same architecture
 * and seed give the same file, stored once.
 */
async function importFreshModel(
  store: ProjectStore,
  config: ClipConfig,
  seed: number,
): Promise<ModelSummary> {
  const weights = initClipWeights(config, new Rng(seed));
  const folder = await mkdtemp(join(tmpdir(), 'vetbench-init-'));
  try {
    const file = join(folder, 'init.safetensors');
    await saveClipWeights(file, config, weights.tensors, {
      dtype: 'F32',
      metadata: { vetbench_init: JSON.stringify({ seed, config }) },
    });
    const data = await readFile(file);
    const sha = createHash('sha256').update(data).digest('hex');
    const artifact = await store.writeArtifact(
      null,
      'weights',
      `init-${sha.slice(0, 16)}.safetensors`,
      data,
      'application/octet-stream',
    );
    const v = config.vision;
    return await importModelInto(
      store,
      store.getArtifact(artifact.id).path,
      `fresh CLIP (ViT-${v.patchSize} @ ${v.imageResolution}px, ${v.width}x${v.layers}, seed ${seed})`,
    );
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
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
    .addOption(
      new Option('--checkpoint-dir <dir>', 'gone: checkpoints are kept in the project run').hideHelp(),
    )
    .addOption(
      new Option('--executor <name>', 'training-step executor').choices(['onnx', 'tfjs']).default('onnx'),
    )
    .addOption(new Option('--dtype <type>', 'stored weight type').choices(['f16', 'f32']).default('f16'))
    .option(
      '--project <file>',
      'project file the run is recorded in (default: default.vbproj in the user data folder)',
    )
    .addHelpText(
      'after',
      `
The run is a job of the project: loss per step and per epoch, a checkpoint (weights, AdamW and RNG state)
after every epoch, the weights as an artifact and a new model of the project. A killed or cancelled run
continues from its last epoch with \`vetbench resume <id>\` (same run id), which prints the paths of the
weights and report it stores instead of writing --out.`,
    )
    .action(async (opts: PretrainCliOptions) => {
      if (opts.checkpointDir !== undefined)
        throw new VetbenchError(
          'bad-option',
          '--checkpoint-dir is no longer used: checkpoints are kept with the run in the project',
          'Drop it; resume a killed or cancelled run with `vetbench resume <id>` (the id is printed at the start).',
        );
      // Everything is checked before the project is touched, so a typo fails at once.
      const seed = int(opts.seed, '--seed', 0);
      const config = opts.init === undefined ? freshConfig(opts) : null;
      const params = resolveParams(CONTRASTIVE_METHOD, PRETRAIN_PARAMS, {
        epochs: int(opts.epochs, '--epochs'),
        batchSize: int(opts.batchSize, '--batch-size'),
        lr: positive(opts.lr, '--lr'),
        warmup: int(opts.warmup, '--warmup', 0),
        weightDecay: positive(opts.weightDecay, '--weight-decay'),
        shift: int(opts.shift, '--shift', 0),
        dtype: opts.dtype,
      });
      const executor = parseTrainingExecutor(opts.executor, '--executor');
      await withJobHost(opts.project, { executor }, async (store, host) => {
        const dataset = await importDatasetArg(store, opts.dataset);
        const model = config
          ? await importFreshModel(store, config, seed)
          : await importModelInto(store, opts.init!);
        const queued = host.submit({
          kind: 'pretrain',
          method: CONTRASTIVE_METHOD,
          modelId: model.id,
          datasetId: dataset.id,
          seed,
          params,
        });
        console.error(`run ${queued.id} in ${store.path}`);
        const run = await followToDone(host, store, queued.id);
        // Same files as before the job host: the weights at --out and the report beside them.
        const job = JSON.parse(
          await readFile(runArtifactPath(store, run.id, 'report.json'), 'utf8'),
        ) as PretrainJobReport;
        await copyFile(runArtifactPath(store, run.id, 'weights.safetensors'), opts.out);
        const report = {
          ...job,
          weights: opts.out,
          run: { id: run.id, project: store.path, weights: job.weights },
          command: `vetbench ${process.argv.slice(2).join(' ')}`,
        };
        await writeFile(`${opts.out}.json`, `${JSON.stringify(report, null, 2)}\n`);
        console.log(`${opts.out}  (report: ${opts.out}.json)`);
      });
    });
}
