/**
 * The prompt files the project's finished defense runs wrote (hardened prompts): a Vet check through one
 * measures the hardened model (the clean model plus that file).
 */
import type { ApiClient } from '../../../electron/api/contract.js';

export interface SavedPromptFile {
  readonly artifactId: number;
  readonly fileName: string;
  readonly runId: number;
  readonly method: string;
  /** The model the defense hardened: the file is refused on another model. */
  readonly modelId: number;
}

/** Defense runs looked at (newest first); enough for a project without paging. */
const DEFENSE_RUN_LIMIT = 500;

export async function loadSavedPromptFiles(api: ApiClient): Promise<SavedPromptFile[]> {
  const { runs } = await api.listRuns({ kind: ['defense'], status: ['done'], limit: DEFENSE_RUN_LIMIT });
  const perRun = await Promise.all(
    runs.map(async (run) =>
      (await api.listArtifacts({ runId: run.id })).artifacts
        .filter((a) => a.kind === 'prompt')
        .map((a) => ({
          artifactId: a.id,
          fileName: a.name,
          runId: run.id,
          method: run.method,
          modelId: run.modelId,
        })),
    ),
  );
  return perRun.flat();
}
