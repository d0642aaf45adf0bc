import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { VetbenchError } from '../../engine/errors.js';
import { JobHost, type JobHostOptions } from '../jobs/job-host.js';
import { ProjectStore } from '../store/project-store.js';
import { projectNameOf, type RecentProjects } from '../store/recent-projects.js';
import type { ClientEvent, ClientEventListener, ProjectInfo, RecentProject } from './contract.js';

/** An open project: its store and the job host that runs its jobs. */
export interface ProjectSession {
  readonly store: ProjectStore;
  readonly host: JobHost;
}

/** Opens a project file (creating it when `create`) with a started job host. */
export type OpenSession = (path: string, options: { create: boolean }) => ProjectSession;

const PROJECT_EXTENSION = '.vbproj';

/** Opens the store (refusing a missing file unless creating) and starts a job host on it. */
export function sessionOpener(hostOptions: JobHostOptions): OpenSession {
  return (path, { create }) => {
    const store = ProjectStore.open(path, { mustExist: !create });
    const host = new JobHost(store, hostOptions);
    host.start();
    return { store, host };
  };
}

/** Runs of this session queued or running in this process (the ones its job host owns). */
export function activeRunsOf(session: ProjectSession): number {
  const { runs } = session.store.listRuns({ status: ['queued', 'running'], limit: 1000, offset: 0 });
  return runs.filter((r) => session.store.getRunRecord(r.id).hostPid === process.pid).length;
}

/**
 * The project the app shows, and switching to another one. A project left while its jobs run keeps its store
 * and job host open in the background, so a long training is neither killed nor blocks the analyst from
 * looking at another project; it is closed once its last run ends, and reopening it picks the same session up
 * again (live progress included). Events reach subscribers from the shown project only: run ids of two
 * projects would collide.
 */
export class ProjectSessions {
  private shown: ProjectSession;
  private readonly background = new Map<string, { session: ProjectSession; stopWatching: () => void }>();
  private readonly listeners = new Set<ClientEventListener>();
  private unbindShown: () => void;

  constructor(
    first: ProjectSession,
    private readonly openSession: OpenSession,
    private readonly recent: RecentProjects,
  ) {
    this.shown = first;
    this.unbindShown = this.bind(first);
    void this.recent.remember(first.store.path);
  }

  get current(): ProjectSession {
    return this.shown;
  }

  /** Events of the shown project, and `project-opened` when it changes. */
  subscribe(listener: ClientEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: ClientEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // a failing listener must not stop the others
      }
    }
  }

  private bind(session: ProjectSession): () => void {
    return session.host.subscribe((event) => this.emit(event));
  }

  /** Recent project files, the shown one included, newest first. */
  list(): RecentProject[] {
    const shownPath = this.shown.store.path;
    const entries = this.recent.list();
    if (!entries.some((e) => e.path === shownPath))
      entries.unshift({ path: shownPath, openedAt: Date.now() });
    return entries.map((e) => {
      const session = e.path === shownPath ? this.shown : this.background.get(e.path)?.session;
      return {
        path: e.path,
        name: projectNameOf(e.path),
        openedAt: e.openedAt,
        exists: existsSync(e.path),
        current: e.path === shownPath,
        activeRuns: session ? activeRunsOf(session) : 0,
      };
    });
  }

  /** Shows another project (an existing file, or a new one with `create`); the caller checked the folder. */
  async open(path: string, create: boolean): Promise<ProjectInfo> {
    const target = resolve(path);
    if (extname(target) !== PROJECT_EXTENSION)
      throw new VetbenchError(
        'not-a-project',
        `${target} is not a Vetbench project file (${PROJECT_EXTENSION})`,
        create
          ? `Name the new project file with the ${PROJECT_EXTENSION} extension, e.g. ${target}${PROJECT_EXTENSION}.`
          : `Choose a ${PROJECT_EXTENSION} file.`,
      );
    if (create && existsSync(target))
      throw new VetbenchError(
        'project-exists',
        `${target} exists already`,
        'Open it instead, or choose another file name for the new project.',
      );
    if (!create && !existsSync(target))
      throw new VetbenchError(
        'project-missing',
        `there is no project file ${target}`,
        'Check the path (it may have been moved), or create a new project there.',
      );
    if (target !== this.shown.store.path) {
      const parked = this.background.get(target);
      let next: ProjectSession;
      if (parked) {
        parked.stopWatching();
        this.background.delete(target);
        next = parked.session;
      } else next = this.openSession(target, { create });
      const previous = this.shown;
      this.unbindShown();
      this.shown = next;
      this.unbindShown = this.bind(next);
      await this.retire(previous);
    }
    await this.recent.remember(target);
    const info = this.shown.store.info();
    this.emit({ type: 'project-opened', project: info });
    return info;
  }

  /** Closes a project left behind, or keeps it open in the background while its runs go on. */
  private async retire(session: ProjectSession): Promise<void> {
    if (activeRunsOf(session) === 0) return closeSession(session);
    const path = session.store.path;
    const stopWatching = session.host.subscribe((event) => {
      if (event.type !== 'run-status') return;
      // after the host has started its next queued run, if any
      setImmediate(() => {
        const entry = this.background.get(path);
        if (entry?.session !== session || activeRunsOf(session) > 0) return;
        entry.stopWatching();
        this.background.delete(path);
        void closeSession(session);
      });
    });
    this.background.set(path, { session, stopWatching });
  }

  /** Projects kept open for their running jobs (their paths). */
  backgroundProjects(): string[] {
    return [...this.background.keys()];
  }

  /** Closes every project: running jobs are stopped and marked interrupted (resumable). */
  async close(): Promise<void> {
    this.unbindShown();
    const all = [this.shown, ...[...this.background.values()].map((b) => b.session)];
    for (const b of this.background.values()) b.stopWatching();
    this.background.clear();
    await Promise.all(all.map(closeSession));
  }
}

async function closeSession(session: ProjectSession): Promise<void> {
  await session.host.close();
  session.store.close();
}
