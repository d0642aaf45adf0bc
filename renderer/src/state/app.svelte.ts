/**
 * The app as a whole: the connection, the shared managers, one event subscription fanned out to them, and
 * navigation. Screens get what they need from here; components only get props.
 */
import type { ApiClient, ApiEvent } from '../../../electron/api/contract.js';
import type { VetbenchBridge } from '../../../electron/app/bridge.js';
import { MethodsState } from './methods.svelte.js';
import { ProjectState } from './project.svelte.js';
import { Router } from './router.svelte.js';
import { RunsState } from './runs.svelte.js';
import { ThemeState } from './theme.svelte.js';

type EventListener = (event: ApiEvent) => void;

export class AppState {
  readonly project: ProjectState;
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

  constructor(api: ApiClient, bridge: VetbenchBridge | null, mode: 'electron' | 'serve') {
    this.api = api;
    this.bridge = bridge;
    this.mode = mode;
    this.project = new ProjectState(api);
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
    void this.project.load();
    void this.methods.load();
    void this.runs.load();
  }

  stop(): void {
    this.unsubscribe?.();
  }

  /** Screens listen while they are shown; the returned function stops it. */
  listen(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private dispatch(event: ApiEvent): void {
    this.runs.apply(event);
    if (event.type === 'run-status') {
      // A finished attack adds its backdoored model; counts change.
      if (event.status === 'done') void this.project.refresh();
    }
    for (const listener of this.listeners) listener(event);
  }
}
