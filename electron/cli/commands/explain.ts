import { copyFile, mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Option, type Command } from 'commander';
import type { SplitName } from '../../../engine/datasets/dataset.js';
import { EXPLAINERS, findExplainer } from '../../../engine/explain/registry.js';
import { VetbenchError } from '../../../engine/errors.js';
import { parseParamPairs, resolveParams } from '../../../engine/methods/params.js';
import { JobHost } from '../../jobs/job-host.js';
import { importDatasetInto, importModelInto } from '../../store/imports.js';
import { openProject } from '../../store/open-project.js';
import { collect, seedOption } from '../cli-args.js';
import { followToDone, importFileArtifact, triggerChoiceFromArg } from '../run-job.js';
import { explainDirectly, type ExplainRequest } from './explain-direct.js';
import { writeExplainSummary, type ExplainSummary } from './explain-output.js';

interface ExplainCliOptions {
  model: string;
  dataset: string;
  split: SplitName;
  prompts?: string;
  force?: boolean;
  compare?: string;
  comparePrompts?: string;
  labels: string;
  trigger?: string;
  target?: string;
  triggerParam?: string[];
  param?: string[];
  count?: string;
  seed?: string;
  out: string;
  json?: boolean;
  project?: string;
}

const DEFAULT_LABELS = 'model,compared';

/** Images drawn when --count is not given: a readable panel for overlays, enough points for maps and PR. */
const DEFAULT_COUNT: Readonly<Record<string, number>> = { 'embedding-map': 240, pr: 240 };

/** Explainers that draw every model side by side; with a prompt file the job draws it without and with. */
const COMPARING = new Set(['embedding-map', 'pr']);

/** What the explain job kind (electron/jobs/kinds/explain-job.ts) returns, as far as the CLI reads it. */
interface ExplainJobResult {
  images: number;
  summary: Record<string, unknown>;
  model: { path: string; fingerprint: string };
  prompts?: { file_sha256: string };
  trigger?: { method: string; params: unknown; seed: number };
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new VetbenchError(
      'bad-option',
      `${flag} must be a positive integer, got '${value}'`,
      `Pass e.g. ${flag} 8.`,
    );
  return n;
}

function explainerHelp(): string {
  const lines = ['', 'Explainers and their --param keys:'];
  for (const e of EXPLAINERS) {
    lines.push(`  ${e.id}: ${e.summary}`);
    for (const [key, spec] of Object.entries(e.params))
      lines.push(`      ${key} (default ${String(spec.default)}): ${spec.help}`);
  }
  return lines.join('\n');
}

/** Whether the request needs a model setup the explain job kind has no parameter for. */
function needsDirectRun(request: ExplainRequest, labels: string): boolean {
  const comparing = COMPARING.has(request.explainer.id);
  return (
    request.compare !== undefined ||
    request.comparePrompts !== undefined ||
    request.force === true ||
    (comparing && labels !== DEFAULT_LABELS) ||
    (comparing && request.prompts !== undefined)
  );
}

