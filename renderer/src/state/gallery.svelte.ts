/**
 * Image artifacts (trigger previews, overlays, plots) of several runs, lined up by file name so the same
 * picture of each run sits side by side.
 */
import type { ApiClient, ApiError, ArtifactInfo } from '../../../electron/api/contract.js';
import { toDisplayError } from '../lib/display-error.js';

export interface GalleryCell {
  readonly artifact: ArtifactInfo;
  readonly url: string;
}

export interface GalleryRow {
  readonly name: string;
  /** One cell per run, in run order; null where that run has no such image. */
  readonly cells: readonly (GalleryCell | null)[];
}

export class GalleryState {
  rows = $state<GalleryRow[]>([]);
  loading = $state(false);
  loaded = $state(false);
  error = $state<ApiError | null>(null);

  constructor(
    private readonly api: ApiClient,
    readonly runIds: readonly number[],
  ) {}

  async load(): Promise<void> {
    this.loading = true;
    try {
      const perRun = await Promise.all(
        this.runIds.map(async (runId) => {
          const { artifacts } = await this.api.listArtifacts({ runId });
          const images = artifacts.filter(isPicture);
          const cells = await Promise.all(
            images.map(async (artifact) => ({
              artifact,
              url: (await this.api.artifactUrl({ artifactId: artifact.id })).url,
            })),
          );
          return new Map(cells.map((c) => [c.artifact.name, c]));
        }),
      );
      this.rows = galleryRows(perRun);
      this.error = null;
      this.loaded = true;
    } catch (e) {
      this.error = toDisplayError(e);
    } finally {
      this.loading = false;
    }
  }
}

export function isPicture(artifact: ArtifactInfo): boolean {
  return artifact.mediaType.startsWith('image/');
}

/** Rows by file name, names in first-seen order. */
export function galleryRows(perRun: readonly ReadonlyMap<string, GalleryCell>[]): GalleryRow[] {
  const names: string[] = [];
  for (const run of perRun) for (const name of run.keys()) if (!names.includes(name)) names.push(name);
  return names.map((name) => ({ name, cells: perRun.map((run) => run.get(name) ?? null) }));
}
