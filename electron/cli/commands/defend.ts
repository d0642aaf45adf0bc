import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { VetbenchError } from '../../../engine/errors.js';
import { parseParamPairs, resolveParams } from '../../../engine/methods/params.js';
import { findDefense } from '../../../engine/methods/registry.js';
import { parseTrainingExecutor } from '../../../engine/train/create-trainer.js';
import { collect, seedOption } from '../cli-args.js';
import { formatDuration } from '../open-dataset.js';
import { emit } from '../output.js';
import {
  followToDone,
  importSubjects,
  runArtifactPath,
  triggerChoiceFromArg,
  withJobHost,
} from '../run-job.js';

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
  project?: string;
}

/** One side (before or after) of the defense job's report. */
interface MeasuredSide {
  ca: number;
  n_clean: number;
  asr?: number;
  asr_all?: number;
  pa?: number;
  n_poisoned?: number;
}

/** The defense job's report.json (electron/jobs/kinds/defense-job.ts), as far as the CLI reads it. */
interface DefenseReport {
  output: 'prompts' | 'weights' | 'linear-head';
  file: string;
  method: string;
  train_images: number;
  epoch_metrics: unknown[];
  wall_ms: number;
  before: MeasuredSide;
  after: MeasuredSide;
  der: number | null;
  [key: string]: unknown;
}

/** The run's output file, by the kind of output the defense produced. */
const OUTPUT_ARTIFACT: Record<DefenseReport['output'], string> = {
  prompts: 'prompts.safetensors',
  weights: 'defended.safetensors',
  'linear-head': 'linear-head.safetensors',
};

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

function summary(r: DefenseReport): string {
  const b = r.before;
  const a = r.after;
  const rows = [
    `            before    after`,
    `  CA      ${pct(b.ca)}  ${pct(a.ca)}   (${a.n_clean} clean test images)`,
  ];
  if (r.der !== null) {
    rows.push(
      `  ASR     ${pct(b.asr)}  ${pct(a.asr)}   (${a.n_poisoned} triggered non-target images)`,
      `  asr_all ${pct(b.asr_all)}  ${pct(a.asr_all)}`,
      `  PA      ${pct(b.pa)}  ${pct(a.pa)}`,
      `  DER     ${r.der.toFixed(4)}`,
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
    .option(
      '--project <file>',
      'project file the run is recorded in (default: default.vbproj in the user data folder)',
    )
    .action(async (methodId: string, opts: DefendCliOptions) => {
      // Validate what can be validated before anything is imported or queued.
      const method = findDefense(methodId);
      const given = parseParamPairs(opts.param ?? []);
      resolveParams(method.id, method.params, given);
      if (opts.trigger !== undefined && opts.target === undefined) {
        throw new VetbenchError(
          'bad-option',
          '--trigger needs --target',
          'Name the class the trigger flips images to.',
        );
      }
      const seed = seedOption(opts.seed, 1);
      const shots = positiveInt(opts.shots, '--shots');
      await withJobHost(
        opts.project,
        { executor: parseTrainingExecutor(opts.executor, '--executor') },
        async (store, host) => {
          const { model, dataset } = await importSubjects(store, opts.model, opts.dataset);
          const trigger = opts.trigger ? await triggerChoiceFromArg(store, opts.trigger) : undefined;
          const queued = host.submit({
            kind: 'defense',
            method: method.id,
            modelId: model.id,
            datasetId: dataset.id,
            ...(opts.target !== undefined ? { target: opts.target } : {}),
            ...(trigger ? { trigger } : {}),
            seed,
            params: { ...given, shots },
          });
          console.error(`run ${queued.id} in ${store.path}`);
          const run = await followToDone(host, store, queued.id);
          // Same files as before the job host: the output at --out and the report beside it.
          const job = JSON.parse(
            await readFile(runArtifactPath(store, run.id, 'report.json'), 'utf8'),
          ) as DefenseReport;
          await copyFile(runArtifactPath(store, run.id, OUTPUT_ARTIFACT[job.output]), opts.out);
          const { file: _runCopy, ...rest } = job;
          const report = {
            [job.output]: opts.out,
            ...rest,
            run: { id: run.id, project: store.path },
            command: `vetbench ${process.argv.slice(2).join(' ')}`,
          };
          await writeFile(`${opts.out}.json`, `${JSON.stringify(report, null, 2)}\n`);
          emit(opts.json === true, report, () =>
            [
              `${job.method}: ${job.train_images} clean images, ${job.epoch_metrics.length} epochs in ${formatDuration(job.wall_ms)}`,
              summary(job),
              `wrote ${opts.out} (and ${opts.out}.json)`,
            ].join('\n'),
          );
        },
      );
    });
}
