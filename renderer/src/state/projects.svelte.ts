/**
 * Switching projects: the recent project files, opening another one by path, creating a new one. After a
 * switch the whole app reloads its state for the new project (AppState.projectChanged).
 */
import type { ApiClient, ApiError, ProjectInfo, RecentProject } from '../../../electron/api/contract.js';
import { toDisplayError } from '../lib/display-error.js';

export type ProjectAction = 'open' | 'create';

export class ProjectsState {
  recent = $state<RecentProject[]>([]);
  loaded = $state(false);
  /** The path being opened or created, for the buttons' busy state. */
  busy = $state<{ action: ProjectAction; path: string } | null>(null);
  error = $state<ApiError | null>(null);

  /** Projects left while their runs go on (they keep running in the background). */
  readonly running = $derived(this.recent.filter((p) => !p.current && p.activeRuns > 0));

  constructor(
    private readonly api: ApiClient,
    /** Called after the back end switched: the app reloads everything. */
    private readonly onSwitched: (project: ProjectInfo) => Promise<void>,
  ) {}

  async load(): Promise<void> {
    try {
      this.recent = (await this.api.listProjects({})).projects;
      this.loaded = true;
    } catch (e) {
      this.error = toDisplayError(e);
    }
  }

  /** Opens an existing project file (`create` false) or creates a new one; true when switched. */
  async open(path: string, action: ProjectAction = 'open'): Promise<boolean> {
    const trimmed = path.trim();
    if (!trimmed || this.busy) return false;
    this.busy = { action, path: trimmed };
    this.error = null;
    try {
      const project = await this.api.openProject({ path: trimmed, create: action === 'create' });
      await this.onSwitched(project);
      await this.load();
      return true;
    } catch (e) {
      this.error = toDisplayError(e);
      return false;
    } finally {
      this.busy = null;
    }
  }
}
