import { writeFile } from 'node:fs/promises';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import { DEFAULT_TEMPLATE } from '../../../engine/clip/zero-shot.js';
import type { SplitName } from '../../../engine/datasets/dataset.js';
import { importDataset } from '../../../engine/datasets/import-dataset.js';
import { evaluateBackdoor } from '../../../engine/eval/backdoor-eval.js';
import { VetbenchError } from '../../../engine/errors.js';
import {
  loadLinearHead,
  requireSameClasses,
  type LinearHeadFile,
} from '../../../engine/defenses/baselines/linear-head-file.js';
import { linearHeadClassifier } from '../../../engine/eval/linear-head-classifier.js';
import { zeroShotClassifier, type ImageClassifier } from '../../../engine/eval/image-classifier.js';
import type { ClipEncoder } from '../../../engine/clip/clip-encoder.js';
import type { ForwardPrecision } from '../../../engine/clip/onnx-clip.js';
import { bool, num, resolveParams, str, type ParamSpecs } from '../../../engine/methods/params.js';
import { promptFileClassifier } from '../../../engine/prompts/prompt-classifier.js';
import { loadPromptFile, type PromptFile } from '../../../engine/prompts/prompt-file.js';
import { classIndex } from '../../../engine/datasets/class-index.js';
import type { JobKind } from '../job-kind.js';
import { jobEncoder } from '../job-encoder.js';
import { apiParamSpecs } from '../param-specs.js';
import { triggerOfJob } from './load-trigger.js';
import { PR_METHOD_ID, prMethodInfo, runPerturbationResistivity } from './pr-eval.js';

const EVAL_PARAMS: ParamSpecs = {
  split: { kind: 'enum', default: 'test', options: ['train', 'val', 'test'], help: 'split to evaluate' },
  template: {
    kind: 'string',
    default: DEFAULT_TEMPLATE,
    help: 'prompt template with {} for the class name; several: one per line (ignored with a prompt file)',
  },
  backend: {
    kind: 'enum',
    default: 'onnx',
    options: ['onnx', 'wasm', 'cpu'],
    help: 'inference executor',
  },
  head: {
    kind: 'enum',
    default: 'prompt-file',
    options: ['prompt-file', 'linear-head'],
    help: "how the run's file is read: a prompt file (defend rvpt, vpt) or a linear head (defend linear-probe)",
  },
  force: {
    kind: 'boolean',
    default: false,
    help: 'apply a prompt file or linear head made for another model fingerprint anyway',
  },
  precision: {
    kind: 'enum',
    default: 'fp32',
    options: ['fp32', 'int8'],
    help: 'int8: image tower with int8 weights and dynamic activation quantisation (onnx backend; faster on large splits); refused unless its top-1 agreement with fp32 on the first agreementImages images is >= 99.5%',
  },
  agreementImages: {
    kind: 'integer',
    default: 500,
    min: 50,
    max: 1000000,
    help: "with precision int8: how many of the run's own images are also classified in fp32 to measure the agreement",
  },
};

/** The least top-1 agreement with fp32 (percent) a reduced-precision evaluation must show to be used. */
export const MIN_PRECISION_AGREEMENT = 99.5;

/**
 * Backdoor evaluation (engine/eval/backdoor-eval.ts): clean accuracy, and with a trigger and target ASR,
 * asr_all and PA with their denominators; optionally through a prompt file (a hardened model). Perturbation
 * resistivity per block (METHODS 2.3, pr-eval.ts) is the other eval method: a metric of the same model and split.
 */
