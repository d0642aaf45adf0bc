import { writeFile } from 'node:fs/promises';
import { createEncoder } from '../../../engine/clip/clip-encoder.js';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import { saveClipWeights } from '../../../engine/clip/save-weights.js';
import { ClipTokenizer } from '../../../engine/clip/tokenizer.js';
import { importDataset } from '../../../engine/datasets/import-dataset.js';
import { VetbenchError } from '../../../engine/errors.js';
import { requireSplit } from '../../../engine/eval/require-split.js';
import { evaluateZeroShot } from '../../../engine/eval/zero-shot-eval.js';
import { num, resolveParams, str, type ParamSpecs } from '../../../engine/methods/params.js';
import { vetbenchVersion } from '../../../engine/paths.js';
import { DatasetPairs } from '../../../engine/train/dataset-pairs.js';
import { pretrainClip } from '../../../engine/train/pretrain.js';
import type { JobKind } from '../job-kind.js';
import { apiParamSpecs } from '../param-specs.js';

/** The one pretraining method: CLIP's symmetric contrastive loss over every weight. */
export const CONTRASTIVE_METHOD = 'contrastive';

/** The demo model's schedule (models/demo/MODEL-CARD.md): the defaults of the job and of `vetbench pretrain`. */
export const PRETRAIN_SCHEDULE_DEFAULTS = {
  epochs: 30,
  batchSize: 64,
  lr: 1e-3,
  warmup: 100,
  weightDecay: 0.1,
  shift: 2,
} as const;

const d = PRETRAIN_SCHEDULE_DEFAULTS;

/**
 * The schedule of a pretraining run, with the demo model's defaults. The
 * run's model is the starting point (a fresh initialisation for `vetbench pretrain` without --init) and
 * its seed drives shuffling and augmentation.
 */
export const PRETRAIN_PARAMS: ParamSpecs = {
  epochs: { kind: 'integer', default: d.epochs, min: 1, max: 100_000, help: 'passes over the train split' },
  batchSize: {
    kind: 'integer',
    default: d.batchSize,
    min: 2,
    max: 65_536,
    help: 'image-caption pairs per step (the last partial batch of an epoch is dropped)',
  },
  lr: { kind: 'number', default: d.lr, min: 0, max: 10, help: 'peak learning rate (AdamW)' },
  warmup: {
    kind: 'integer',
    default: d.warmup,
    min: 0,
    max: 10_000_000,
    unit: 'steps',
    help: 'linear warm-up steps before the cosine decay',
  },
  weightDecay: {
    kind: 'number',
    default: d.weightDecay,
    min: 0,
    max: 10,
    help: 'AdamW weight decay (not on norms, biases, logit scale)',
  },
  shift: {
    kind: 'integer',
    default: d.shift,
    min: 0,
    max: 1024,
    unit: 'px',
    help: 'random translation augmentation (0 = none)',
  },
  dtype: { kind: 'enum', default: 'f16', options: ['f16', 'f32'], help: 'stored weight type' },
};

/**
 * Contrastive pretraining (or fine-tuning) of a whole CLIP on image-caption pairs of the train split
 * (`vetbench pretrain`). Series: `loss` per step, `epoch_loss` per epoch (step = epoch number), `ca` (zero-shot
 * accuracy of the stored weights on the test split, when there is one). A checkpoint (weights, AdamW state,
 * RNG state) after every epoch; a resumed run continues from it. The weights are an artifact and a new
 * model of the project.
 */
