/** State read from the back end: whether a read has succeeded yet, and why the last one failed. */
import type { ApiError } from '../../../electron/api/contract.js';
import { toDisplayError } from '../lib/display-error.js';

export abstract class LoadedState {
  loaded = $state(false);
  error = $state<ApiError | null>(null);

  /**
   * Runs one read. Success clears the error and marks the state loaded (a read of only part of it, `marksLoaded`
   * false, does not); failure keeps what is shown and says why.
   */
  protected async read(work: () => Promise<void>, { marksLoaded = true } = {}): Promise<void> {
    try {
      await work();
      this.error = null;
      if (marksLoaded) this.loaded = true;
    } catch (e) {
      this.error = toDisplayError(e);
    }
  }
}
