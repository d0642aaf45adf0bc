/**
 * What every form that starts one run shares (the Attack and Defend wizards, Explain): the model and dataset,
 * defaulting to the project's first; the seed and optional name in the run list; starting the run, with the
 * API's refusal kept for the screen to show.
 */
import type { ApiClient, ApiError, RunSummary, StartRunRequest } from '../../../electron/api/contract.js';
import { toDisplayError } from '../lib/display-error.js';

const MAX_SEED = 2 ** 31 - 1;

export abstract class RunForm {
  modelId = $state<number | null>(null);
  datasetId = $state<number | null>(null);
  seedText = $state('0');
  label = $state('');
  submitting = $state(false);
  error = $state<ApiError | null>(null);

  readonly seedError = $derived.by(() => {
    const seed = Number(this.seedText.trim());
    if (this.seedText.trim() === '' || !Number.isInteger(seed) || seed < 0 || seed > MAX_SEED)
      return `A whole number from 0 to ${MAX_SEED}.`;
    return null;
  });

  /** Why the run cannot start yet, in words; null when it can. */
  abstract readonly blocker: string | null;

  protected constructor(protected readonly api: ApiClient) {}

  /** The run to start, or null while something blocks it. */
  abstract request(): StartRunRequest | null;

  /** The model and dataset default to the first of each once they are known. */
  preselect(modelId: number | undefined, datasetId: number | undefined): void {
    if (this.modelId === null && modelId !== undefined) this.modelId = modelId;
    if (this.datasetId === null && datasetId !== undefined) this.datasetId = datasetId;
  }

  /** The request's seed, and its label when one was typed (the back end names the run otherwise). */
  protected seedAndLabel(): Pick<StartRunRequest, 'seed' | 'label'> {
    const label = this.label.trim();
    return { seed: Number(this.seedText.trim()), ...(label ? { label } : {}) };
  }

  async submit(): Promise<RunSummary | null> {
    const request = this.request();
    if (!request) return null;
    this.submitting = true;
    this.error = null;
    try {
      return await this.api.startRun(request);
    } catch (e) {
      this.error = toDisplayError(e);
      return null;
    } finally {
      this.submitting = false;
    }
  }
}