export const pretrainJob: JobKind = {
  kind: 'pretrain',
  methods: () => [
    {
      id: CONTRASTIVE_METHOD,
      title: 'Contrastive pretraining',
      kind: 'pretrain' as const,
      summary:
        "trains every weight of the model with CLIP's symmetric contrastive loss on the dataset's image-caption pairs (captions from the manifest, else class-name templates)",
      paper:
        'Radford et al., Learning Transferable Visual Models From Natural Language Supervision, ICML 2021',
      params: apiParamSpecs(PRETRAIN_PARAMS),
      needsTarget: false,
      acceptsTrigger: false,
    },
  ],
  async run(context) {
    const { spec } = context;
    const params = resolveParams(spec.method, PRETRAIN_PARAMS, spec.params);
    if (spec.trigger !== null || spec.target !== null || spec.promptsPath !== null)
      throw new VetbenchError(
        'bad-request',
        'pretraining takes no trigger, target class or prompt file',
        'Start the run with a model and a dataset only.',
      );
    const initial = await loadClipWeights(spec.modelPath);
    for (const w of initial.source.warnings) context.log(`warning: ${w}`, 'warn');
    const config = initial.config;
    const dataset = await importDataset(spec.datasetSource);
    const trainItems = requireSplit(dataset, 'train');
    const shift = num(params, 'shift');
    const pairs = new DatasetPairs(dataset, trainItems, config.vision.imageResolution, shift);
    const options = {
      epochs: num(params, 'epochs'),
      batchSize: num(params, 'batchSize'),
      lr: num(params, 'lr'),
      warmupSteps: num(params, 'warmup'),
      weightDecay: num(params, 'weightDecay'),
      seed: spec.seed,
      ...(spec.executor ? { executor: spec.executor } : {}),
    };
    context.log(
      `Pretraining on ${trainItems.length} pairs of ${dataset.root}: ${options.epochs} epochs x ${Math.floor(trainItems.length / options.batchSize)} steps, batch ${options.batchSize}`,
    );
    const result = await pretrainClip(initial, pairs, ClipTokenizer.default(), {
      ...options,
      checkpointDir: spec.checkpointDir,
      signal: context.signal,
      onProgress: (p) => {
        context.metric('loss', p.step, p.loss);
        context.progress({ epoch: p.epoch, step: p.step, total: p.totalSteps, etaMs: p.etaMs, loss: p.loss });
      },
      onCheckpoint: (c) => context.checkpoint(c.step),
      onEpoch: ({ epoch, meanLoss }) => context.metric('epoch_loss', epoch + 1, meanLoss),
    });
    if (result.resumedFromStep > 0)
      context.log(`resumed from the checkpoint at step ${result.resumedFromStep}`);
    // Epochs of earlier attempts come from the checkpoint: the series is whole whatever the host recorded.
    result.epochLosses.forEach((loss, i) => context.metric('epoch_loss', i + 1, loss));
    for (const [path, reason] of pairs.failed) context.log(`skipped ${path}: ${reason}`, 'warn');
    const provenance = {
      tool: `vetbench ${vetbenchVersion()}`,
      run: String(spec.runId),
      init: initial.source.fingerprint,
      dataset: dataset.root,
      dataset_fingerprint: dataset.fingerprint,
      train_pairs: String(trainItems.length),
      options: JSON.stringify({ ...options, shift }),
      epoch_losses: JSON.stringify(result.epochLosses.map((x) => Number(x.toFixed(5)))),
      created: new Date().toISOString(),
    };
    const weightsPath = await context.writeArtifact(
      'weights',
      'weights.safetensors',
      'application/octet-stream',
      (tmp) =>
        saveClipWeights(tmp, config, result.tensors, {
          dtype: str(params, 'dtype') === 'f16' ? 'F16' : 'F32',
          metadata: { vetbench_provenance: JSON.stringify(provenance) },
        }),
    );
    await context.registerModel(weightsPath, `pretrained (run ${spec.runId})`);
    // Zero-shot CA of the stored weights (as a user will load them), when the dataset has a test split.
    const stored = await loadClipWeights(weightsPath);
    let ca: number | null = null;
    if (dataset.items.some((i) => i.split === 'test')) {
      const encoder = await createEncoder(stored);
      try {
        const acc = await evaluateZeroShot(encoder, dataset, { split: 'test' });
        ca = acc.ca;
        context.log(`zero-shot CA on the test split: ${acc.ca.toFixed(2)}% (${acc.correct}/${acc.n})`);
      } finally {
        await encoder.dispose();
      }
      context.metric('ca', 0, ca);
    }
    const report = {
      weights: weightsPath,
      fingerprint: stored.source.fingerprint,
      config,
      steps: result.steps,
      resumed_from_step: result.resumedFromStep,
      wall_ms: result.wallMs,
      epoch_losses: result.epochLosses,
      zero_shot_ca_test: ca,
      provenance,
    };
    await context.writeArtifact('report', 'report.json', 'application/json', (tmp) =>
      writeFile(tmp, `${JSON.stringify(report, null, 2)}\n`),
    );
    return report;
  },
};
