/** The comparisons saved in the project, newest first, to reopen from the Compare screen. */
import type { ApiClient, SavedComparison } from '../../../electron/api/contract.js';
import { LoadedState } from './loaded-state.svelte.js';

export class SavedComparisonsState extends LoadedState {
  comparisons = $state<SavedComparison[]>([]);

  constructor(private readonly api: ApiClient) {
    super();
  }

  async load(): Promise<void> {
    await this.read(async () => {
      this.comparisons = (await this.api.listComparisons({})).comparisons;
    });
  }
}
