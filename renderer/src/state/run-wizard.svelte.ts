/**
 * The Attack and Defend wizards: model, dataset, method (and for attacks the target class and trigger), the
 * method's generated parameter form, seed; starts one run.
 */
import type {
  ApiClient,
  ApiError,
  MethodInfo,
  RunKind,
  StartRunRequest,
  TriggerInfo,
} from '../../../electron/api/contract.js';
import { toDisplayError } from '../lib/display-error.js';
import { ParamForm } from './param-form.svelte.js';
import { RunForm } from './run-form.svelte.js';
import { loadSavedTriggers, type SavedTrigger } from './saved-triggers.js';

/** A trigger a defense can be measured with: a saved trigger file, or a family at one of its sweep sizes. */
export interface MeasureTrigger {
  /** `artifact:<id>` or `family:<id>:<sweep index>`, the select's value. */
  readonly key: string;
  readonly label: string;
  readonly choice: NonNullable<StartRunRequest['trigger']>;
  /** The class its attack forced, for saved triggers. */
  readonly target: string | null;
}

export class RunWizard extends RunForm {
  readonly kind: Extract<RunKind, 'attack' | 'defense'>;
  readonly methods: readonly MethodInfo[];
  readonly triggers: readonly TriggerInfo[];
  methodId = $state<string | null>(null);
  target = $state('');
  /**
   * Defenses only: the trigger and target to measure CA and ASR before and after hardening with (optional;
   * without them only CA is measured and the verdict cannot say whether the backdoor was removed).
   */
  measureKey = $state('');
  measureTarget = $state('');
  savedTriggers = $state<SavedTrigger[]>([]);
  savedTriggersError = $state<ApiError | null>(null);

  form = $state<ParamForm>(new ParamForm({}));

  readonly method: MethodInfo | undefined;

  readonly blocker = $derived.by((): string | null => {
    if (this.modelId === null) return 'Choose a model.';
    if (this.datasetId === null) return 'Choose a dataset.';
    if (!this.method) return 'Choose a method.';
    if (this.method.needsTarget && this.target === '') return 'Choose the target class.';
    if (this.measureKey !== '' && this.measureTarget === '') return 'Choose the target class of the trigger.';
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
    super(api);
    this.kind = kind;
    this.methods = methods;
    this.triggers = triggers;
    this.method = $derived(this.methods.find((m) => m.id === this.methodId));
    const first = methods[0];
    if (first) this.chooseMethod(first.id);
  }

  /** What a defense can be measured with: the project's saved trigger files, then the families' sweep sizes. */
  get measureTriggers(): MeasureTrigger[] {
    if (this.kind !== 'defense' || !this.method?.acceptsTrigger) return [];
    return [
      ...this.savedTriggers.map((t) => ({
        key: `artifact:${t.artifactId}`,
        label: `${t.fileName} of run #${t.runId} (${t.method}${t.target ? ` → ${t.target}` : ''})`,
        choice: { source: 'artifact' as const, artifactId: t.artifactId },
        target: t.target,
      })),
      ...this.triggers
        .filter((t) => t.needsModel !== true)
        .flatMap((t) =>
          (t.sweep ?? [{ label: 'defaults', params: {} }]).map((point, i) => ({
            key: `family:${t.id}:${i}`,
            label: `${t.title}, ${point.label}`,
            choice: { source: 'family' as const, family: t.id, params: point.params },
            target: null,
          })),
        ),
    ];
  }

  chooseMeasureTrigger(key: string): void {
    this.measureKey = key;
    const picked = this.measureTriggers.find((t) => t.key === key);
    if (picked?.target) this.measureTarget = picked.target;
  }

  async loadSavedTriggers(): Promise<void> {
    try {
      this.savedTriggers = await loadSavedTriggers(this.api);
      this.savedTriggersError = null;
    } catch (e) {
      this.savedTriggersError = toDisplayError(e);
    }
  }

  chooseMethod(id: string): void {
    this.methodId = id;
    const method = this.methods.find((m) => m.id === id);
    this.form = new ParamForm(method?.params ?? {});
  }

  private measurement(): Pick<StartRunRequest, 'trigger' | 'target'> {
    const picked = this.measureTriggers.find((t) => t.key === this.measureKey);
    return picked ? { trigger: picked.choice, target: this.measureTarget } : {};
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
      ...this.measurement(),
      params,
      ...this.seedAndLabel(),
    };
  }
}
