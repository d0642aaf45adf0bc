import { writeFile } from 'node:fs/promises';
import { createEncoder } from '../../../engine/clip/clip-encoder.js';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import { saveClipWeights } from '../../../engine/clip/save-weights.js';
import { importDataset } from '../../../engine/datasets/import-dataset.js';
import { evaluateBackdoor } from '../../../engine/eval/backdoor-eval.js';
import { resolveParams } from '../../../engine/methods/params.js';
import { ATTACKS, findAttack } from '../../../engine/methods/registry.js';
import { vetbenchVersion } from '../../../engine/paths.js';
import { saveTrigger } from '../../../engine/triggers/trigger-file.js';
import { classIndex } from '../../cli/cli-args.js';
import type { JobKind } from '../job-kind.js';
import { apiParamSpecs } from '../param-specs.js';
import { trainingProgress } from '../training-progress.js';
import { VetbenchError } from '../../../engine/errors.js';

/**
 * Poisoned fine-tuning (engine ATTACKS registry): writes the backdoored weights and the trigger as artifacts,
 * lists the weights as a model of the project, and measures CA/ASR before and after on the test split
 * (the same report `vetbench attack` writes).
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
    const result = await method.run(
      {
        weights,
        dataset,
        target,
        seed: spec.seed,
        ...(spec.executor ? { executor: spec.executor } : {}),
        checkpointDir: spec.checkpointDir,
        signal: context.signal,
        log: (line) => context.log(line),
        onProgress: trainingProgress(context),
      },
      params,
    );
    if (result.kind !== 'weights')
      throw new VetbenchError(
        'attack-output-unsupported',
        `${method.id} produces a ${result.kind} file, which the job host does not store yet`,
        'Run it with `vetbench attack` without --project for now.',
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
      poisoned_pairs: result.poisoned,
      train_pairs: result.trainPairs,
      created: new Date().toISOString(),
    };
    const weightsPath = await context.writeArtifact(
      'weights',
      'weights.safetensors',
      'application/octet-stream',
      (tmp) =>
        saveClipWeights(tmp, weights.config, result.tensors, {
          dtype: weights.source.dtypes.includes('F16') ? 'F16' : 'F32',
          metadata: { vetbench_provenance: JSON.stringify(provenance) },
        }),
    );
    const triggerPath = await context.writeArtifact(
      'trigger',
      'trigger.safetensors',
      'application/octet-stream',
      (tmp) => saveTrigger(tmp, result.trigger),
    );
    await context.registerModel(
      weightsPath,
      `${method.id} on ${dataset.classes[target]!.name} (run ${spec.runId})`,
    );

    // Clean and backdoored behaviour on the test split, as the analyst would check it.
    const stored = await loadClipWeights(weightsPath);
    const before = await createEncoder(weights);
    const after = await createEncoder(stored);
    const clean = await evaluateBackdoor(before, dataset, { trigger: result.trigger, target });
    const backdoored = await evaluateBackdoor(after, dataset, { trigger: result.trigger, target });
    await before.dispose();
    await after.dispose();
    const b = clean.metrics!;
    const m = backdoored.metrics!;
    for (const [key, value] of Object.entries({ ca: m.ca, asr: m.asr, asr_all: m.asr_all, pa: m.pa }))
      context.metric(key, 0, value);
    context.metric('ca_before', 0, b.ca);
    context.metric('asr_before', 0, b.asr);
    const report = {
      weights: weightsPath,
      fingerprint: stored.source.fingerprint,
      trigger: triggerPath,
      before: b,
      after: m,
      epoch_losses: result.epochLosses,
      wall_ms: result.wallMs,
      provenance,
    };
    await context.writeArtifact('report', 'report.json', 'application/json', (tmp) =>
      writeFile(tmp, `${JSON.stringify(report, null, 2)}\n`),
    );
    context.log(
      `clean model:      CA ${b.ca.toFixed(2)}%  ASR ${b.asr.toFixed(2)}%\n` +
        `backdoored model: CA ${m.ca.toFixed(2)}%  ASR ${m.asr.toFixed(2)}% (${Math.round((m.asr * m.n_poisoned) / 100)}/${m.n_poisoned})  asr_all ${m.asr_all.toFixed(2)}%  PA ${m.pa.toFixed(2)}%`,
    );
    return report;
  },
};
