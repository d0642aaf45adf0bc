import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import type { SplitName } from '../../../engine/datasets/dataset.js';
import type { ExplainModel } from '../../../engine/explain/explainer.js';
import { EXPLAINERS, findExplainer } from '../../../engine/explain/registry.js';
import { sampleExplainImages } from '../../../engine/explain/sample-images.js';
import { VetbenchError } from '../../../engine/errors.js';
import { parseParamPairs, resolveParams } from '../../../engine/methods/params.js';
import { encodeNpy } from '../../../engine/tensor/npy.js';
import { classIndex, collect, seedOption, triggerFromArgs } from '../cli-args.js';
import { emit } from '../output.js';
import { openDataset } from '../open-dataset.js';
import { loadExplainModel } from './explain-models.js';

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
}

/** Images drawn when --count is not given: a readable panel for overlays, enough points for maps and PR. */
const DEFAULT_COUNT: Readonly<Record<string, number>> = { 'embedding-map': 240, pr: 240 };

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
    .option('--force', 'use a prompt file made for another model fingerprint')
    .option('--compare <weights|demo>', 'a second model for embedding-map and pr (default: --model again)')
    .option('--compare-prompts <file>', 'prompt file of the compared model (e.g. the RVPT-defended one)')
    .option('--labels <a,b>', 'legend labels of the model and the compared model', 'model,compared')
    .option('--trigger <method|file>', 'explain triggered images too (a family id or a saved trigger file)')
    .option('--target <class>', 'target class of the trigger')
    .option('--trigger-param <key=value>', 'trigger family parameter (repeatable)', collect, [])
    .option('--param <key=value>', 'explainer parameter (repeatable; listed below)', collect, [])
    .option('--count <n>', 'images drawn from the split (seeded; default 8, 240 for embedding-map and pr)')
    .option('--seed <n>', 'seed of the image sample, seeded perturbations, UMAP and a family trigger', '1')
    .requiredOption('--out <dir>', 'folder for the artifacts, the arrays (.npy) and summary.json')
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', explainerHelp)
    .action(async (methodId: string, opts: ExplainCliOptions) => {
      const explainer = findExplainer(methodId);
      const params = resolveParams(explainer.id, explainer.params, parseParamPairs(opts.param ?? []));
      if ((opts.trigger === undefined) !== (opts.target === undefined)) {
        throw new VetbenchError('bad-option', '--trigger and --target go together', 'Pass both, or neither.');
      }
      const seed = seedOption(opts.seed, 1);
      const dataset = await openDataset(opts.dataset);
      const classNames = dataset.classes.map((c) => c.name);
      const [label, compareLabel] = (opts.labels ?? 'model,compared').split(',').map((s) => s.trim());
      const model = await loadExplainModel({
        model: opts.model,
        prompts: opts.prompts,
        force: opts.force,
        label: label || 'model',
        classNames,
      });
      const others: ExplainModel[] = [];
      if (opts.compare !== undefined || opts.comparePrompts !== undefined) {
        others.push(
          await loadExplainModel({
            model: opts.compare ?? model.weights,
            prompts: opts.comparePrompts,
            force: opts.force,
            label: compareLabel || 'compared',
            classNames,
          }),
        );
      }
      const resolution = model.weights.config.vision.imageResolution;
      const target = opts.target === undefined ? null : classIndex(dataset, opts.target);
      const trigger = opts.trigger
        ? await triggerFromArgs(opts.trigger, opts.triggerParam ?? [], seed, resolution)
        : null;
      const images = await sampleExplainImages(dataset, {
        split: opts.split,
        count: opts.count ? positiveInt(opts.count, '--count') : (DEFAULT_COUNT[explainer.id] ?? 8),
        seed,
        resolution,
        trigger,
        excludeClass: explainer.keepsTargetClass ? null : target,
      });
      const started = Date.now();
      const result = await explainer.run(
        {
          model,
          others,
          classNames,
          images,
          trigger,
          target,
          seed,
          progress: (f, m) => console.error(`${(100 * f).toFixed(0).padStart(3)}%  ${m}`),
        },
        params,
      );
      await mkdir(opts.out, { recursive: true });
      const files: string[] = [];
      for (const a of result.artifacts) {
        await writeFile(join(opts.out, a.name), a.bytes);
        files.push(a.name);
      }
      for (const a of result.arrays) {
        const name = `${a.name}.npy`;
        await writeFile(join(opts.out, name), encodeNpy(a.tensor.data, a.tensor.shape));
        files.push(name);
      }
      const summary = {
        method: explainer.id,
        params,
        seed,
        split: opts.split,
        images: images.keys.length,
        model: {
          path: model.weights.source.path,
          fingerprint: model.weights.source.fingerprint,
          prompts: model.prompts?.fileSha256 ?? null,
        },
        compared: others.map((o) => ({
          label: o.label,
          fingerprint: o.weights.source.fingerprint,
          prompts: o.prompts?.fileSha256 ?? null,
        })),
        ...(trigger
          ? {
              trigger: { method: trigger.method, params: trigger.params, seed: trigger.seed },
              target: opts.target,
            }
          : {}),
        result: result.summary,
        files,
        wall_ms: Date.now() - started,
      };
      await writeFile(join(opts.out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
      emit(opts.json === true, summary, () =>
        [
          `${explainer.title}: ${images.keys.length} image(s) of the ${opts.split} split`,
          ...Object.entries(result.summary).map(
            ([k, v]) => `  ${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`,
          ),
          `wrote ${files.length + 1} file(s) to ${opts.out}: ${[...files, 'summary.json'].join(', ')}`,
        ].join('\n'),
      );
    });
}
