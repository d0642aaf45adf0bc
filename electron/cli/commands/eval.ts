import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { DEFAULT_TEMPLATE } from '../../../engine/clip/zero-shot.js';
import type { SplitName } from '../../../engine/datasets/dataset.js';
import { VetbenchError } from '../../../engine/errors.js';
import { parseParamPairs } from '../../../engine/methods/params.js';
import { collect, seedOption } from '../cli-args.js';
import { emit } from '../output.js';
import {
  followToDone,
  importFileArtifact,
  importSubjects,
  runArtifactPath,
  triggerChoiceFromArg,
  withJobHost,
} from '../run-job.js';

interface EvalOptions {
  model: string;
  dataset: string;
  split: SplitName;
  template?: string[];
  backend: string;
  precision: string;
  trigger?: string;
  target?: string;
  seed?: string;
  param?: string[];
  prompts?: string;
  linearHead?: string;
  force?: boolean;
  json?: boolean;
  project?: string;
}

/** The eval job's evaluation.json (electron/jobs/kinds/eval-job.ts), as far as the CLI reads it. */
interface EvalReport {
  ca: number;
  correct: number;
  n_clean: number;
  asr?: number;
  asr_all?: number;
  pa?: number;
  n_poisoned?: number;
  target?: string;
  split: string;
  templates: string[];
  classifier: string;
  per_class: { name: string; correct: number; n: number }[];
  failed: unknown[];
  prompts?: { path: string };
  linear_head?: { path: string };
  precision?: string;
  agreement_with_fp32?: { checked: number; agreeing: number; rate: number };
  [key: string]: unknown;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('zero-shot clean accuracy (CA) of a model on a dataset split')
    .requiredOption(
      '--model <weights|demo>',
      'CLIP weights (.safetensors, PyTorch .pt/.bin, TorchScript) or the built-in name demo',
    )
    .requiredOption('--dataset <root|demo>', 'dataset folder, CSV manifest, or the built-in name demo')
    .addOption(
      new Option('--split <name>', 'split to evaluate').choices(['train', 'val', 'test']).default('test'),
    )
    .option(
      '--template <text...>',
      `prompt template(s) with {} for the class name (default "${DEFAULT_TEMPLATE}")`,
    )
    .addOption(new Option('--backend <name>', 'executor').choices(['onnx', 'wasm', 'cpu']).default('onnx'))
    .addOption(
      new Option(
        '--precision <p>',
        'int8: image tower with int8 weights (dynamic activation quantisation), refused unless its top-1 agreement with fp32 on the first 500 images is >= 99.5%',
      )
        .choices(['fp32', 'int8'])
        .default('fp32'),
    )
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
    .option(
      '--project <file>',
      'project file the run is recorded in (default: default.vbproj in the user data folder)',
    )
    .action(async (opts: EvalOptions) => {
      if ((opts.trigger === undefined) !== (opts.target === undefined)) {
        throw new VetbenchError(
          'bad-option',
          '--trigger and --target go together',
          'Pass both to measure ASR, or neither for CA only.',
        );
      }
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
      if (opts.template?.some((t) => t.includes('\n')))
        throw new VetbenchError(
          'bad-option',
          'a --template cannot span lines',
          'Pass each template as its own argument.',
        );
      const seed = seedOption(opts.seed, 1);
      const triggerParams = parseParamPairs(opts.param ?? []);
      await withJobHost(opts.project, {}, async (store, host) => {
        const { model, dataset } = await importSubjects(store, opts.model, opts.dataset);
        const trigger = opts.trigger
          ? await triggerChoiceFromArg(store, opts.trigger, triggerParams)
          : undefined;
        // A prompt file or linear head is copied into the project; the report names the file given here.
        const headFile = opts.prompts ?? opts.linearHead;
        const headArtifact = headFile
          ? await importFileArtifact(store, headFile, opts.prompts ? 'prompt' : 'other')
          : undefined;
        const queued = host.submit({
          kind: 'eval',
          method: 'backdoor-eval',
          modelId: model.id,
          datasetId: dataset.id,
          ...(opts.target !== undefined ? { target: opts.target } : {}),
          ...(trigger ? { trigger } : {}),
          ...(headArtifact ? { promptsArtifactId: headArtifact.id } : {}),
          seed,
          params: {
            split: opts.split,
            ...(opts.template ? { template: opts.template.join('\n') } : {}),
            backend: opts.backend,
            ...(opts.precision !== 'fp32' ? { precision: opts.precision } : {}),
            head: opts.linearHead ? 'linear-head' : 'prompt-file',
            force: opts.force === true,
          },
        });
        console.error(`run ${queued.id} in ${store.path}`);
        const run = await followToDone(host, store, queued.id);
        const job = JSON.parse(
          await readFile(runArtifactPath(store, run.id, 'evaluation.json'), 'utf8'),
        ) as EvalReport;
        const copyPath = headArtifact ? store.getArtifact(headArtifact.id).path : null;
        const report: EvalReport = {
          ...job,
          ...(job.prompts && opts.prompts
            ? { prompts: { ...job.prompts, path: resolve(opts.prompts) } }
            : {}),
          ...(job.linear_head && opts.linearHead
            ? { linear_head: { ...job.linear_head, path: resolve(opts.linearHead) } }
            : {}),
          classifier:
            copyPath && headFile ? job.classifier.replace(copyPath, resolve(headFile)) : job.classifier,
          run: { id: run.id, project: store.path },
        };
        emit(opts.json === true, report, () =>
          [
            `CA ${report.ca.toFixed(2)}% (${report.correct}/${report.n_clean}) on the ${report.split} split, ${headFile ? report.classifier : `zero-shot with ${report.templates.length} template(s)`}`,
            ...(report.asr !== undefined
              ? [
                  `ASR ${report.asr.toFixed(2)}% (${Math.round((report.asr * report.n_poisoned!) / 100)}/${report.n_poisoned} non-target images flipped to '${report.target}'), asr_all ${report.asr_all!.toFixed(2)}%, PA ${report.pa!.toFixed(2)}%`,
                ]
              : []),
            ...report.per_class.map(
              (c) =>
                `  ${c.name.padEnd(24)} ${c.n ? ((100 * c.correct) / c.n).toFixed(1).padStart(5) : '   - '}%  (${c.correct}/${c.n})`,
            ),
            ...(report.agreement_with_fp32
              ? [
                  `${report.precision}: top-1 agreement with fp32 ${report.agreement_with_fp32.rate.toFixed(2)}% (${report.agreement_with_fp32.agreeing}/${report.agreement_with_fp32.checked} images)`,
                ]
              : []),
            ...(report.failed.length
              ? [`  ${report.failed.length} image(s) failed to decode and were left out`]
              : []),
          ].join('\n'),
        );
      });
    });
}
