import { writeFile } from 'node:fs/promises';
import type { PromptAttackResult, WeightsAttackResult } from '../../../engine/attacks/attack.js';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import { saveClipWeights } from '../../../engine/clip/save-weights.js';
import type { ClipWeights } from '../../../engine/clip/weights.js';
import type { Dataset } from '../../../engine/datasets/dataset.js';
import { importDataset } from '../../../engine/datasets/import-dataset.js';
import { evaluateBackdoor } from '../../../engine/eval/backdoor-eval.js';
import type { BackdoorMetrics } from '../../../engine/metrics/backdoor-metrics.js';
import { resolveParams, type ParamValues } from '../../../engine/methods/params.js';
import { ATTACKS, findAttack } from '../../../engine/methods/registry.js';
import { vetbenchVersion } from '../../../engine/paths.js';
import { cocoopClassifier } from '../../../engine/prompts/cocoop-classifier.js';
import { savePromptFile } from '../../../engine/prompts/prompt-file.js';
import { imageKeyOnly, textKeyOnly } from '../../../engine/triggers/dual-key.js';
import { saveTrigger } from '../../../engine/triggers/trigger-file.js';
import { classIndex } from '../../../engine/datasets/class-index.js';
import { jobEncoder } from '../job-encoder.js';
import type { JobContext, JobKind } from '../job-kind.js';
import { apiParamSpecs } from '../param-specs.js';
import { trainingCallbacks } from '../training-progress.js';

/** The report of an attack run (report.json), as `vetbench attack` writes it beside --out. */
export interface AttackReport {
  readonly before: BackdoorMetrics;
  readonly after: BackdoorMetrics;
  /** Dual-key triggers: ASR of the backdoored model with one key only. */
  readonly image_key_only?: BackdoorMetrics;
  readonly text_key_only?: BackdoorMetrics;
  readonly [key: string]: unknown;
}

/** Writes the backdoored weights (an artifact, listed as a model) and measures clean vs backdoored. */
async function storeBackdooredWeights(
  context: JobContext,
  weights: ClipWeights,
  dataset: Dataset,
  target: number,
  result: WeightsAttackResult,
  provenance: Record<string, unknown>,
): Promise<AttackReport> {
  const path = await context.writeArtifact(
    'weights',
    'weights.safetensors',
    'application/octet-stream',
    (tmp) =>
      saveClipWeights(tmp, weights.config, result.tensors, {
        dtype: weights.source.dtypes.includes('F16') ? 'F16' : 'F32',
        metadata: { vetbench_provenance: JSON.stringify(provenance) },
      }),
  );
  await context.registerModel(
    path,
    `${String(provenance.attack)} on ${String(provenance.target)} (run ${context.spec.runId})`,
  );
  // Clean and backdoored behaviour on the test split, as the analyst would check it.
  const stored = await loadClipWeights(path);
  const before = await jobEncoder(context, weights, undefined, 'clean model');
  const after = await jobEncoder(context, stored, undefined, 'attacked model');
  try {
    const trigger = result.trigger;
    const clean = await evaluateBackdoor(before, dataset, { trigger, target });
    const backdoored = await evaluateBackdoor(after, dataset, { trigger, target });
    const partial = trigger.textKey
      ? {
          image_key_only: (await evaluateBackdoor(after, dataset, { trigger: imageKeyOnly(trigger), target }))
            .metrics!,
          text_key_only: (await evaluateBackdoor(after, dataset, { trigger: textKeyOnly(trigger), target }))
            .metrics!,
        }
      : {};
    return {
      weights: path,
      fingerprint: stored.source.fingerprint,
      before: clean.metrics!,
      after: backdoored.metrics!,
      ...partial,
    };
  } finally {
    await before.dispose();
    await after.dispose();
  }
}

/** Measures the malicious prompts against zero-shot, then writes the prompt file (metrics in its header). */
async function storeMaliciousPrompts(
  context: JobContext,
  weights: ClipWeights,
  dataset: Dataset,
  target: number,
  result: PromptAttackResult,
  provenance: Record<string, unknown>,
  methodId: string,
): Promise<AttackReport> {
  const encoder = await jobEncoder(context, weights);
  try {
    const names = dataset.classes.map((c) => c.name);
    const trigger = result.trigger;
    const zeroShot = await evaluateBackdoor(encoder, dataset, { trigger, target });
    const classifier = cocoopClassifier(
      encoder,
      names,
      result.tensors,
      `malicious ${result.promptKind} prompts`,
    );
    const prompted = await evaluateBackdoor(encoder, dataset, { trigger, target, classifier });
    const m = prompted.metrics!;
    let payloadSha256 = '';
    const path = await context.writeArtifact(
      'prompt',
      'prompts.safetensors',
      'application/octet-stream',
      async (tmp) => {
        const header = await savePromptFile(tmp, {
          kind: result.promptKind,
          modelFingerprint: weights.source.fingerprint,
          classNames: names,
          templates: result.templates,
          method: { id: methodId, params: provenance.params as ParamValues, seed: provenance.seed as number },
          metrics: {
            ca: m.ca,
            asr: m.asr,
            asr_all: m.asr_all,
            pa: m.pa,
            n_clean: m.n_clean,
            n_poisoned: m.n_poisoned,
          },
          tensors: result.tensors,
        });
        payloadSha256 = header.payloadSha256;
      },
    );
    return { prompts: path, payload_sha256: payloadSha256, before: zeroShot.metrics!, after: m };
  } finally {
    await encoder.dispose();
  }
}

