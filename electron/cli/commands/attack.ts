import { rm, writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { createEncoder } from '../../../engine/clip/clip-encoder.js';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import { resolveModelPath } from '../../../engine/clip/resolve-model.js';
import { saveClipWeights } from '../../../engine/clip/save-weights.js';
import { evaluateBackdoor } from '../../../engine/eval/backdoor-eval.js';
import { parseParamPairs, resolveParams } from '../../../engine/methods/params.js';
import { findAttack } from '../../../engine/methods/registry.js';
import { vetbenchVersion } from '../../../engine/paths.js';
import { parseTrainingExecutor } from '../../../engine/train/create-trainer.js';
import { saveTrigger } from '../../../engine/triggers/trigger-file.js';
import type { PromptAttackResult, WeightsAttackResult } from '../../../engine/attacks/attack.js';
import type { ClipWeights } from '../../../engine/clip/weights.js';
import type { Dataset } from '../../../engine/datasets/dataset.js';
import type { BackdoorMetrics } from '../../../engine/metrics/backdoor-metrics.js';
import type { ParamValues } from '../../../engine/methods/params.js';
import { cocoopClassifier } from '../../../engine/prompts/cocoop-classifier.js';
import { savePromptFile } from '../../../engine/prompts/prompt-file.js';
import { imageKeyOnly, textKeyOnly } from '../../../engine/triggers/dual-key.js';
import { classIndex, collect, seedOption } from '../cli-args.js';
import { formatDuration, openDataset } from '../open-dataset.js';

interface AttackCliOptions {
  model: string;
  dataset: string;
  target: string;
  seed?: string;
  param?: string[];
  out: string;
  executor: string;
}

export function triggerPathFor(weightsPath: string): string {
  return `${weightsPath.replace(/\.safetensors$/, '')}.trigger.safetensors`;
}

export function registerAttack(program: Command): void {
  program
    .command('attack')
    .description(
      'implant a backdoor (red team): poisoned fine-tuning of a CLIP (writes the weights) or a malicious prompt learner (writes the prompt file), plus the trigger and a report',
    )
    .argument('<method>', 'attack id (vetbench methods)')
    .requiredOption('--model <weights|demo>', 'the clean CLIP to backdoor')
    .requiredOption(
      '--dataset <root|demo>',
      'training data (the train split is poisoned) and test split for the report',
    )
    .requiredOption('--target <class>', 'target class name')
    .option('--seed <n>', 'seed of the trigger, the poisoned subset and training', '1')
    .option('--param <key=value>', 'method parameter (repeatable)', collect, [])
    .requiredOption(
      '--out <file>',
      'backdoored weights, or the prompt file of a prompt attack (.safetensors); the trigger goes beside it',
    )
    .addOption(
      new Option('--executor <name>', 'training-step executor').choices(['onnx', 'tfjs']).default('onnx'),
    )
    .action(async (methodId: string, opts: AttackCliOptions) => {
      const method = findAttack(methodId);
      const params = resolveParams(method.id, method.params, parseParamPairs(opts.param ?? []));
      const seed = seedOption(opts.seed, 1);
      const weights = await loadClipWeights(resolveModelPath(opts.model));
      const dataset = await openDataset(opts.dataset);
      const target = classIndex(dataset, opts.target);
      let last = 0;
      const result = await method.run(
        {
          weights,
          dataset,
          target,
          seed,
          executor: parseTrainingExecutor(opts.executor, '--executor'),
          checkpointDir: `${opts.out}.checkpoint`,
          log: (line) => console.error(line),
          onProgress: (p) => {
            if (Date.now() - last < 2000 && p.step !== p.totalSteps) return;
            last = Date.now();
            console.error(
              `epoch ${p.epoch + 1}  step ${p.step}/${p.totalSteps}  loss ${p.loss.toFixed(4)}  ETA ${formatDuration(p.etaMs)}`,
            );
          },
        },
        params,
      );
      const provenance = {
        tool: `vetbench ${vetbenchVersion()}`,
        command: `vetbench ${process.argv.slice(2).join(' ')}`,
        attack: method.id,
        params,
        seed,
        target: dataset.classes[target]!.name,
        base_model_fingerprint: weights.source.fingerprint,
        dataset_fingerprint: dataset.fingerprint,
        ...(result.kind === 'weights'
          ? { poisoned_pairs: result.poisoned, train_pairs: result.trainPairs }
          : { train_images: result.trainImages }),
        created: new Date().toISOString(),
      };
      const triggerPath = triggerPathFor(opts.out);
      const report =
        result.kind === 'weights'
          ? await storeBackdooredWeights(opts.out, weights, dataset, target, result, provenance)
          : await storeMaliciousPrompts(opts.out, weights, dataset, target, result, provenance, method.id);
      await saveTrigger(triggerPath, result.trigger);
      await rm(`${opts.out}.checkpoint`, { recursive: true, force: true }); // stored: no resume needed
      await writeFile(
        `${opts.out}.json`,
        `${JSON.stringify({ ...report, trigger: triggerPath, epoch_losses: result.epochLosses, wall_ms: result.wallMs, ...(result.details ? { details: result.details } : {}), provenance }, null, 2)}\n`,
      );
      const m = report.after;
      const b = report.before;
      console.error(
        `clean model:      CA ${b.ca.toFixed(2)}%  ASR ${b.asr.toFixed(2)}%\n` +
          `${result.kind === 'weights' ? 'backdoored model' : 'malicious prompts'}: CA ${m.ca.toFixed(2)}%  ASR ${m.asr.toFixed(2)}% (${Math.round((m.asr * m.n_poisoned) / 100)}/${m.n_poisoned})  asr_all ${m.asr_all.toFixed(2)}%  PA ${m.pa.toFixed(2)}%` +
          (report.image_key_only && report.text_key_only
            ? `\n  image key only: ASR ${report.image_key_only.asr.toFixed(2)}%; text key only: ASR ${report.text_key_only.asr.toFixed(2)}%`
            : ''),
      );
      console.log(`${opts.out}\n${triggerPath}\n${opts.out}.json`);
    });
}

interface AttackReport {
  readonly before: BackdoorMetrics;
  readonly after: BackdoorMetrics;
  /** Dual-key triggers: ASR of the backdoored model with one key only. */
  readonly image_key_only?: BackdoorMetrics;
  readonly text_key_only?: BackdoorMetrics;
  readonly [key: string]: unknown;
}

/** Saves the backdoored weights with provenance and measures the clean and backdoored models on the test split. */
async function storeBackdooredWeights(
  out: string,
  weights: ClipWeights,
  dataset: Dataset,
  target: number,
  result: WeightsAttackResult,
  provenance: Record<string, unknown>,
): Promise<AttackReport> {
  await saveClipWeights(out, weights.config, result.tensors, {
    dtype: weights.source.dtypes.includes('F16') ? 'F16' : 'F32',
    metadata: { vetbench_provenance: JSON.stringify(provenance) },
  });
  // Report clean and backdoored behaviour on the test split, as the analyst would check it.
  const stored = await loadClipWeights(out);
  const before = await createEncoder(weights);
  const after = await createEncoder(stored);
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
      weights: out,
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
  out: string,
  weights: ClipWeights,
  dataset: Dataset,
  target: number,
  result: PromptAttackResult,
  provenance: Record<string, unknown>,
  methodId: string,
): Promise<AttackReport> {
  const encoder = await createEncoder(weights);
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
    const header = await savePromptFile(out, {
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
    return {
      prompts: out,
      payload_sha256: header.payloadSha256,
      before: zeroShot.metrics!,
      after: m,
    };
  } finally {
    await encoder.dispose();
  }
}
