import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { VetbenchError } from '../../../engine/errors.js';
import { parseParamPairs, resolveParams } from '../../../engine/methods/params.js';
import { findAttack } from '../../../engine/methods/registry.js';
import { parseTrainingExecutor } from '../../../engine/train/create-trainer.js';
import { followRun } from '../../jobs/follow-run.js';
import { collect, seedOption } from '../cli-args.js';
import { importDatasetArg, importSubjects, withJobHost } from '../run-job.js';

interface AttackCliOptions {
  model: string;
  dataset: string;
  poisonDataset?: string;
  target: string;
  seed?: string;
  param?: string[];
  out: string;
  executor: string;
  project?: string;
}

export function triggerPathFor(weightsPath: string): string {
  return `${weightsPath.replace(/\.safetensors$/, '')}.trigger.safetensors`;
}

export function registerAttack(program: Command): void {
  program
    .command('attack')
    .description(
      'implant a backdoor (red team): poisoned fine-tuning of a CLIP (writes the weights) or a malicious prompt learner (writes the prompt file), plus the trigger and a report',
    )
    .argument('<method>', 'attack id (vetbench methods)')
    .requiredOption('--model <weights|demo>', 'the clean CLIP to backdoor')
    .requiredOption(
      '--dataset <root|demo>',
      'training data (the train split is poisoned) and test split for the report',
    )
    .option(
      '--poison-dataset <root|demo-world-poison>',
      "the attacker's corpus: its train pairs are poisoned and fine-tuned on instead of --dataset's (CA/ASR stay on --dataset)",
    )
    .requiredOption('--target <class>', 'target class name')
    .option('--seed <n>', 'seed of the trigger, the poisoned subset and training', '1')
    .option('--param <key=value>', 'method parameter (repeatable)', collect, [])
    .requiredOption(
      '--out <file>',
      'backdoored weights, or the prompt file of a prompt attack (.safetensors); the trigger goes beside it',
    )
    .addOption(
      new Option('--executor <name>', 'training-step executor').choices(['onnx', 'tfjs']).default('onnx'),
    )
    .option(
      '--project <file>',
      'project file the run is recorded in (default: default.vbproj in the user data folder)',
    )
    .action(async (methodId: string, opts: AttackCliOptions) => {
      // Validate what can be validated before anything is imported or queued.
      const method = findAttack(methodId);
      const given = parseParamPairs(opts.param ?? []);
      resolveParams(method.id, method.params, given);
      const seed = seedOption(opts.seed, 1);
      await withJobHost(
        opts.project,
        { executor: parseTrainingExecutor(opts.executor, '--executor') },
        async (store, host) => {
          const { model, dataset } = await importSubjects(store, opts.model, opts.dataset);
          const corpus = opts.poisonDataset ? await importDatasetArg(store, opts.poisonDataset) : null;
          const queued = host.submit({
            kind: 'attack',
            method: method.id,
            modelId: model.id,
            datasetId: dataset.id,
            target: opts.target,
            seed,
            params: corpus ? { ...given, poisonDataset: corpus.id } : given,
          });
          console.error(`run ${queued.id} in ${store.path}`);
          const run = await followRun(host, queued.id);
          if (run.status !== 'done') {
            const error = run.error ?? {
              code: `run-${run.status}`,
              message: `run ${run.id} ended ${run.status}`,
              hint: `Resume it: vetbench resume ${run.id} --project ${store.path}`,
            };
            throw new VetbenchError(error.code, error.message, error.hint);
          }
          // Same files as before the job host: the model (or prompt file), its trigger and the report beside --out.
          const artifacts = store.listArtifacts(run.id);
          const pathOf = (name: string): string =>
            store.getArtifact(artifacts.find((a) => a.name === name)!.id).path;
          const output = artifacts.some((a) => a.name === 'weights.safetensors') ? 'weights' : 'prompts';
          const triggerPath = triggerPathFor(opts.out);
          await copyFile(
            pathOf(output === 'weights' ? 'weights.safetensors' : 'prompts.safetensors'),
            opts.out,
          );
          await copyFile(pathOf('trigger.safetensors'), triggerPath);
          const report = JSON.parse(await readFile(pathOf('report.json'), 'utf8')) as Record<string, unknown>;
          const provenance = report.provenance as Record<string, unknown>;
          await writeFile(
            `${opts.out}.json`,
            `${JSON.stringify(
              {
                ...report,
                [output]: opts.out,
                trigger: triggerPath,
                run: { id: run.id, project: store.path },
                provenance: { ...provenance, command: `vetbench ${process.argv.slice(2).join(' ')}` },
              },
              null,
              2,
            )}\n`,
          );
          console.log(`${opts.out}\n${triggerPath}\n${opts.out}.json`);
        },
      );
    });
}
