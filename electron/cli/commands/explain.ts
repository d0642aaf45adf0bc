import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { Option, type Command } from 'commander';
import { resolveModelPath } from '../../../engine/clip/resolve-model.js';
import type { SplitName } from '../../../engine/datasets/dataset.js';
import type { Explainer } from '../../../engine/explain/explainer.js';
import { EXPLAINERS, findExplainer } from '../../../engine/explain/registry.js';
import { VetbenchError } from '../../../engine/errors.js';
import { parseParamPairs, resolveParams, type ParamValues } from '../../../engine/methods/params.js';
import { COMPARING_EXPLAINERS } from '../../jobs/kinds/explain-job.js';
import type { ProjectStore } from '../../store/project-store.js';
import { collect, seedOption } from '../cli-args.js';
import {
  followToDone,
  importFileArtifact,
  importSubjects,
  triggerChoiceFromArg,
  withJobHost,
} from '../run-job.js';
import { writeExplainSummary, type ExplainSummary } from './explain-output.js';

interface ExplainCliOptions {
  model: string;
  dataset: string;
  split: SplitName;
  prompts?: string;
  force?: boolean;
  compare?: string;
  comparePrompts?: string;
  labels?: string;
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

/** What `vetbench explain` was asked, once its options are checked. */
interface ExplainRequest {
  explainer: Explainer;
  params: ParamValues;
  seed: number;
  count: number;
  split: SplitName;
  model: string;
  dataset: string;
  prompts?: string | undefined;
  force: boolean;
  compare?: string | undefined;
  comparePrompts?: string | undefined;
  labels?: string | undefined;
  trigger?: string | undefined;
  triggerParam: readonly string[];
  target?: string | undefined;
  out: string;
}

/** Images drawn when --count is not given: a readable panel for overlays, enough points for maps and PR. */
const DEFAULT_COUNT: Readonly<Record<string, number>> = { 'embedding-map': 240, pr: 240 };

/** Explainers that draw every model side by side. */

/** What the explain job kind (electron/jobs/kinds/explain-job.ts) returns, as far as the CLI reads it. */
interface ExplainJobResult {
  images: number;
  summary: Record<string, unknown>;
  model: { path: string; fingerprint: string };
  drawn: { label: string; fingerprint: string; prompts: string | null };
  compared: { label: string; fingerprint: string; prompts: string | null }[];
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
  const lines = [
    '',
    'Every explanation is a run of the project (worker process, artifacts stored with their hashes); its files',
    "are copied to --out. Files given with --compare and --compare-prompts are copied into the project's",
    'artifact folder first (once, by content hash), unless they are in it already (e.g. a run output).',
    '',
    'Explainers and their --param keys:',
  ];
  for (const e of EXPLAINERS) {
    lines.push(`  ${e.id}: ${e.summary}`);
    for (const [key, spec] of Object.entries(e.params))
      lines.push(`      ${key} (default ${String(spec.default)}): ${spec.help}`);
  }
  return lines.join('\n');
}

/** Path of a file inside the project's artifact folder, as the explain job names it. */
function artifactRelPath(store: ProjectStore, path: string): string | null {
  const full = resolve(path);
  return full.startsWith(store.artifactsDir + sep) ? relative(store.artifactsDir, full) : null;
}

/**
 * `--compare <weights>` as a file of the project: weights already in its artifact folder (a run's output)
 * are used where they are; others are copied in once (named by content hash), with the config.json beside
 * them when there is one, so the job reads only files of the project.
 */
async function compareModelArtifact(store: ProjectStore, arg: string): Promise<string> {
  const path = resolve(resolveModelPath(arg));
  const inside = artifactRelPath(store, path);
  if (inside !== null) return inside;
  if (!existsSync(path))
    throw new VetbenchError(
      'model-missing',
      `--compare: there is no file ${path}`,
      'Pass a .safetensors file or demo.',
    );
  const data = await readFile(path);
  const folder = `compare-${createHash('sha256').update(data).digest('hex').slice(0, 16)}`;
  const config = join(dirname(path), 'config.json');
  if (existsSync(config))
    await store.writeArtifact(
      null,
      'other',
      `${folder}/config.json`,
      await readFile(config),
      'application/json',
    );
  const artifact = await store.writeArtifact(
    null,
    'weights',
    `${folder}/${basename(path)}`,
    data,
    'application/octet-stream',
  );
  return artifactRelPath(store, store.getArtifact(artifact.id).path)!;
}

/** `--compare-prompts <file>` as a file of the project (imported once, named by content hash). */
async function comparePromptsArtifact(store: ProjectStore, path: string): Promise<string> {
  const inside = artifactRelPath(store, path);
  if (inside !== null) return inside;
  const artifact = await importFileArtifact(store, path, 'prompt');
  return artifactRelPath(store, store.getArtifact(artifact.id).path)!;
}

/** The explain job's model parameters for the request (only those that differ from the job's defaults). */
async function modelParams(store: ProjectStore, request: ExplainRequest): Promise<Record<string, unknown>> {
  // Refuse comparison options for overlays before anything is copied into the project.
  if (!COMPARING_EXPLAINERS.has(request.explainer.id)) {
    const given = [
      request.compare !== undefined && '--compare',
      request.comparePrompts !== undefined && '--compare-prompts',
      request.labels !== undefined && '--labels',
    ].filter((o): o is string => typeof o === 'string');
    if (given.length > 0) {
      throw new VetbenchError(
        'bad-option',
        `${request.explainer.id} draws one model; ${given.join(', ')} only apply to ${[...COMPARING_EXPLAINERS].join(' and ')}`,
        `Drop ${given.join(', ')}, or run \`vetbench explain embedding-map\` or \`vetbench explain pr\` to compare models.`,
      );
    }
  }
  return {
    ...(request.compare !== undefined
      ? { compareModel: await compareModelArtifact(store, request.compare) }
      : {}),
    ...(request.comparePrompts !== undefined
      ? { comparePrompts: await comparePromptsArtifact(store, request.comparePrompts) }
      : {}),
    // On the command line --prompts belongs to --model: maps and curves draw the prompted model (compare
    // it with the plain one through --compare-prompts), as they always did.
    ...(request.prompts !== undefined && COMPARING_EXPLAINERS.has(request.explainer.id)
      ? { drawWithoutPrompts: false }
      : {}),
    ...(request.labels !== undefined ? { labels: request.labels } : {}),
    ...(request.force ? { force: true } : {}),
  };
}

/** Submits the explanation as a run in the project, follows it, and copies its artifacts to --out. */
async function explainAsRun(request: ExplainRequest, project: string | undefined): Promise<ExplainSummary> {
  return withJobHost(project, {}, async (store, host) => {
    const { model, dataset } = await importSubjects(store, request.model, request.dataset);
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
      params: {
        ...request.params,
        split: request.split,
        count: request.count,
        ...(await modelParams(store, request)),
      },
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
        prompts: job.drawn.prompts,
      },
      compared: job.compared,
      ...(job.trigger ? { trigger: job.trigger, target: request.target } : {}),
      result: job.summary,
      files,
      wall_ms: run.startedAt !== null && run.finishedAt !== null ? run.finishedAt - run.startedAt : 0,
      run: { id: run.id, project: store.path },
    };
  });
}

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description(
      'explanations (METHODS 5): overlays, embedding maps and PR curves, written as PNG/SVG + .npy',
    )
    .argument('<method>', EXPLAINERS.map((e) => e.id).join(' | '))
    .requiredOption(
      '--model <weights|demo>',
      'CLIP weights (.safetensors, PyTorch .pt/.bin, TorchScript) or the built-in name demo',
    )
    .requiredOption('--dataset <root|demo>', 'dataset folder, CSV manifest, or demo')
    .addOption(
      new Option('--split <name>', 'split the images come from')
        .choices(['train', 'val', 'test'])
        .default('test'),
    )
    .option('--prompts <file>', 'hardened prompt file (deep visual prompts) used with --model')
    .option('--force', 'use prompt files made for another model fingerprint (with a warning)')
    .option(
      '--compare <weights|demo>',
      'a second model for embedding-map and pr (copied into the project unless it is a run output there)',
    )
    .option(
      '--compare-prompts <file>',
      'prompt file of the compared model (default model: --model again), e.g. the RVPT-defended one',
    )
    .option('--labels <a,b>', 'legend labels of the model and the compared model (default: model,compared)')
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
      const request: ExplainRequest = {
        explainer,
        params,
        seed: seedOption(opts.seed, 1),
        count: opts.count ? positiveInt(opts.count, '--count') : (DEFAULT_COUNT[explainer.id] ?? 8),
        split: opts.split,
        model: opts.model,
        dataset: opts.dataset,
        prompts: opts.prompts,
        force: opts.force === true,
        compare: opts.compare,
        comparePrompts: opts.comparePrompts,
        labels: opts.labels,
        trigger: opts.trigger,
        triggerParam: opts.triggerParam ?? [],
        target: opts.target,
        out: opts.out,
      };
      const summary = await explainAsRun(request, opts.project);
      await writeExplainSummary(opts.out, explainer.title, summary, opts.json === true);
    });
}
