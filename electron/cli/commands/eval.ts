import { Option, type Command } from 'commander';
import { createEncoder } from '../../../engine/clip/clip-encoder.js';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import { resolveModelPath } from '../../../engine/clip/resolve-model.js';
import { DEFAULT_TEMPLATE } from '../../../engine/clip/zero-shot.js';
import type { SplitName } from '../../../engine/datasets/dataset.js';
import { evaluateZeroShot } from '../../../engine/eval/zero-shot-eval.js';
import { emit } from '../output.js';
import { openDataset } from '../open-dataset.js';

interface EvalOptions {
  model: string;
  dataset: string;
  split: SplitName;
  template?: string[];
  backend: string;
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
    .option('--json', 'print JSON')
    .action(async (opts: EvalOptions) => {
      const weights = await loadClipWeights(resolveModelPath(opts.model));
      for (const w of weights.source.warnings) console.error(`warning: ${w}`);
      const dataset = await openDataset(opts.dataset);
      const encoder = await createEncoder(weights, opts.backend);
      const result = await evaluateZeroShot(encoder, dataset, {
        split: opts.split,
        ...(opts.template ? { templates: opts.template } : {}),
      });
      await encoder.dispose();
      const report = {
        ca: result.ca,
        correct: result.correct,
        n_clean: result.n,
        split: result.split,
        templates: result.templates,
        per_class: result.perClass,
        failed: result.failed,
        model: { path: weights.source.path, fingerprint: weights.source.fingerprint },
        dataset: { root: dataset.root, fingerprint: dataset.fingerprint },
        executor: encoder.executor,
      };
      emit(opts.json === true, report, () =>
        [
          `CA ${result.ca.toFixed(2)}% (${result.correct}/${result.n}) on the ${result.split} split, zero-shot with ${result.templates.length} template(s)`,
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
