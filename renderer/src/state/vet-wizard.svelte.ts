/**
 * The Vet wizard: is this model backdoored? Starts a clean evaluation, one evaluation per chosen known trigger
 * family and per chosen trigger saved by an attack run of the project (ASR towards the suspected target), and
 * the chosen trigger scanners, all on one model and dataset.
 */
import type {
  ApiClient,
  ApiError,
  MethodInfo,
  RunSummary,
  StartRunRequest,
  TriggerInfo,
} from '../../../electron/api/contract.js';
import { toDisplayError } from '../lib/display-error.js';
import { toggled } from '../lib/toggle.js';
import { ParamForm } from './param-form.svelte.js';
import { loadSavedPromptFiles, type SavedPromptFile } from './saved-prompts.js';
import { loadSavedTriggers, type SavedTrigger } from './saved-triggers.js';

export class VetWizard {
  modelId = $state<number | null>(null);
  datasetId = $state<number | null>(null);
  target = $state('');
  seedText = $state('0');
  /** Trigger family ids to test. */
  families = $state<string[]>([]);
  /**
   * Test each chosen family at its usual sizes (the back end's `sweep`) instead of the one set in its form: a
   * single size can miss a backdoor implanted at another (16 px BadNet finds 0.5% where 112 px finds 87%).
   */
  sweep = $state(true);
  /** Triggers saved by the project's attack runs, and the artifact ids of those chosen. */
  savedTriggers = $state<SavedTrigger[]>([]);
  savedTriggersLoaded = $state(false);
  savedTriggersError = $state<ApiError | null>(null);
  chosenTriggers = $state<number[]>([]);
  /** Prompt files of the project's defense runs; the chosen one makes every evaluation vet the hardened model. */
  promptFiles = $state<SavedPromptFile[]>([]);
  promptsArtifactId = $state<number | null>(null);
  /** Scanner method ids to run (none until chosen: a scan is a long job). */
  scanners = $state<string[]>([]);
  submitting = $state(false);
  error = $state<ApiError | null>(null);
  started = $state<RunSummary[]>([]);

  /** One form per scanner, generated from its parameters. */
  readonly scannerForms: Readonly<Record<string, ParamForm>>;
  /** One form per trigger family (e.g. patch size, blend ratio), generated from its parameters. */
  readonly familyForms: Readonly<Record<string, ParamForm>>;
  /** The evaluation method that measures CA and ASR of a trigger (backdoor-eval). */
  readonly evalMethod: MethodInfo | undefined;

  readonly blocker = $derived.by((): string | null => {
    if (this.modelId === null) return 'Choose a model.';
    if (this.datasetId === null) return 'Choose a dataset.';
    if ((this.families.length > 0 || this.chosenTriggers.length > 0) && this.target === '')
      return 'Choose the suspected target class.';
    if (this.families.length === 0 && this.scanners.length === 0 && !this.evalMethod)
      return 'Choose at least one trigger family or scanner.';
    const seed = Number(this.seedText);
    if (!Number.isInteger(seed) || seed < 0) return 'The seed is a whole number ≥ 0.';
    if (this.scanners.some((id) => !this.scannerForms[id]?.valid))
      return 'Fix the highlighted scanner parameters.';
    if (this.families.some((id) => !this.familyForms[id]?.valid))
      return 'Fix the highlighted trigger parameters.';
    return null;
  });

  constructor(
    private readonly api: ApiClient,
    readonly scanMethods: readonly MethodInfo[],
    readonly evalMethods: readonly MethodInfo[],
    readonly triggers: readonly TriggerInfo[],
  ) {
    this.evalMethod = evalMethods.find((m) => m.acceptsTrigger) ?? evalMethods[0];
    this.scannerForms = Object.fromEntries(scanMethods.map((m) => [m.id, new ParamForm(m.params)]));
    this.familyForms = Object.fromEntries(triggers.map((t) => [t.id, new ParamForm(t.params)]));
  }

  preselect(modelId: number | undefined, datasetId: number | undefined): void {
    if (this.modelId === null && modelId !== undefined) this.modelId = modelId;
    if (this.datasetId === null && datasetId !== undefined) this.datasetId = datasetId;
  }

  /** Families built from parameters alone; optimised triggers come from the attack run that saved them. */
  usable(trigger: TriggerInfo): boolean {
    return trigger.needsModel !== true;
  }

