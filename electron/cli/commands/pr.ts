import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import type { SplitName } from '../../../engine/datasets/dataset.js';
import { VetbenchError } from '../../../engine/errors.js';
import { parseParamPairs } from '../../../engine/methods/params.js';
import type { PrResult } from '../../../engine/metrics/perturbation-resistivity.js';
import { PR_METHOD_ID, PR_REPORT_NAME } from '../../jobs/kinds/pr-eval.js';
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

interface PrCliOptions {
  model: string;
  dataset: string;
  split: SplitName;
  prompts?: string;
  force?: boolean;
  trigger?: string;
  param?: string[];
  limit?: string;
  seed?: string;
  batchSize: string;
  json?: boolean;
  project?: string;
}

/** The eval job's pr.json (electron/jobs/kinds/pr-eval.ts), as far as the CLI reads it. */
interface PrReport extends PrResult {
  split: string;
  failed: string[];
  prompts: { path: string; sha256: string; depth: number } | null;
  [key: string]: unknown;
}

/** `--limit` / `--batch-size`: a positive integer, or undefined when not given. */
function positiveInteger(value: string | undefined, option: string, hint: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new VetbenchError('bad-option', `${option} must be a positive integer, got '${value}'`, hint);
  return n;
}

/** One row per block, one column per perturbation. */
function prTable(report: PrReport): string {
  const ids = report.rows.map((r) => r.id);
  const width = Math.max(12, ...ids.map((i) => i.length + 2));
  const header = `block ${ids.map((i) => i.padStart(width)).join('')}`;
  const lines = Array.from(
    { length: report.layers },
    (_, d) =>
      `${String(d).padStart(5)} ${report.rows.map((r) => r.pr[d]!.toFixed(4).padStart(width)).join('')}`,
  );
  return [
    `PR_d = mean cos(CLS_d(x), CLS_d(x+δ)) over ${report.images} image(s) of the ${report.split} split${report.prompts ? ` with deep prompts (depth ${report.prompts.depth})` : ''}`,
    header,
    ...lines,
    ...(report.failed.length ? [`${report.failed.length} image(s) failed to decode and were left out`] : []),
  ].join('\n');
}

export function registerPr(program: Command): void {
  program
    .command('pr')
    .description(
      'perturbation resistivity per block (METHODS 2.3): mean cos(CLS_d(x), CLS_d(x+δ)) under noise, blur, colour jitter, flip and a trigger; recorded as an eval run of the project',
    )
    .requiredOption(
      '--model <weights|demo>',
      'CLIP weights (.safetensors, PyTorch .pt/.bin, TorchScript) or the built-in name demo',
    )
    .requiredOption('--dataset <root|demo>', 'dataset folder, CSV manifest, or demo')
    .addOption(
      new Option('--split <name>', 'split measured').choices(['train', 'val', 'test']).default('test'),
    )
    .option('--prompts <file>', 'hardened prompt file with deep visual prompts (e.g. from RVPT)')
    .option('--force', 'use a prompt file made for another model fingerprint')
    .option(
      '--trigger <method|file>',
      'also measure PR under this trigger (a family id or a saved trigger file)',
    )
    .option('--param <key=value>', 'trigger family parameter (repeatable)', collect, [])
    .option('--limit <n>', 'measure a seeded sample of this many images (default: the whole split)')
    .option('--seed <n>', 'seed of the noise, the jitter, the sample and a family trigger', '1')
    .option('--batch-size <n>', 'images per forward pass', '64')
    .option('--json', 'print JSON')
    .option(
      '--project <file>',
      'project file the run is recorded in (default: default.vbproj in the user data folder)',
    )
    .action(async (opts: PrCliOptions) => {
      const seed = seedOption(opts.seed, 1);
      const limit = positiveInteger(opts.limit, '--limit', 'Pass e.g. --limit 200.');
      const batchSize = positiveInteger(opts.batchSize, '--batch-size', 'Pass e.g. --batch-size 64.');
      const triggerParams = parseParamPairs(opts.param ?? []);
      await withJobHost(opts.project, {}, async (store, host) => {
        const { model, dataset } = await importSubjects(store, opts.model, opts.dataset);
        const trigger = opts.trigger
          ? await triggerChoiceFromArg(store, opts.trigger, triggerParams)
          : undefined;
        const promptsArtifact = opts.prompts
          ? await importFileArtifact(store, opts.prompts, 'prompt')
          : undefined;
        const queued = host.submit({
          kind: 'eval',
          method: PR_METHOD_ID,
          modelId: model.id,
          datasetId: dataset.id,
          ...(trigger ? { trigger } : {}),
          ...(promptsArtifact ? { promptsArtifactId: promptsArtifact.id } : {}),
          seed,
          params: {
            split: opts.split,
            limit: limit ?? 0,
            batchSize: batchSize ?? 64,
            force: opts.force === true,
          },
        });
        console.error(`run ${queued.id} in ${store.path}`);
        const run = await followToDone(host, store, queued.id);
        const job = JSON.parse(
          await readFile(runArtifactPath(store, run.id, PR_REPORT_NAME), 'utf8'),
        ) as PrReport;
        // The job read the project's copy of the prompt file; the report names the file given here.
        const report: PrReport = {
          ...job,
          ...(job.prompts && opts.prompts ? { prompts: { ...job.prompts, path: opts.prompts } } : {}),
          run: { id: run.id, project: store.path },
        };
        emit(opts.json === true, report, () => prTable(report));
      });
    });
}
