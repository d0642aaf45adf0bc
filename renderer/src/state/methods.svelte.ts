/** The runnable methods and trigger families the back end declares; wizards are generated from these. */
import type { ApiClient, MethodInfo, RunKind, TriggerInfo } from '../../../electron/api/contract.js';
import { LoadedState } from './loaded-state.svelte.js';

export class MethodsState extends LoadedState {
  methods = $state<MethodInfo[]>([]);
  triggers = $state<TriggerInfo[]>([]);

  constructor(private readonly api: ApiClient) {
    super();
  }

  async load(): Promise<void> {
    if (this.loaded) return;
    await this.read(async () => {
      const listed = await this.api.listMethods({});
      this.methods = listed.methods;
      this.triggers = listed.triggers;
    });
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
