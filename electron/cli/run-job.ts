import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import type { ArtifactInfo, ParamValues, RunSummary, TriggerChoice } from '../api/contract.js';
import { VetbenchError } from '../../engine/errors.js';
import { TRIGGER_FAMILIES } from '../../engine/methods/registry.js';
import { loadPromptFile } from '../../engine/prompts/prompt-file.js';
import { loadTrigger } from '../../engine/triggers/trigger-file.js';
import { readRegularFile } from '../../engine/util/regular-file.js';
import { followRun } from '../jobs/follow-run.js';
import { JobHost, type JobHostOptions } from '../jobs/job-host.js';
import { importDatasetInto, importModelInto } from '../store/imports.js';
import { openProject } from '../store/open-project.js';
import type { ProjectStore } from '../store/project-store.js';

/** The project's copies of files the user named (copy path -> the path as the user gave it), for messages. */
const userPathOfCopy = new Map<string, string>();

/** `text` with every project copy of an imported file named by the user's own path instead. */
export function withUserPaths(text: string): string {
  let out = text;
  for (const [copy, given] of userPathOfCopy) out = out.split(copy).join(given);
  return out;
}

/**
 * Copies a file the user named (a saved trigger, a prompt file) into the project's artifact folder, so a
 * run refers to its own copy. The name carries the content hash: the same file is stored once. Prompt files
 * and triggers are checked first, from the user's path, so a damaged file is refused before a run is queued
 * and the message names the file the user gave; the run's own messages are mapped back by `followToDone`.
 */
export async function importFileArtifact(
  store: ProjectStore,
  path: string,
  kind: ArtifactInfo['kind'],
  mediaType = 'application/octet-stream',
): Promise<ArtifactInfo> {
  if (kind === 'prompt') await loadPromptFile(path);
  if (kind === 'trigger') await loadTrigger(path, TRIGGER_FAMILIES);
  const data = await readRegularFile(path);
  const sha = createHash('sha256').update(data).digest('hex');
  const artifact = await store.writeArtifact(
    null,
    kind,
    `import-${sha.slice(0, 16)}-${basename(path)}`,
    data,
    mediaType,
  );
  userPathOfCopy.set(store.getArtifact(artifact.id).path, path);
  return artifact;
}

/** `--trigger <family|file>`: an existing file is imported as a trigger artifact, anything else is a family. */
export async function triggerChoiceFromArg(
  store: ProjectStore,
  arg: string,
  params: ParamValues = {},
): Promise<TriggerChoice> {
  if (existsSync(arg)) {
    if (Object.keys(params).length)
      throw new VetbenchError(
        'bad-option',
        '--param cannot change a saved trigger',
        'Drop --param, or name a trigger family instead of a file.',
      );
    return { source: 'artifact', artifactId: (await importFileArtifact(store, arg, 'trigger')).id };
  }
  return { source: 'family', family: arg, params };
}

/** Follows a submitted run in the terminal; a run that did not finish becomes the error the CLI prints. */
export async function followToDone(host: JobHost, store: ProjectStore, runId: number): Promise<RunSummary> {
  const run = await followRun(host, runId);
  if (run.status !== 'done') {
    const error = run.error ?? {
      code: `run-${run.status}`,
      message: `run ${run.id} ended ${run.status}`,
      hint: `Resume it: vetbench resume ${run.id} --project ${store.path}`,
    };
    throw new VetbenchError(error.code, withUserPaths(error.message), withUserPaths(error.hint));
  }
  return run;
}

/** Absolute path of the run's artifact called `name`; a missing one is a bug in the job kind. */
export function runArtifactPath(store: ProjectStore, runId: number, name: string): string {
  const artifact = store.listArtifacts(runId).find((a) => a.name === name);
  if (!artifact)
    throw new VetbenchError(
      'artifact-missing',
      `run ${runId} has no artifact '${name}'`,
      'This is a bug in the job; report it with `vetbench runs show`.',
    );
  return store.getArtifact(artifact.id).path;
}

/** Whether the run wrote an artifact called `name`. */
export function hasRunArtifact(store: ProjectStore, runId: number, name: string): boolean {
  return store.listArtifacts(runId).some((a) => a.name === name);
}

/**
 * Opens the project (`--project`, default in the user data folder), starts its job host, runs `body`, and
 * always stops the host and closes the store, whatever `body` throws: the frame of every CLI command that
 * runs a method as a job.
 */
export async function withJobHost<T>(
  project: string | undefined,
  hostOptions: JobHostOptions,
  body: (store: ProjectStore, host: JobHost) => Promise<T>,
): Promise<T> {
  const store = openProject(project);
  const host = new JobHost(store, hostOptions);
  try {
    host.start();
    return await body(store, host);
  } finally {
    await host.close();
    store.close();
  }
}

/** Imports the dataset named on the command line; the built-in demo is generated on first use, and says so. */
export function importDatasetArg(store: ProjectStore, dataset: string): ReturnType<typeof importDatasetInto> {
  return importDatasetInto(store, dataset, {
    onGenerated: (root, images) =>
      console.error(`Generated the built-in demo dataset (${images} images) in ${root}`),
  });
}

/** The model and dataset a job command names, as records of the project. */
export async function importSubjects(
  store: ProjectStore,
  model: string,
  dataset: string,
): Promise<{
  model: Awaited<ReturnType<typeof importModelInto>>;
  dataset: Awaited<ReturnType<typeof importDatasetInto>>;
}> {
  return { model: await importModelInto(store, model), dataset: await importDatasetArg(store, dataset) };
}
