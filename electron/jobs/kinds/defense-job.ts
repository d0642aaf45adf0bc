import { writeFile } from 'node:fs/promises';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import { importDataset } from '../../../engine/datasets/import-dataset.js';
import {
  measureBaselineOutput,
  saveBaselineOutput,
} from '../../../engine/defenses/baselines/baseline-output.js';
import {
  exportMetrics,
  measurePromptDefense,
  type DefenseMeasurement,
} from '../../../engine/defenses/prompt-tuning-eval.js';
import { num, resolveParams, type ParamSpecs } from '../../../engine/methods/params.js';
import { DEFENSES, findDefense } from '../../../engine/methods/registry.js';
import { savePromptFile } from '../../../engine/prompts/prompt-file.js';
import { classIndex } from '../../../engine/datasets/class-index.js';
import { jobEncoder } from '../job-encoder.js';
import type { JobKind } from '../job-kind.js';
import { apiParamSpecs } from '../param-specs.js';
import { trainingCallbacks } from '../training-progress.js';
import { triggerOfJob } from './load-trigger.js';

/** Clean images per class the defense trains on; a job parameter beside the method's own. */
const SHOTS: ParamSpecs = {
  shots: {
    kind: 'integer',
    default: 16,
    min: 1,
    max: 10000,
    help: 'clean images per class from the train split',
  },
};

/**
 * Defenses (engine DEFENSES registry, `vetbench defend`): hardened prompts, defended weights or a linear head
 * as an artifact, measured before/after on the test split (with the run's trigger and target: ASR, PA, DER).
 */
export const defenseJob: JobKind = {
  kind: 'defense',
  methods: () =>
    DEFENSES.map((d) => ({
      id: d.id,
      title: d.title,
      kind: 'defense' as const,
      summary: d.summary,
      paper: d.paper,
      params: apiParamSpecs({ ...SHOTS, ...d.params }),
      needsTarget: false,
      acceptsTrigger: true,
    })),
  async run(context) {
    const { spec } = context;
    const method = findDefense(spec.method);
    const { shots: shotsValue, ...own } = spec.params;
    const shots = num(
      resolveParams(method.id, SHOTS, { shots: shotsValue ?? SHOTS.shots!.default }),
      'shots',
    );
    const params = resolveParams(method.id, method.params, own);
    const weights = await loadClipWeights(spec.modelPath);
    for (const w of weights.source.warnings) context.log(`warning: ${w}`, 'warn');
    const dataset = await importDataset(spec.datasetSource);
    const target = spec.target === null ? undefined : classIndex(dataset, spec.target);
    const trigger = await triggerOfJob(spec, weights.config.vision.imageResolution);
    const featureCache = context.featureCache?.() ?? null;
    const result = await method.run(
      {
        weights,
        dataset,
        shots,
        seed: spec.seed,
        ...(featureCache ? { featureCache } : {}),
        ...(target !== undefined ? { excludeClass: target } : {}),
        ...(spec.executor ? { executor: spec.executor } : {}),
        checkpointDir: spec.checkpointDir,
        signal: context.signal,
        log: (line) => context.log(line),
        ...trainingCallbacks(context),
        onMetric: (series, step, value) => context.metric(series, step, value),
      },
      params,
    );
    const output = result.output;
    const measure = trigger && target !== undefined ? { trigger, target } : {};
    let measured: DefenseMeasurement;
    let outputPath: string;
    let payloadSha256: string | null = null;
    if (output.kind === 'prompts') {
      const encoder = await jobEncoder(context, weights);
      try {
        measured = await measurePromptDefense(encoder, dataset, output.file, measure);
      } finally {
        await encoder.dispose();
      }
      outputPath = await context.writeArtifact(
        'prompt',
        'prompts.safetensors',
        'application/octet-stream',
        async (tmp) => {
          const header = await savePromptFile(tmp, { ...output.file, metrics: exportMetrics(measured) });
          payloadSha256 = header.payloadSha256;
        },
      );
    } else {
      measured = await measureBaselineOutput(weights, dataset, output, measure);
      outputPath = await context.writeArtifact(
        output.kind === 'weights' ? 'weights' : 'other',
        output.kind === 'weights' ? 'defended.safetensors' : 'linear-head.safetensors',
        'application/octet-stream',
        (tmp) =>
          saveBaselineOutput(tmp, weights, output, {
            method: method.id,
            params,
            seed: spec.seed,
            shots,
            dataset,
            metrics: exportMetrics(measured),
            command: `run ${spec.runId}`,
          }),
      );
      if (output.kind === 'weights')
        await context.registerModel(outputPath, `${method.id} (run ${spec.runId})`);
    }
    const metrics = exportMetrics(measured);
    for (const [key, value] of Object.entries(metrics))
      if (!key.startsWith('n_')) context.metric(key, 0, value);
    const report = {
      output: output.kind,
      // what the prompt file holds (visual-deep, class-wise ...): the Explain screen offers only deep visual ones
      ...(output.kind === 'prompts' ? { prompt_kind: output.file.kind } : {}),
      file: outputPath,
      method: method.id,
      params,
      seed: spec.seed,
      shots,
      train_images: result.trainImages,
      model: { path: weights.source.path, fingerprint: weights.source.fingerprint },
      dataset: { root: dataset.root, fingerprint: dataset.fingerprint },
      ...(trigger ? { trigger: { method: trigger.method, params: trigger.params, seed: trigger.seed } } : {}),
      ...(target !== undefined ? { target: dataset.classes[target]!.name } : {}),
      before: {
        ca: measured.before.ca,
        n_clean: measured.before.n_clean,
        ...(measured.before.metrics ?? {}),
      },
      after: { ca: measured.after.ca, n_clean: measured.after.n_clean, ...(measured.after.metrics ?? {}) },
      der: measured.der,
      epoch_metrics: result.epochMetrics,
      wall_ms: result.wallMs,
      ...(payloadSha256 ? { payload_sha256: payloadSha256 } : {}),
    };
    await context.writeArtifact('report', 'report.json', 'application/json', (tmp) =>
      writeFile(tmp, `${JSON.stringify(report, null, 2)}\n`),
    );
    return report;
  },
};