export const evalJob: JobKind = {
  kind: 'eval',
  methods: () => [
    {
      id: 'backdoor-eval',
      title: 'Clean accuracy and attack success',
      kind: 'eval',
      summary:
        'Zero-shot (or prompt-file) clean accuracy on a split; with a trigger and target class also ASR, asr_all and PA, with denominators.',
      paper: 'METHODS 2.3 (BackdoorBench metric set)',
      params: apiParamSpecs(EVAL_PARAMS),
      needsTarget: false,
      acceptsTrigger: true,
    },
    prMethodInfo,
  ],
  async run(context) {
    const { spec } = context;
    if (spec.method === PR_METHOD_ID) return runPerturbationResistivity(context);
    if (spec.method !== 'backdoor-eval')
      throw new VetbenchError(
        'method-unknown',
        `unknown eval method '${spec.method}'`,
        `Use backdoor-eval or ${PR_METHOD_ID}.`,
      );
    const params = resolveParams(spec.method, EVAL_PARAMS, spec.params);
    if ((spec.trigger === null) !== (spec.target === null))
      throw new VetbenchError(
        'bad-request',
        'a trigger and a target class go together',
        'Give both to measure ASR, or neither for clean accuracy only.',
      );
    context.progress({ epoch: 0, step: 0, total: 1, etaMs: 0 });
    const weights = await loadClipWeights(spec.modelPath);
    for (const w of weights.source.warnings) context.log(`warning: ${w}`, 'warn');
    const dataset = await importDataset(spec.datasetSource);
    const target = spec.target === null ? undefined : classIndex(dataset, spec.target);
    const resolution = weights.config.vision.imageResolution;
    const trigger = await triggerOfJob(spec, resolution);
    const force = bool(params, 'force');
    const warn = (message: string): void => context.log(`warning: ${message}`, 'warn');
    const readsHead = str(params, 'head') === 'linear-head';
    const prompts: PromptFile | null =
      spec.promptsPath && !readsHead
        ? await loadPromptFile(spec.promptsPath, {
            modelFingerprint: weights.source.fingerprint,
            force,
            config: weights.config,
            warn,
          })
        : null;
    const head: LinearHeadFile | null =
      spec.promptsPath && readsHead
        ? await loadLinearHead(spec.promptsPath, {
            modelFingerprint: weights.source.fingerprint,
            force,
            embedDim: weights.config.embedDim,
            warn,
          })
        : null;
    if (head)
      requireSameClasses(
        head,
        dataset.classes.map((c) => c.name),
      );
    const precision = str(params, 'precision') as ForwardPrecision;
    const backend = str(params, 'backend');
    if (precision !== 'fp32' && backend !== 'onnx')
      throw new VetbenchError(
        'param-invalid',
        `precision ${precision} runs on the onnx backend only, not ${backend}`,
        'Drop the backend choice (onnx is the default) or evaluate in fp32.',
      );
    const templates = str(params, 'template')
      .split('\n')
      .filter((t) => t.trim() !== '');
    const classifierOf = (enc: ClipEncoder): ImageClassifier => {
      const names = dataset.classes.map((c) => c.name);
      if (prompts) return promptFileClassifier(enc, prompts, names);
      if (head)
        return linearHeadClassifier(
          enc,
          head.header.classNames,
          head,
          `linear head from ${head.path} (${head.header.method.id})`,
        );
      return zeroShotClassifier(enc, names, { templates });
    };
    const encoder = await jobEncoder(context, weights, backend, 'model', precision);
    const reference =
      precision === 'fp32' ? null : await jobEncoder(context, weights, backend, 'fp32 reference');
    try {
      const agreementImages = num(params, 'agreementImages');
      const result = await evaluateBackdoor(encoder, dataset, {
        split: str(params, 'split') as SplitName,
        templates,
        classifier: classifierOf(encoder),
        ...(trigger ? { trigger, target: target! } : {}),
        ...(reference
          ? {
              agreementCheck: {
                reference: classifierOf(reference),
                images: agreementImages,
                minRate: MIN_PRECISION_AGREEMENT,
                label: precision,
              },
            }
          : {}),
      });
      if (result.agreement)
        context.log(
          `${precision}: top-1 agreement with fp32 ${result.agreement.rate.toFixed(2)}% on the first ${result.agreement.checked} images (>= ${MIN_PRECISION_AGREEMENT}% required)`,
        );
      const m = result.metrics;
      context.metric('ca', 0, result.ca);
      if (m)
        for (const [k, v] of Object.entries({ asr: m.asr, asr_all: m.asr_all, pa: m.pa }))
          context.metric(k, 0, v);
      const report = {
        ca: result.ca,
        ...(m ? { asr: m.asr, asr_all: m.asr_all, pa: m.pa } : {}),
        correct: result.perClass.reduce((a, c) => a + c.correct, 0),
        n_clean: result.n_clean,
        ...(m
          ? { n_poisoned: m.n_poisoned, n_triggered: m.n_triggered, target: dataset.classes[m.target]!.name }
          : {}),
        ...(trigger
          ? { trigger: { method: trigger.method, params: trigger.params, seed: trigger.seed } }
          : {}),
        split: result.split,
        templates: prompts ? prompts.header.templates : result.templates,
        ...(prompts
          ? {
              prompts: {
                path: prompts.path,
                kind: prompts.header.kind,
                method: prompts.header.method.id,
                file_sha256: prompts.fileSha256,
                trained_for: prompts.header.modelFingerprint,
              },
            }
          : {}),
        ...(head
          ? {
              linear_head: {
                path: head.path,
                method: head.header.method.id,
                trained_for: head.header.modelFingerprint,
              },
            }
          : {}),
        classifier: result.classifier,
        per_class: result.perClass,
        failed: result.failed,
        model: { path: weights.source.path, fingerprint: weights.source.fingerprint },
        dataset: { root: dataset.root, fingerprint: dataset.fingerprint },
        executor: encoder.executor,
        precision,
        ...(result.agreement ? { agreement_with_fp32: result.agreement } : {}),
      };
      await context.writeArtifact('json', 'evaluation.json', 'application/json', (tmp) =>
        writeFile(tmp, `${JSON.stringify(report, null, 2)}\n`),
      );
      context.progress({ epoch: 0, step: 1, total: 1, etaMs: 0 });
      return report;
    } finally {
      await encoder.dispose();
      await reference?.dispose();
    }
  },
};
