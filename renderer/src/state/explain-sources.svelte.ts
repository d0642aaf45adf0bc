/**
 * What the Explain screen draws from the project's earlier runs: the triggers attack runs saved, the prompt
 * files defense runs wrote (e.g. RVPT's hardened prompts), and the explanations made so far.
 */
import type { ApiClient, ApiError, ArtifactInfo, RunSummary } from '../../../electron/api/contract.js';
import { toDisplayError } from '../lib/display-error.js';

/** A trigger file saved by a finished attack run. */
export interface TriggerArtifactOption {
  readonly artifactId: number;
  readonly runId: number;
  readonly runLabel: string;
  readonly method: string;
  /** The class the attack forces: the natural target when explaining its trigger. */
  readonly target: string | null;
}

/** A prompt file written by a finished defense run, tied to the model that run hardened. */
export interface PromptArtifactOption {
  readonly artifactId: number;
  readonly runId: number;
  readonly runLabel: string;
  readonly method: string;
  readonly modelId: number;
  /** Its path inside the project's artifact folder, as explain params name project files. */
  readonly path: string;
}

/** Enough runs to find the project's triggers and prompt files without paging. */
const RUN_LIMIT = 1000;
const RECENT_EXPLANATIONS = 20;

export class ExplainSources {
  triggers = $state<TriggerArtifactOption[]>([]);
  prompts = $state<PromptArtifactOption[]>([]);
  /** The newest explanation runs, newest first. */
  recent = $state<RunSummary[]>([]);
  loaded = $state(false);
  error = $state<ApiError | null>(null);

  constructor(private readonly api: ApiClient) {}

  /** Only the explanation list: cheap enough for every status change. */
  async loadRecent(): Promise<void> {
    try {
      this.recent = (await this.api.listRuns({ kind: ['explain'], limit: RECENT_EXPLANATIONS })).runs;
      this.error = null;
    } catch (e) {
      this.error = toDisplayError(e);
    }
  }

  async load(): Promise<void> {
    try {
      const [producers, explanations] = await Promise.all([
        this.api.listRuns({ kind: ['attack', 'defense'], status: ['done'], limit: RUN_LIMIT }),
        this.api.listRuns({ kind: ['explain'], limit: RECENT_EXPLANATIONS }),
      ]);
      const withArtifacts = await Promise.all(
        producers.runs.map(async (run) => ({
          run,
          artifacts: (await this.api.listArtifacts({ runId: run.id })).artifacts,
        })),
      );
      this.triggers = withArtifacts.flatMap(({ run, artifacts }) => triggerOptions(run, artifacts));
      this.prompts = withArtifacts.flatMap(({ run, artifacts }) => promptOptions(run, artifacts));
      this.recent = explanations.runs;
      this.error = null;
      this.loaded = true;
    } catch (e) {
      this.error = toDisplayError(e);
    }
  }

  /** Prompt files made for this model (a prompt file is refused on another model's weights). */
  promptsFor(modelId: number | null): PromptArtifactOption[] {
    return this.prompts.filter((p) => p.modelId === modelId);
  }

  /** The trigger saved by the attack run that produced this model, if any. */
  triggerOfRun(runId: number | null): TriggerArtifactOption | undefined {
    return runId === null ? undefined : this.triggers.find((t) => t.runId === runId);
  }
}

export function triggerOptions(run: RunSummary, artifacts: readonly ArtifactInfo[]): TriggerArtifactOption[] {
  if (run.kind !== 'attack') return [];
  return artifacts
    .filter((a) => a.kind === 'trigger')
    .map((a) => ({
      artifactId: a.id,
      runId: run.id,
      runLabel: run.label,
      method: run.method,
      target: run.target,
    }));
}

export function promptOptions(run: RunSummary, artifacts: readonly ArtifactInfo[]): PromptArtifactOption[] {
  if (run.kind !== 'defense') return [];
  return artifacts
    .filter((a) => a.kind === 'prompt')
    .map((a) => ({
      artifactId: a.id,
      runId: run.id,
      runLabel: run.label,
      method: run.method,
      modelId: run.modelId,
      path: runArtifactPath(run.id, a.name),
    }));
}

/** Where the store keeps a run's artifact inside the artifact folder (ProjectStore.writeArtifact: run-<id>/<name>). */
export function runArtifactPath(runId: number, name: string): string {
  return `run-${runId}/${name}`;
}

/** A model file's path inside the artifact folder (models made by runs), or null for files kept elsewhere. */
export function artifactFolderPath(artifactsDir: string, file: string): string | null {
  const folder = artifactsDir.replace(/[\\/]+$/, '');
  const inside = file.startsWith(`${folder}/`) || file.startsWith(`${folder}\\`);
  return inside ? file.slice(folder.length + 1).replaceAll('\\', '/') : null;
}
