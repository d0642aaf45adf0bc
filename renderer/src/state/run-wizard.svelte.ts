/**
 * The Attack and Defend wizards: model, dataset, method (and for attacks the target class and trigger), the
 * method's generated parameter form, seed; starts one run.
 */
import type {
  ApiClient,
  MethodInfo,
  RunKind,
  StartRunRequest,
  TriggerInfo,
} from '../../../electron/api/contract.js';
import { ParamForm } from './param-form.svelte.js';
import { RunForm } from './run-form.svelte.js';

export class RunWizard extends RunForm {
  readonly kind: Extract<RunKind, 'attack' | 'defense'>;
  readonly methods: readonly MethodInfo[];
  readonly triggers: readonly TriggerInfo[];
  methodId = $state<string | null>(null);
  target = $state('');

  form = $state<ParamForm>(new ParamForm({}));

  readonly method: MethodInfo | undefined;

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
    super(api);
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
      params,
      ...this.seedAndLabel(),
    };
  }
}
