/**
 * Export an artifact of a run (weights, trigger, prompt file, pictures) as a copy outside the project: into
 * the `exports` folder beside the project file, or to a folder or file the analyst names. The result says
 * where the copy went.
 */
import type { ApiClient, ApiError, ArtifactInfo } from '../../../electron/api/contract.js';
import { toDisplayError } from '../lib/display-error.js';

export class ArtifactExportState {
  /** Destination folder or file; empty for the default exports folder. */
  destination = $state('');
  /** The artifact being copied. */
  busyId = $state<number | null>(null);
  error = $state<ApiError | null>(null);
  exported = $state<{ artifact: ArtifactInfo; path: string } | null>(null);

  constructor(private readonly api: ApiClient) {}

  async export(artifact: ArtifactInfo): Promise<void> {
    this.busyId = artifact.id;
    this.exported = null;
    this.error = null;
    try {
      const destination = this.destination.trim();
      const { path } = await this.api.exportArtifact({
        artifactId: artifact.id,
        ...(destination ? { path: destination } : {}),
      });
      this.exported = { artifact, path };
    } catch (e) {
      this.error = toDisplayError(e);
    } finally {
      this.busyId = null;
    }
  }
}
