/**
 * The Attack and Defend wizards: model, dataset, method (and for attacks the target class and trigger), the
 * method's generated parameter form, seed; starts one run.
 */
import type {
  ApiClient,
  ApiError,
  MethodInfo,
  RunKind,
  RunSummary,
  StartRunRequest,
  TriggerInfo,
} from '../../../electron/api/contract.js';
import { toDisplayError } from '../lib/display-error.js';
import { ParamForm } from './param-form.svelte.js';

const MAX_SEED = 2 ** 31 - 1;

export class RunWizard {
  private readonly api: ApiClient;
  readonly kind: Extract<RunKind, 'attack' | 'defense'>;
  readonly methods: readonly MethodInfo[];
  readonly triggers: readonly TriggerInfo[];
  modelId = $state<number | null>(null);
  datasetId = $state<number | null>(null);
  methodId = $state<string | null>(null);
  target = $state('');
  seedText = $state('0');
  label = $state('');
  submitting = $state(false);
  error = $state<ApiError | null>(null);

  form = $state<ParamForm>(new ParamForm({}));

  readonly method: MethodInfo | undefined;

  readonly seedError = $derived.by(() => {
    const seed = Number(this.seedText.trim());
    if (this.seedText.trim() === '' || !Number.isInteger(seed) || seed < 0 || seed > MAX_SEED)
      return `A whole number from 0 to ${MAX_SEED}.`;
    return null;
  });

  /** Why the run cannot start yet, in words; null when it can. */
  readonly blocker = $derived.by((): string | null => {
    if (this.modelId === null) return 'Choose a model.';
    if (this.datasetId === null) return 'Choose a dataset.';
    if (!this.method) return 'Choose a method.';
    if (this.method.needsTarget && this.target === '') return 'Choose the target class.';
    if (this.seedError) return 'Fix the seed.';
    if (!this.form.valid) return 'Fix the highlighted parameters.';
    return null;
  });

  constructor(
    api: ApiClient,
    kind: Extract<RunKind, 'attack' | 'defense'>,
    methods: readonly MethodInfo[],
    triggers: readonly TriggerInfo[],
  ) {
    this.api = api;
    this.kind = kind;
    this.methods = methods;
    this.triggers = triggers;
    this.method = $derived(this.methods.find((m) => m.id === this.methodId));
    const first = methods[0];
    if (first) this.chooseMethod(first.id);
  }

  chooseMethod(id: string): void {
    this.methodId = id;
    const method = this.methods.find((m) => m.id === id);
    this.form = new ParamForm(method?.params ?? {});
  }

  /** The model and dataset default to the newest of each once they are known. */
  preselect(modelId: number | undefined, datasetId: number | undefined): void {
    if (this.modelId === null && modelId !== undefined) this.modelId = modelId;
    if (this.datasetId === null && datasetId !== undefined) this.datasetId = datasetId;
  }

  request(): StartRunRequest | null {
    const params = this.form.values();
    if (this.blocker || !params || !this.method || this.modelId === null || this.datasetId === null)
      return null;
    return {
      kind: this.kind,
      method: this.method.id,
      modelId: this.modelId,
      datasetId: this.datasetId,
      ...(this.method.needsTarget ? { target: this.target } : {}),
      seed: Number(this.seedText.trim()),
      params,
      ...(this.label.trim() ? { label: this.label.trim() } : {}),
    };
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
