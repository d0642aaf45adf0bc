/**
 * The app as a whole: the connection, the shared managers, one event subscription fanned out to them, and
 * navigation. Screens get what they need from here; components only get props.
 */
import type { ApiClient, ApiEvent, ClientEvent, ProjectInfo } from '../../../electron/api/contract.js';
import type { VetbenchBridge } from '../../../electron/app/bridge.js';
import { MethodsState } from './methods.svelte.js';
import { ProjectState } from './project.svelte.js';
import { ProjectsState } from './projects.svelte.js';
import { Router } from './router.svelte.js';
import { RunsState } from './runs.svelte.js';
import { ThemeState } from './theme.svelte.js';

type EventListener = (event: ApiEvent) => void;

/**
 * How often the store is asked for runs made elsewhere (the CLI, another Vetbench on the same project file):
 * their events go to the process that runs them, not to this window.
 */
const OUTSIDE_RUNS_POLL_MS = 4000;

export class AppState {
  readonly project: ProjectState;
  /** Recent projects and switching between them. */
  readonly projects: ProjectsState;
  /** Bumped when another project is shown: screens are rebuilt from scratch (no state of the old one). */
  generation = $state(0);
  readonly methods: MethodsState;
  readonly runs: RunsState;
  readonly router: Router;
  readonly theme: ThemeState;
  readonly api: ApiClient;
  readonly bridge: VetbenchBridge | null;
  readonly mode: 'electron' | 'serve';
  /** Runs queued or running, kept current from events (the badge in the navigation). */
  readonly activeRuns: number;
  private readonly listeners = new Set<EventListener>();
  private unsubscribe: (() => void) | null = null;
  /** The project file the screens show (set at once when a switch starts, so it reloads once). */
  private shownPath: string | null = null;
  private poll: ReturnType<typeof setInterval> | null = null;

  constructor(api: ApiClient, bridge: VetbenchBridge | null, mode: 'electron' | 'serve') {
    this.api = api;
    this.bridge = bridge;
    this.mode = mode;
    this.project = new ProjectState(api);
    this.projects = new ProjectsState(api, (info) => this.projectChanged(info));
    this.methods = new MethodsState(api);
    this.runs = new RunsState(api);
    this.activeRuns = $derived(
      this.runs.runs.filter((r) => r.status === 'running' || r.status === 'queued').length,
    );
    this.router = new Router();
    this.theme = new ThemeState(localStorage, document.documentElement);
  }

  start(): void {
    this.unsubscribe = this.api.subscribe((event) => this.dispatch(event));
    void this.project.load().then(() => (this.shownPath ??= this.project.info?.path ?? null));
    void this.methods.load();
    void this.runs.load();
    void this.projects.load();
    this.poll = setInterval(() => void this.checkOutsideRuns(), OUTSIDE_RUNS_POLL_MS);
  }

  /** Reloads the runs, models and verdicts when the project's run counts changed behind this window's back. */
  private async checkOutsideRuns(): Promise<void> {
    const shown = this.project.info;
    if (!shown || document.visibilityState === 'hidden') return;
    try {
      const now = await this.api.getProject({});
      if (now.path !== shown.path) return; // a switch is handled by project-opened
      if (now.counts.runs !== shown.counts.runs || now.counts.running !== shown.counts.running) {
        await Promise.all([this.runs.load(), this.project.refresh()]);
      }
    } catch {
      // the next tick tries again; a lost connection shows on the calls the screens make
    }
  }

  /**
   * Another project is shown (switched here, or from another window of `vetbench serve`): forget everything
   * of the old one (ids of models, datasets and runs mean other things there), go to the Project screen and
   * load the new one.
   */
  async projectChanged(info: ProjectInfo): Promise<void> {
    if (info.path === this.shownPath) return;
    this.shownPath = info.path;
    this.project.reset(info);
    this.runs.reset();
    this.router.go({ name: 'project' });
    this.generation += 1;
    await Promise.all([this.project.load(), this.runs.load(), this.projects.load()]);
  }

  stop(): void {
    this.unsubscribe?.();
    if (this.poll) clearInterval(this.poll);
  }

  /** Screens listen while they are shown; the returned function stops it. */
  listen(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private dispatch(event: ClientEvent): void {
    if (event.type === 'project-opened') {
      void this.projectChanged(event.project);
      return;
    }
    this.runs.apply(event);
    if (event.type === 'run-status') {
      // A finished attack adds its backdoored model; counts change.
      if (event.status === 'done') void this.project.refresh();
    }
    for (const listener of this.listeners) listener(event);
  }
}
