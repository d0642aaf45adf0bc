import { rm, writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { createEncoder } from '../../../engine/clip/clip-encoder.js';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import { resolveModelPath } from '../../../engine/clip/resolve-model.js';
import type { DefenseResult } from '../../../engine/defenses/defense.js';
import {
  exportMetrics,
  measurePromptDefense,
  type DefenseMeasurement,
} from '../../../engine/defenses/prompt-tuning-eval.js';
import { VetbenchError } from '../../../engine/errors.js';
import { parseParamPairs, resolveParams } from '../../../engine/methods/params.js';
import { findDefense } from '../../../engine/methods/registry.js';
import {
  measureBaselineOutput,
  saveBaselineOutput,
} from '../../../engine/defenses/baselines/baseline-output.js';
import { savePromptFile } from '../../../engine/prompts/prompt-file.js';
import { parseTrainingExecutor } from '../../../engine/train/create-trainer.js';
import { classIndex, collect, seedOption, triggerFromArgs } from '../cli-args.js';
import { formatDuration, openDataset } from '../open-dataset.js';
import { emit } from '../output.js';

interface DefendCliOptions {
  model: string;
  dataset: string;
  shots: string;
  seed?: string;
  param?: string[];
  trigger?: string;
  target?: string;
  out: string;
  executor: string;
  json?: boolean;
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new VetbenchError(
      'bad-option',
      `${flag} must be a positive integer, got '${value}'`,
      `Pass e.g. ${flag} 16.`,
    );
  return n;
}

function pct(v: number | undefined): string {
  return v === undefined || Number.isNaN(v) ? '   -  ' : `${v.toFixed(2).padStart(6)}%`;
}

function summary(m: DefenseMeasurement): string {
  const b = m.before.metrics;
  const a = m.after.metrics;
  const rows = [
    `            before    after`,
    `  CA      ${pct(m.before.ca)}  ${pct(m.after.ca)}   (${m.after.n_clean} clean test images)`,
  ];
  if (a && b) {
    rows.push(
      `  ASR     ${pct(b.asr)}  ${pct(a.asr)}   (${a.n_poisoned} triggered non-target images)`,
      `  asr_all ${pct(b.asr_all)}  ${pct(a.asr_all)}`,
      `  PA      ${pct(b.pa)}  ${pct(a.pa)}`,
      `  DER     ${m.der!.toFixed(4)}`,
    );
  }
  return rows.join('\n');
}

export function registerDefend(program: Command): void {
  program
    .command('defend')
    .description(
      'harden a (possibly backdoored) CLIP with a few clean images; writes a prompt file with its metrics at export time',
    )
    .argument('<method>', 'defense id (vetbench methods)')
    .requiredOption('--model <weights|demo>', 'the CLIP to harden')
    .requiredOption(
      '--dataset <root|demo>',
      'clean labelled data: K shots per class from the train split; metrics on the test split',
    )
    .option('--shots <k>', 'clean images per class', '16')
    .option('--seed <n>', 'seed of the few-shot sample, initialisation, order and augmentation', '1')
    .option('--param <key=value>', 'method parameter (repeatable)', collect, [])
    .option('--trigger <method|file>', 'also measure ASR/PA/DER before and after under this trigger')
    .option('--target <class>', 'target class of the trigger (and the class woTC leaves out)')
    .requiredOption(
      '--out <file>',
      'the hardened prompt file, defended weights (finetune, cleanclip) or linear head (linear-probe) (.safetensors)',
    )
    .addOption(
      new Option('--executor <name>', 'training-step executor').choices(['onnx', 'tfjs']).default('onnx'),
    )
    .option('--json', 'print the report as JSON')
    .action(async (methodId: string, opts: DefendCliOptions) => {
      const method = findDefense(methodId);
      const params = resolveParams(method.id, method.params, parseParamPairs(opts.param ?? []));
      if (opts.trigger !== undefined && opts.target === undefined) {
        throw new VetbenchError(
          'bad-option',
          '--trigger needs --target',
          'Name the class the trigger flips images to.',
        );
      }
      const seed = seedOption(opts.seed, 1);
      const shots = positiveInt(opts.shots, '--shots');
      const weights = await loadClipWeights(resolveModelPath(opts.model));
      for (const w of weights.source.warnings) console.error(`warning: ${w}`);
      const dataset = await openDataset(opts.dataset);
      const target = opts.target === undefined ? undefined : classIndex(dataset, opts.target);
      const trigger = opts.trigger
        ? await triggerFromArgs(opts.trigger, [], seed, weights.config.vision.imageResolution)
        : null;
      const checkpointDir = `${opts.out}.checkpoint`;
      let last = 0;
      const result: DefenseResult = await method.run(
        {
          weights,
          dataset,
          shots,
          seed,
          ...(target !== undefined ? { excludeClass: target } : {}),
          executor: parseTrainingExecutor(opts.executor, '--executor'),
          checkpointDir,
          log: (line) => console.error(line),
          onProgress: (p) => {
            if (Date.now() - last < 2000 && p.step !== p.totalSteps) return;
            last = Date.now();
            console.error(
              `epoch ${p.epoch + 1}/${p.epochs}  step ${p.step}/${p.totalSteps}  loss ${p.loss.toFixed(4)}  ETA ${formatDuration(p.etaMs)}`,
            );
          },
        },
        params,
      );
      const output = result.output;
      const measureOptions = trigger ? { trigger, target: target! } : {};
      let measured: DefenseMeasurement;
      let payloadSha256: string | null = null;
      if (output.kind === 'prompts') {
        const encoder = await createEncoder(weights);
        measured = await measurePromptDefense(encoder, dataset, output.file, measureOptions);
        await encoder.dispose();
        const header = await savePromptFile(opts.out, { ...output.file, metrics: exportMetrics(measured) });
        payloadSha256 = header.payloadSha256;
      } else {
        // Baselines: defended weights (FT, CleanCLIP) or a linear head on the image embedding (linear probe).
        measured = await measureBaselineOutput(weights, dataset, output, measureOptions);
        await saveBaselineOutput(opts.out, weights, output, {
          method: method.id,
          params,
          seed,
          shots,
          dataset,
          metrics: exportMetrics(measured),
          command: `vetbench ${process.argv.slice(2).join(' ')}`,
        });
      }
      await rm(checkpointDir, { recursive: true, force: true }); // stored: no resume needed
      const report = {
        [output.kind === 'prompts' ? 'prompts' : output.kind]: opts.out,
        output: output.kind,
        method: method.id,
        params,
        seed,
        shots,
        train_images: result.trainImages,
        model: { path: weights.source.path, fingerprint: weights.source.fingerprint },
        dataset: { root: dataset.root, fingerprint: dataset.fingerprint },
        ...(trigger
          ? { trigger: { method: trigger.method, params: trigger.params, seed: trigger.seed } }
          : {}),
        ...(target !== undefined ? { target: dataset.classes[target]!.name } : {}),
        before: { ca: measured.before.ca, ...(measured.before.metrics ?? {}) },
        after: { ca: measured.after.ca, ...(measured.after.metrics ?? {}) },
        der: measured.der,
        epoch_metrics: result.epochMetrics,
        wall_ms: result.wallMs,
        ...(payloadSha256 ? { payload_sha256: payloadSha256 } : {}),
      };
      await writeFile(`${opts.out}.json`, `${JSON.stringify(report, null, 2)}\n`);
      emit(opts.json === true, report, () =>
        [
          `${method.id}: ${result.trainImages} clean images, ${result.epochMetrics.length} epochs in ${formatDuration(result.wallMs)}`,
          summary(measured),
          `wrote ${opts.out} (and ${opts.out}.json)`,
        ].join('\n'),
      );
    });
}