/** Submits the explanation as a run in the project, follows it, and copies its artifacts to --out. */
async function explainAsRun(request: ExplainRequest, project: string | undefined): Promise<ExplainSummary> {
  const store = openProject(project);
  const host = new JobHost(store);
  try {
    host.start();
    const model = await importModelInto(store, request.model);
    const dataset = await importDatasetInto(store, request.dataset, {
      onGenerated: (root, images) =>
        console.error(`Generated the built-in demo dataset (${images} images) in ${root}`),
    });
    const trigger = request.trigger
      ? await triggerChoiceFromArg(store, request.trigger, parseParamPairs([...request.triggerParam]))
      : undefined;
    const prompts = request.prompts ? await importFileArtifact(store, request.prompts, 'prompt') : undefined;
    const queued = host.submit({
      kind: 'explain',
      method: request.explainer.id,
      modelId: model.id,
      datasetId: dataset.id,
      ...(request.target !== undefined ? { target: request.target } : {}),
      ...(trigger ? { trigger } : {}),
      ...(prompts ? { promptsArtifactId: prompts.id } : {}),
      seed: request.seed,
      params: { ...request.params, split: request.split, count: request.count },
    });
    console.error(`run ${queued.id} in ${store.path}`);
    const run = await followToDone(host, store, queued.id);
    const job = store.runDetails(run.id).result as unknown as ExplainJobResult;
    await mkdir(request.out, { recursive: true });
    const files: string[] = [];
    for (const artifact of store.listArtifacts(run.id)) {
      const name = basename(artifact.name);
      await copyFile(store.getArtifact(artifact.id).path, join(request.out, name));
      files.push(name);
    }
    return {
      method: request.explainer.id,
      params: request.params,
      seed: request.seed,
      split: request.split,
      images: job.images,
      model: {
        path: job.model.path,
        fingerprint: job.model.fingerprint,
        prompts: job.prompts?.file_sha256 ?? null,
      },
      compared: [],
      ...(job.trigger ? { trigger: job.trigger, target: request.target } : {}),
      result: job.summary,
      files,
      wall_ms: run.startedAt !== null && run.finishedAt !== null ? run.finishedAt - run.startedAt : 0,
      run: { id: run.id, project: store.path },
    };
  } finally {
    await host.close();
    store.close();
  }
}

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description(
      'explanations (METHODS 5): overlays, embedding maps and PR curves, written as PNG/SVG + .npy',
    )
    .argument('<method>', EXPLAINERS.map((e) => e.id).join(' | '))
    .requiredOption('--model <weights|demo>', 'CLIP weights (.safetensors) or the built-in name demo')
    .requiredOption('--dataset <root|demo>', 'dataset folder, CSV manifest, or demo')
    .addOption(
      new Option('--split <name>', 'split the images come from')
        .choices(['train', 'val', 'test'])
        .default('test'),
    )
    .option('--prompts <file>', 'hardened prompt file (deep visual prompts) used with --model')
    .option('--force', 'use a prompt file made for another model fingerprint (runs outside the project)')
    .option(
      '--compare <weights|demo>',
      'a second model for embedding-map and pr (default: --model again; runs outside the project)',
    )
    .option(
      '--compare-prompts <file>',
      'prompt file of the compared model, e.g. the RVPT-defended one (runs outside the project)',
    )
    .option('--labels <a,b>', 'legend labels of the model and the compared model', DEFAULT_LABELS)
    .option('--trigger <method|file>', 'explain triggered images too (a family id or a saved trigger file)')
    .option('--target <class>', 'target class of the trigger')
    .option('--trigger-param <key=value>', 'trigger family parameter (repeatable)', collect, [])
    .option('--param <key=value>', 'explainer parameter (repeatable; listed below)', collect, [])
    .option('--count <n>', 'images drawn from the split (seeded; default 8, 240 for embedding-map and pr)')
    .option('--seed <n>', 'seed of the image sample, seeded perturbations, UMAP and a family trigger', '1')
    .requiredOption('--out <dir>', 'folder for the artifacts, the arrays (.npy) and summary.json')
    .option('--json', 'print the summary as JSON')
    .option(
      '--project <file>',
      'project file the run is recorded in (default: default.vbproj in the user data folder)',
    )
    .addHelpText('after', explainerHelp)
    .action(async (methodId: string, opts: ExplainCliOptions) => {
      // Options are checked before anything is loaded or queued, so a typo fails at once.
      const explainer = findExplainer(methodId);
      const params = resolveParams(explainer.id, explainer.params, parseParamPairs(opts.param ?? []));
      if ((opts.trigger === undefined) !== (opts.target === undefined)) {
        throw new VetbenchError('bad-option', '--trigger and --target go together', 'Pass both, or neither.');
      }
      const [label, compareLabel] = opts.labels.split(',').map((s) => s.trim());
      const request: ExplainRequest = {
        explainer,
        params,
        seed: seedOption(opts.seed, 1),
        count: opts.count ? positiveInt(opts.count, '--count') : (DEFAULT_COUNT[explainer.id] ?? 8),
        split: opts.split,
        model: opts.model,
        dataset: opts.dataset,
        prompts: opts.prompts,
        force: opts.force,
        compare: opts.compare,
        comparePrompts: opts.comparePrompts,
        labels: [label || 'model', compareLabel || 'compared'],
        trigger: opts.trigger,
        triggerParam: opts.triggerParam ?? [],
        target: opts.target,
        out: opts.out,
      };
      const summary = needsDirectRun(request, opts.labels)
        ? await explainDirectly(request)
        : await explainAsRun(request, opts.project);
      await writeExplainSummary(opts.out, explainer.title, summary, opts.json === true);
    });
}
