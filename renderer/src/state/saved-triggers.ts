/**
 * The triggers the project's finished attack runs saved (trigger.safetensors and the like): an optimised
 * trigger (e.g. BadCLIP's patch) can only be evaluated as the file its attack produced.
 */
import type { ApiClient, ArtifactInfo, RunSummary } from '../../../electron/api/contract.js';

export interface SavedTrigger {
  readonly artifactId: number;
  readonly fileName: string;
  readonly runId: number;
  readonly runLabel: string;
  readonly method: string;
  /** The class that attack forced: the natural suspected target. */
  readonly target: string | null;
  readonly modelId: number;
}

/** Attack runs looked at (newest first); enough for a project without paging. */
const ATTACK_RUN_LIMIT = 500;

export function savedTriggersOf(run: RunSummary, artifacts: readonly ArtifactInfo[]): SavedTrigger[] {
  if (run.kind !== 'attack') return [];
  return artifacts
    .filter((a) => a.kind === 'trigger')
    .map((a) => ({
      artifactId: a.id,
      fileName: a.name,
      runId: run.id,
      runLabel: run.label,
      method: run.method,
      target: run.target,
      modelId: run.modelId,
    }));
}

export async function loadSavedTriggers(api: ApiClient): Promise<SavedTrigger[]> {
  const { runs } = await api.listRuns({ kind: ['attack'], status: ['done'], limit: ATTACK_RUN_LIMIT });
  const perRun = await Promise.all(
    runs.map(async (run) => savedTriggersOf(run, (await api.listArtifacts({ runId: run.id })).artifacts)),
  );
  return perRun.flat();
}
