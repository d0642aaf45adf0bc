/**
 * The Explain screen's form: explanation method (Grad-CAM, attention, rollout, embedding map, PR curves),
 * model with an optional prompt file, dataset, an optional trigger (a family, or the trigger an attack run
 * saved) with its target class, the method's generated parameter form and the seed; starts one explain run.
 */
import type {
  ApiClient,
  MethodInfo,
  StartRunRequest,
  TriggerChoice,
  TriggerInfo,
} from '../../../electron/api/contract.js';
import { ParamForm } from './param-form.svelte.js';
import { RunForm } from './run-form.svelte.js';

export type TriggerSource = 'none' | 'family' | 'artifact';

/** Explanations that draw several models (maps, curves) instead of explaining one of them (overlays). */
const COMPARING_METHODS: readonly string[] = ['embedding-map', 'pr', 'logit-lens'];

/**
 * String parameters of the explain job that name a project file (a path inside the artifact folder): the
 * screen offers the project's models and prompt files for them instead of a text field. Any other parameter,
 * or these under another kind, stays in the generated form.
 */
export const FILE_PARAMS = ['compareModel', 'comparePrompts'] as const;
export type FileParam = (typeof FILE_PARAMS)[number];

export class ExplainForm extends RunForm {
  readonly methods: readonly MethodInfo[];
  /** Trigger families built from parameters alone (optimised ones come from their attack run's artifact). */
  readonly families: readonly TriggerInfo[];
  readonly familyForms: Readonly<Record<string, ParamForm>>;

  methodId = $state<string | null>(null);
  promptsArtifactId = $state<number | null>(null);
  triggerSource = $state<TriggerSource>('none');
  family = $state('');
  triggerArtifactId = $state<number | null>(null);
  target = $state('');
  form = $state<ParamForm>(new ParamForm({}));
  /** Values of the chosen method's file parameters (only those it declares), '' = none. */
  files = $state<Partial<Record<FileParam, string>>>({});
  /** Set once the analyst picks a trigger source, so suggestions stop overriding the choice. */
  private triggerTouched = false;

  readonly method: MethodInfo | undefined;
  /** True when the chosen method compares the model without and with the prompt file. */
  readonly compares: boolean;

  /** Why the run cannot start yet, in words; null when it can. */
  readonly blocker = $derived.by((): string | null => {
    if (this.modelId === null) return 'Choose a model.';
    if (this.datasetId === null) return 'Choose a dataset.';
    if (!this.method) return 'Choose an explanation method.';
    if (this.triggerSource === 'family' && this.family === '') return 'Choose a trigger family.';
    if (this.triggerSource === 'artifact' && this.triggerArtifactId === null)
      return 'Choose the trigger an attack run saved.';
    if (this.triggerSource !== 'none' && this.target === '') return 'Choose the target class of the trigger.';
    if (this.triggerSource === 'family' && !this.familyForms[this.family]?.valid)
      return 'Fix the highlighted trigger parameters.';
    if (!this.form.valid) return 'Fix the highlighted parameters.';
    if (this.seedError) return 'Fix the seed.';
    return null;
  });

  constructor(api: ApiClient, methods: readonly MethodInfo[], triggers: readonly TriggerInfo[]) {
    super(api);
    this.methods = methods;
    this.families = triggers.filter((t) => t.needsModel !== true);
    this.familyForms = Object.fromEntries(this.families.map((t) => [t.id, new ParamForm(t.params)]));
    this.method = $derived(this.methods.find((m) => m.id === this.methodId));
    this.compares = $derived(this.methodId !== null && COMPARING_METHODS.includes(this.methodId));
    const first = methods[0];
    if (first) this.chooseMethod(first.id);
  }

  chooseMethod(id: string): void {
    this.methodId = id;
    const specs = { ...this.methods.find((m) => m.id === id)?.params };
    const files: Partial<Record<FileParam, string>> = {};
    for (const key of FILE_PARAMS) {
      const spec = specs[key];
      if (spec?.kind !== 'string') continue;
      files[key] = spec.default;
      delete specs[key];
    }
    this.files = files;
    this.form = new ParamForm(specs);
  }

  /** A prompt file belongs to one model: choosing another compared model drops the compared prompts. */
  chooseFile(key: FileParam, value: string): void {
    if (!(key in this.files)) return;
    if (key === 'compareModel' && value !== this.files.compareModel && 'comparePrompts' in this.files)
      this.files = { ...this.files, comparePrompts: '' };
    this.files = { ...this.files, [key]: value };
  }

  /** A prompt file belongs to one model: changing the model drops it (and the compared one, when that is this model). */
  chooseModel(id: number | null): void {
    if (id !== this.modelId) {
      this.promptsArtifactId = null;
      if (this.files.compareModel === '' && 'comparePrompts' in this.files)
        this.files = { ...this.files, comparePrompts: '' };
    }
    this.modelId = id;
  }

  /** Class names differ between datasets: changing the dataset drops the target. */
  chooseDataset(id: number | null): void {
    if (id !== this.datasetId) this.target = '';
    this.datasetId = id;
  }

  chooseTriggerSource(source: TriggerSource): void {
    this.triggerTouched = true;
    this.triggerSource = source;
    if (source === 'none') this.target = '';
  }

  /** Picking an attack's saved trigger also picks the class that attack forces. */
  chooseTriggerArtifact(artifactId: number | null, target: string | null): void {
    this.triggerArtifactId = artifactId;
    if (target) this.target = target;
  }

  /**
   * A model made by an attack run suggests that run's saved trigger and target (what an auditor explains
   * first), until the analyst picks a trigger source themselves.
   */
  suggestTrigger(option: { readonly artifactId: number; readonly target: string | null } | undefined): void {
    if (!option || this.triggerTouched || this.triggerSource !== 'none') return;
    this.triggerSource = 'artifact';
    this.chooseTriggerArtifact(option.artifactId, option.target);
  }

  trigger(): TriggerChoice | undefined {
    if (this.triggerSource === 'family' && this.family !== '')
      return { source: 'family', family: this.family, params: this.familyForms[this.family]?.values() ?? {} };
    if (this.triggerSource === 'artifact' && this.triggerArtifactId !== null)
      return { source: 'artifact', artifactId: this.triggerArtifactId };
    return undefined;
  }

  request(): StartRunRequest | null {
    const params = this.form.values();
    if (this.blocker || !params || !this.method || this.modelId === null || this.datasetId === null)
      return null;
    const trigger = this.trigger();
    return {
      kind: 'explain',
      method: this.method.id,
      modelId: this.modelId,
      datasetId: this.datasetId,
      ...(trigger ? { trigger, target: this.target } : {}),
      ...(this.promptsArtifactId !== null ? { promptsArtifactId: this.promptsArtifactId } : {}),
      params: { ...params, ...this.files },
      ...this.seedAndLabel(),
    };
  }
}