/**
 * Attacks (engine ATTACKS registry): poisoned fine-tuning writes backdoored weights (listed as a model of the
 * project), prompt attacks write a malicious prompt file; both write the trigger and report.json with CA/ASR
 * before and after on the test split. `vetbench attack` copies these to its --out paths.
 */
export const attackJob: JobKind = {
  kind: 'attack',
  methods: () =>
    ATTACKS.map((a) => ({
      id: a.id,
      title: a.title,
      kind: 'attack' as const,
      summary: a.summary,
      paper: a.paper,
      params: apiParamSpecs(a.params),
      needsTarget: true,
      acceptsTrigger: false,
    })),
  async run(context) {
    const { spec } = context;
    const method = findAttack(spec.method);
    const params = resolveParams(method.id, method.params, spec.params);
    const weights = await loadClipWeights(spec.modelPath);
    const dataset = await importDataset(spec.datasetSource);
    const target = classIndex(dataset, spec.target ?? '');
    const pairs = spec.pairsDatasetSource ? await importDataset(spec.pairsDatasetSource) : null;
    const result = await method.run(
      {
        weights,
        dataset,
        ...(pairs ? { pairs } : {}),
        target,
        seed: spec.seed,
        ...(spec.executor ? { executor: spec.executor } : {}),
        checkpointDir: spec.checkpointDir,
        signal: context.signal,
        log: (line) => context.log(line),
        ...trainingCallbacks(context),
      },
      params,
    );
    result.epochLosses.forEach((loss, epoch) => context.metric('epoch_loss', epoch + 1, loss));
    const provenance = {
      tool: `vetbench ${vetbenchVersion()}`,
      run: spec.runId,
      attack: method.id,
      params,
      seed: spec.seed,
      target: dataset.classes[target]!.name,
      base_model_fingerprint: weights.source.fingerprint,
      dataset_fingerprint: dataset.fingerprint,
      ...(pairs ? { poisoned_corpus: pairs.root, poisoned_corpus_fingerprint: pairs.fingerprint } : {}),
      ...(result.kind === 'weights'
        ? { poisoned_pairs: result.poisoned, train_pairs: result.trainPairs }
        : { train_images: result.trainImages }),
      created: new Date().toISOString(),
    };
    const report =
      result.kind === 'weights'
        ? await storeBackdooredWeights(context, weights, dataset, target, result, provenance)
        : await storeMaliciousPrompts(context, weights, dataset, target, result, provenance, method.id);
    const triggerPath = await context.writeArtifact(
      'trigger',
      'trigger.safetensors',
      'application/octet-stream',
      (tmp) => saveTrigger(tmp, result.trigger),
    );
    const b = report.before;
    const m = report.after;
    for (const [key, value] of Object.entries({
      ca: m.ca,
      asr: m.asr,
      asr_all: m.asr_all,
      pa: m.pa,
      ca_before: b.ca,
      asr_before: b.asr,
    }))
      context.metric(key, 0, value);
    const full = {
      ...report,
      trigger: triggerPath,
      epoch_losses: result.epochLosses,
      wall_ms: result.wallMs,
      ...(result.details ? { details: result.details } : {}),
      provenance,
    };
    await context.writeArtifact('report', 'report.json', 'application/json', (tmp) =>
      writeFile(tmp, `${JSON.stringify(full, null, 2)}\n`),
    );
    context.log(
      `clean model:      CA ${b.ca.toFixed(2)}%  ASR ${b.asr.toFixed(2)}%\n` +
        `${result.kind === 'weights' ? 'backdoored model' : 'malicious prompts'}: CA ${m.ca.toFixed(2)}%  ASR ${m.asr.toFixed(2)}% (${Math.round((m.asr * m.n_poisoned) / 100)}/${m.n_poisoned})  asr_all ${m.asr_all.toFixed(2)}%  PA ${m.pa.toFixed(2)}%` +
        (report.image_key_only && report.text_key_only
          ? `\n  image key only: ASR ${report.image_key_only.asr.toFixed(2)}%; text key only: ASR ${report.text_key_only.asr.toFixed(2)}%`
          : ''),
    );
    return full;
  },
};
