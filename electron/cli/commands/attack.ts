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
      'implant a backdoor (red team): poisoned fine-tuning of a CLIP; writes the weights, the trigger and a report',
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
    .requiredOption('--out <file>', 'backdoored weights (.safetensors); the trigger goes beside it')
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
        poisoned_pairs: result.poisoned,
        train_pairs: result.trainPairs,
        created: new Date().toISOString(),
      };
      await saveClipWeights(opts.out, weights.config, result.tensors, {
        dtype: weights.source.dtypes.includes('F16') ? 'F16' : 'F32',
        metadata: { vetbench_provenance: JSON.stringify(provenance) },
      });
      const triggerPath = triggerPathFor(opts.out);
      await saveTrigger(triggerPath, result.trigger);
      await rm(`${opts.out}.checkpoint`, { recursive: true, force: true }); // stored: no resume needed

      // Report clean and backdoored behaviour on the test split, as the analyst would check it.
      const stored = await loadClipWeights(opts.out);
      const before = await createEncoder(weights);
      const after = await createEncoder(stored);
      const clean = await evaluateBackdoor(before, dataset, { trigger: result.trigger, target });
      const backdoored = await evaluateBackdoor(after, dataset, { trigger: result.trigger, target });
      await before.dispose();
      await after.dispose();
      const report = {
        weights: opts.out,
        fingerprint: stored.source.fingerprint,
        trigger: triggerPath,
        before: clean.metrics,
        after: backdoored.metrics,
        epoch_losses: result.epochLosses,
        wall_ms: result.wallMs,
        provenance,
      };
      await writeFile(`${opts.out}.json`, `${JSON.stringify(report, null, 2)}\n`);
      const m = backdoored.metrics!;
      const b = clean.metrics!;
      console.error(
        `clean model:      CA ${b.ca.toFixed(2)}%  ASR ${b.asr.toFixed(2)}%\n` +
          `backdoored model: CA ${m.ca.toFixed(2)}%  ASR ${m.asr.toFixed(2)}% (${Math.round((m.asr * m.n_poisoned) / 100)}/${m.n_poisoned})  asr_all ${m.asr_all.toFixed(2)}%  PA ${m.pa.toFixed(2)}%`,
      );
      console.log(`${opts.out}\n${triggerPath}\n${opts.out}.json`);
    });
}
