import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import type { ArtifactInfo, ParamValues, RunSummary, TriggerChoice } from '../api/contract.js';
import { VetbenchError } from '../../engine/errors.js';
import { followRun } from '../jobs/follow-run.js';
import type { JobHost } from '../jobs/job-host.js';
import type { ProjectStore } from '../store/project-store.js';

/**
 * Copies a file the user named (a saved trigger, a prompt file) into the project's artifact folder, so a
 * run refers to its own copy. The name carries the content hash: the same file is stored once.
 */
export async function importFileArtifact(
  store: ProjectStore,
  path: string,
  kind: ArtifactInfo['kind'],
  mediaType = 'application/octet-stream',
): Promise<ArtifactInfo> {
  const data = await readFile(path);
  const sha = createHash('sha256').update(data).digest('hex');
  return store.writeArtifact(null, kind, `import-${sha.slice(0, 16)}-${basename(path)}`, data, mediaType);
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
    throw new VetbenchError(error.code, error.message, error.hint);
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
