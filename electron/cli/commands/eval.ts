import { Option, type Command } from 'commander';
import { createEncoder } from '../../../engine/clip/clip-encoder.js';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import { resolveModelPath } from '../../../engine/clip/resolve-model.js';
import { DEFAULT_TEMPLATE } from '../../../engine/clip/zero-shot.js';
import type { SplitName } from '../../../engine/datasets/dataset.js';
import { evaluateBackdoor } from '../../../engine/eval/backdoor-eval.js';
import { VetbenchError } from '../../../engine/errors.js';
import { promptFileClassifier } from '../../../engine/prompts/prompt-classifier.js';
import { loadPromptFile, type PromptFile } from '../../../engine/prompts/prompt-file.js';
import {
  loadLinearHead,
  requireSameClasses,
  type LinearHeadFile,
} from '../../../engine/defenses/baselines/linear-head-file.js';
import { linearHeadClassifier } from '../../../engine/eval/linear-head-classifier.js';
import { classIndex, collect, seedOption, triggerFromArgs } from '../cli-args.js';
import { emit } from '../output.js';
import { openDataset } from '../open-dataset.js';

interface EvalOptions {
  model: string;
  dataset: string;
  split: SplitName;
  template?: string[];
  backend: string;
  trigger?: string;
  target?: string;
  seed?: string;
  param?: string[];
  prompts?: string;
  linearHead?: string;
  force?: boolean;
  json?: boolean;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('zero-shot clean accuracy (CA) of a model on a dataset split')
    .requiredOption('--model <weights|demo>', 'CLIP weights (.safetensors) or the built-in name demo')
    .requiredOption('--dataset <root|demo>', 'dataset folder, CSV manifest, or the built-in name demo')
    .addOption(
      new Option('--split <name>', 'split to evaluate').choices(['train', 'val', 'test']).default('test'),
    )
    .option(
      '--template <text...>',
      `prompt template(s) with {} for the class name (default "${DEFAULT_TEMPLATE}")`,
    )
    .addOption(new Option('--backend <name>', 'executor').choices(['onnx', 'wasm', 'cpu']).default('onnx'))
    .option(
      '--trigger <method|file>',
      'measure attack success under this trigger (a family id or a saved trigger file)',
    )
    .option('--target <class>', 'target class of the trigger')
    .option('--seed <n>', 'seed of a trigger built from its family', '1')
    .option('--param <key=value>', 'trigger parameter (repeatable)', collect, [])
    .option('--prompts <file>', 'evaluate with a prompt file (vetbench defend ... --out file)')
    .option(
      '--linear-head <file>',
      'evaluate with a linear head on the image embedding (vetbench defend linear-probe ... --out file)',
    )
    .option('--force', 'apply a prompt file or linear head made for another model fingerprint anyway')
    .option('--json', 'print JSON')
    .action(async (opts: EvalOptions) => {
      if ((opts.trigger === undefined) !== (opts.target === undefined)) {
        throw new VetbenchError(
          'bad-option',
          '--trigger and --target go together',
          'Pass both to measure ASR, or neither for CA only.',
        );
      }
      const weights = await loadClipWeights(resolveModelPath(opts.model));
      for (const w of weights.source.warnings) console.error(`warning: ${w}`);
      const dataset = await openDataset(opts.dataset);
      const target = opts.target === undefined ? undefined : classIndex(dataset, opts.target);
      const trigger = opts.trigger
        ? await triggerFromArgs(
            opts.trigger,
            opts.param ?? [],
            seedOption(opts.seed, 1),
            weights.config.vision.imageResolution,
          )
        : null;
      if (opts.prompts && opts.template) {
        throw new VetbenchError(
          'bad-option',
          '--template cannot be combined with --prompts',
          'A prompt file carries the templates it was tuned with; drop --template.',
        );
      }
      if (opts.linearHead && (opts.prompts || opts.template)) {
        throw new VetbenchError(
          'bad-option',
          '--linear-head cannot be combined with --prompts or --template',
          'A linear head replaces the text head: evaluate it on its own.',
        );
      }
      const head: LinearHeadFile | null = opts.linearHead
        ? await loadLinearHead(opts.linearHead, {
            modelFingerprint: weights.source.fingerprint,
            force: opts.force === true,
            embedDim: weights.config.embedDim,
            warn: (message) => console.error(`warning: ${message}`),
          })
        : null;
      if (head)
        requireSameClasses(
          head,
          dataset.classes.map((c) => c.name),
        );
      const prompts: PromptFile | null = opts.prompts
        ? await loadPromptFile(opts.prompts, {
            modelFingerprint: weights.source.fingerprint,
            force: opts.force === true,
            config: weights.config,
            warn: (message) => console.error(`warning: ${message}`),
          })
        : null;
      const encoder = await createEncoder(weights, opts.backend);
      const classifier = prompts
        ? promptFileClassifier(
            encoder,
            prompts,
            dataset.classes.map((c) => c.name),
          )
        : head
          ? linearHeadClassifier(
              encoder,
              head.header.classNames,
              head,
              `linear head from ${head.path} (${head.header.method.id})`,
            )
          : null;
      const result = await evaluateBackdoor(encoder, dataset, {
        split: opts.split,
        ...(opts.template ? { templates: opts.template } : {}),
        ...(classifier ? { classifier } : {}),
        ...(trigger ? { trigger, target: target! } : {}),
      });
      await encoder.dispose();
      const correct = result.perClass.reduce((a, c) => a + c.correct, 0);
      const m = result.metrics;
      const report = {
        ca: result.ca,
        ...(m ? { asr: m.asr, asr_all: m.asr_all, pa: m.pa } : {}),
        correct,
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
      };
      emit(opts.json === true, report, () =>
        [
          `CA ${result.ca.toFixed(2)}% (${correct}/${result.n_clean}) on the ${result.split} split, ${prompts || head ? result.classifier : `zero-shot with ${result.templates.length} template(s)`}`,
          ...(m
            ? [
                `ASR ${m.asr.toFixed(2)}% (${Math.round((m.asr * m.n_poisoned) / 100)}/${m.n_poisoned} non-target images flipped to '${dataset.classes[m.target]!.name}'), asr_all ${m.asr_all.toFixed(2)}%, PA ${m.pa.toFixed(2)}%`,
              ]
            : []),
          ...result.perClass.map(
            (c) =>
              `  ${c.name.padEnd(24)} ${c.n ? ((100 * c.correct) / c.n).toFixed(1).padStart(5) : '   - '}%  (${c.correct}/${c.n})`,
          ),
          ...(result.failed.length
            ? [`  ${result.failed.length} image(s) failed to decode and were left out`]
            : []),
        ].join('\n'),
      );
    });
}
