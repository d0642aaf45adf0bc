/** The comparisons saved in the project, newest first, to reopen from the Compare screen. */
import type { ApiClient, ApiError, SavedComparison } from '../../../electron/api/contract.js';
import { toDisplayError } from '../lib/display-error.js';

export class SavedComparisonsState {
  comparisons = $state<SavedComparison[]>([]);
  loaded = $state(false);
  error = $state<ApiError | null>(null);

  constructor(private readonly api: ApiClient) {}

  async load(): Promise<void> {
    try {
      this.comparisons = (await this.api.listComparisons({})).comparisons;
      this.error = null;
      this.loaded = true;
    } catch (e) {
      this.error = toDisplayError(e);
    }
  }
}
