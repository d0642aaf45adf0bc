/**
 * What the Explain screen draws from the project's earlier runs: the triggers attack runs saved, the prompt
 * files defense runs wrote (e.g. RVPT's hardened prompts), and the explanations made so far.
 */
import type { ApiClient, ArtifactInfo, RunSummary } from '../../../electron/api/contract.js';
import { LoadedState } from './loaded-state.svelte.js';
import { savedTriggersOf, type SavedTrigger } from './saved-triggers.js';

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

export class ExplainSources extends LoadedState {
  /** Triggers saved by finished attack runs. */
  triggers = $state<SavedTrigger[]>([]);
  prompts = $state<PromptArtifactOption[]>([]);
  /** The newest explanation runs, newest first. */
  recent = $state<RunSummary[]>([]);

  constructor(private readonly api: ApiClient) {
    super();
  }

  /** Only the explanation list: cheap enough for every status change. */
  async loadRecent(): Promise<void> {
    await this.read(
      async () => {
        this.recent = (await this.api.listRuns({ kind: ['explain'], limit: RECENT_EXPLANATIONS })).runs;
      },
      { marksLoaded: false },
    );
  }

  async load(): Promise<void> {
    await this.read(async () => {
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
      this.triggers = withArtifacts.flatMap(({ run, artifacts }) => savedTriggersOf(run, artifacts));
      const kinds = await Promise.all(
        withArtifacts.map(({ run, artifacts }) => this.promptKindOf(run, artifacts)),
      );
      this.prompts = withArtifacts.flatMap(({ run, artifacts }, i) =>
        explainable(kinds[i] ?? null) ? promptOptions(run, artifacts) : [],
      );
      this.recent = explanations.runs;
    });
  }

  /** What a defense run's prompt file holds (its result's prompt_kind), or null when unknown (older runs). */
  private async promptKindOf(run: RunSummary, artifacts: readonly ArtifactInfo[]): Promise<string | null> {
    if (run.kind !== 'defense' || !artifacts.some((a) => a.kind === 'prompt')) return null;
    try {
      const kind = (await this.api.getRun({ runId: run.id })).result?.['prompt_kind'];
      return typeof kind === 'string' ? kind : null;
    } catch {
      return null; // offered; the job says what is wrong if it cannot use the file
    }
  }

  /** Prompt files made for this model (a prompt file is refused on another model's weights). */
  promptsFor(modelId: number | null): PromptArtifactOption[] {
    return this.prompts.filter((p) => p.modelId === modelId);
  }

  /** The trigger saved by the attack run that produced this model, if any. */
  triggerOfRun(runId: number | null): SavedTrigger | undefined {
    return runId === null ? undefined : this.triggers.find((t) => t.runId === runId);
  }
}

/**
 * Explanations run the model with deep visual prompts (RVPT, VPT); class-wise (CBPT) or text prompt files
 * always fail there, so they are not offered. Unknown kinds (runs from before the kind was recorded) are.
 */
export function explainable(promptKind: string | null): boolean {
  return promptKind === null || promptKind === 'visual-deep';
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
