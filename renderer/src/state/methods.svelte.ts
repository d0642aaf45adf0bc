/** The runnable methods and trigger families the back end declares; wizards are generated from these. */
import type {
  ApiClient,
  ApiError,
  MethodInfo,
  RunKind,
  TriggerInfo,
} from '../../../electron/api/contract.js';
import { toDisplayError } from '../lib/display-error.js';

export class MethodsState {
  methods = $state<MethodInfo[]>([]);
  triggers = $state<TriggerInfo[]>([]);
  loaded = $state(false);
  error = $state<ApiError | null>(null);

  constructor(private readonly api: ApiClient) {}

  async load(): Promise<void> {
    if (this.loaded) return;
    try {
      const listed = await this.api.listMethods({});
      this.methods = listed.methods;
      this.triggers = listed.triggers;
      this.loaded = true;
      this.error = null;
    } catch (e) {
      this.error = toDisplayError(e);
    }
  }

  ofKind(kind: RunKind): MethodInfo[] {
    return this.methods.filter((m) => m.kind === kind);
  }

  find(kind: RunKind, id: string): MethodInfo | undefined {
    return this.methods.find((m) => m.kind === kind && m.id === id);
  }

  trigger(id: string): TriggerInfo | undefined {
    return this.triggers.find((t) => t.id === id);
  }
}