  toggleFamily(id: string, on: boolean): void {
    this.families = toggled(this.families, id, on);
  }

  async loadSavedTriggers(): Promise<void> {
    try {
      this.savedTriggers = await loadSavedTriggers(this.api);
      this.savedTriggersError = null;
      this.savedTriggersLoaded = true;
    } catch (e) {
      this.savedTriggersError = toDisplayError(e);
    }
  }

  async loadPromptFiles(): Promise<void> {
    try {
      this.promptFiles = await loadSavedPromptFiles(this.api);
    } catch (e) {
      this.savedTriggersError = toDisplayError(e);
    }
  }

  /** Prompt files made for the chosen model (another model's file is refused). */
  promptFilesForModel(): SavedPromptFile[] {
    return this.promptFiles.filter((p) => p.modelId === this.modelId);
  }

  toggleSavedTrigger(artifactId: number, on: boolean): void {
    this.chosenTriggers = toggled(this.chosenTriggers, artifactId, on);
  }

  toggleScanner(id: string, on: boolean): void {
    this.scanners = toggled(this.scanners, id, on);
  }

  /** The parameter sets a family is tested at: its sweep, or the form's one set. */
  checksOf(family: string): { label: string; params: Readonly<Record<string, string | number | boolean>> }[] {
    const sweep = this.triggers.find((t) => t.id === family)?.sweep ?? [];
    if (this.sweep && sweep.length > 0) return sweep;
    const params = this.familyForms[family]?.values() ?? {};
    const label = Object.entries(params)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(', ');
    return [{ label: label || 'defaults', params }];
  }

  /** The runs this vetting consists of, in the order they start. */
  requests(): StartRunRequest[] {
    if (this.blocker || this.modelId === null || this.datasetId === null) return [];
    const base = { modelId: this.modelId, datasetId: this.datasetId, seed: Number(this.seedText) };
    const runs: StartRunRequest[] = [];
    const prompt = this.promptFilesForModel().find((p) => p.artifactId === this.promptsArtifactId);
    // Evaluations go through the prompt file (the hardened model); scans look at the weights alone.
    const through = prompt
      ? { promptsArtifactId: prompt.artifactId, suffix: `, with ${prompt.fileName} of run #${prompt.runId}` }
      : { suffix: '' };
    if (this.evalMethod) {
      runs.push({
        ...base,
        kind: 'eval',
        method: this.evalMethod.id,
        params: {},
        label: 'Vet: clean accuracy',
      });
      for (const family of this.families)
        for (const point of this.checksOf(family))
          runs.push({
            ...base,
            kind: 'eval',
            method: this.evalMethod.id,
            target: this.target,
            trigger: { source: 'family', family, params: point.params },
            params: {},
            label: `Vet: ${family} ${point.label} → ${this.target}`,
          });
      for (const artifactId of this.chosenTriggers) {
        const saved = this.savedTriggers.find((t) => t.artifactId === artifactId);
        runs.push({
          ...base,
          kind: 'eval',
          method: this.evalMethod.id,
          target: this.target,
          trigger: { source: 'artifact', artifactId },
          params: {},
          label: `Vet: ${saved?.fileName ?? 'trigger'} of run #${saved?.runId ?? '?'} (${saved?.method ?? 'attack'}) → ${this.target}`,
        });
      }
    }
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i]!;
      runs[i] = {
        ...run,
        ...(through.promptsArtifactId !== undefined ? { promptsArtifactId: through.promptsArtifactId } : {}),
        label: `${run.label ?? ''}${through.suffix}`,
      };
    }
    for (const id of this.scanners) {
      const params = this.scannerForms[id]?.values();
      if (params) runs.push({ ...base, kind: 'scan', method: id, params, label: `Vet: scan ${id}` });
    }
    return runs;
  }

  async submit(): Promise<RunSummary[]> {
    const requests = this.requests();
    if (requests.length === 0) return [];
    this.submitting = true;
    this.error = null;
    this.started = [];
    try {
      for (const request of requests) this.started = [...this.started, await this.api.startRun(request)];
    } catch (e) {
      this.error = toDisplayError(e);
    } finally {
      this.submitting = false;
    }
    return this.started;
  }
}
