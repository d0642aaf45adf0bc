/**
 * Switching projects in the app's back end (both transports use it): the recent list, open/create with the
 * allowed-folder rule and clear errors, events of the shown project only, a project left while a run goes on
 * kept in the background until the run ends; exporting artifacts; the Electron "open the report" handler.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiReply, ClientEvent, ProjectInfo, RecentProject } from '../../electron/api/contract.js';
import { activeRunsOf, ProjectSessions, type ProjectSession } from '../../electron/api/project-sessions.js';
import { dispatch, type ApiHandlers } from '../../electron/api/service.js';
import { createSessionApi } from '../../electron/api/session-api.js';
import { openArtifact } from '../../electron/app/open-artifact.js';
import { JobHost } from '../../electron/jobs/job-host.js';
import type { ProcessLauncher, WorkerProcess } from '../../electron/jobs/process-launcher.js';
import { importDatasetInto, importModelInto } from '../../electron/store/imports.js';
import { ProjectStore } from '../../electron/store/project-store.js';
import { RecentProjects } from '../../electron/store/recent-projects.js';
import { writeJobFixtures } from '../electron/jobs-fixture.js';

/** Workers that start and then do nothing until the test ends them (a long job, without the cost of one). */
function heldLauncher(): ProcessLauncher & { endAll(): void } {
  const workers: { exit: (code: number | null, signal: string | null) => void }[] = [];
  return {
    launch(): WorkerProcess {
      const exitListeners: ((code: number | null, signal: string | null) => void)[] = [];
      let gone = false;
      const exit = (code: number | null, signal: string | null): void => {
        if (gone) return;
        gone = true;
        for (const l of exitListeners) l(code, signal);
      };
      workers.push({ exit });
      return {
        pid: undefined,
        send: () => {},
        onMessage: () => {},
        onExit: (l) => void exitListeners.push(l),
        kill: () => setImmediate(() => exit(null, 'SIGKILL')),
      };
    },
    endAll: () => workers.forEach((w) => w.exit(1, null)),
  };
}

let dir: string;
let fixtures: { model: string; dataset: string };
const launcher = heldLauncher();
const opened: ProjectSession[] = [];

function openSession(path: string, { create }: { create: boolean }): ProjectSession {
  const store = ProjectStore.open(path, { mustExist: !create });
  const host = new JobHost(store, { launcher, pollMs: 50, cancelGraceMs: 200 });
  host.start();
  const session = { store, host };
  opened.push(session);
  return session;
}

async function call(handlers: ApiHandlers, method: string, payload: unknown): Promise<ApiReply> {
  return (await dispatch(handlers, method, payload)).reply;
}

function result<T>(reply: ApiReply): T {
  if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
  return reply.result as T;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vetbench-sessions-'));
  fixtures = await writeJobFixtures(dir);
}, 60_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('switching projects', () => {
  it('opens, creates and lists projects; keeps a project with a running job in the background', async () => {
    const work = join(dir, 'projects');
    mkdirSync(work);
    const recentFile = join(dir, 'data', 'recent-projects.json');
    const first = openSession(join(work, 'first.vbproj'), { create: true });
    const sessions = new ProjectSessions(first, openSession, new RecentProjects(recentFile));
    const handlers = createSessionApi(sessions, {
      baseRoots: [work],
      fileUrl: (f) => ('artifactId' in f ? `/a/${f.artifactId}` : `/d/${f.datasetId}`),
    });
    const events: ClientEvent[] = [];
    sessions.subscribe((e) => events.push(e));

    // A run that goes on (its worker holds) in the first project.
    const model = await importModelInto(first.store, fixtures.model);
    const dataset = await importDatasetInto(first.store, fixtures.dataset);
    const run = first.host.submit({
      kind: 'attack',
      method: 'badnet',
      modelId: model.id,
      datasetId: dataset.id,
      target: 'red',
      seed: 0,
      params: {},
    });
    expect(activeRunsOf(first)).toBe(1);

    // Clear refusals: outside the allowed folders, not a project file, missing, or creating over a file.
    const outside = await call(handlers, 'openProject', {
      path: join(dir, 'elsewhere.vbproj'),
      create: true,
    });
    expect(outside.ok ? '' : outside.error.code).toBe('path-not-allowed');
    writeFileSync(join(work, 'notes.txt'), 'x');
    const notProject = await call(handlers, 'openProject', { path: join(work, 'notes.txt') });
    expect(notProject.ok ? '' : notProject.error.code).toBe('not-a-project');
    const missing = await call(handlers, 'openProject', { path: join(work, 'nothing.vbproj') });
    expect(missing.ok ? null : [missing.error.code, missing.error.hint]).toEqual([
      'project-missing',
      'Check the path (it may have been moved), or create a new project there.',
    ]);
    const overFirst = await call(handlers, 'openProject', { path: first.store.path, create: true });
    expect(overFirst.ok ? '' : overFirst.error.code).toBe('project-exists');
    expect(sessions.current).toBe(first);

    // Create a second project: the API now answers for it; the first keeps running in the background.
    const second = result<ProjectInfo>(
      await call(handlers, 'openProject', { path: join(work, 'second.vbproj'), create: true }),
    );
    expect(second.name).toBe('second');
    expect(second.counts).toEqual({ models: 0, datasets: 0, runs: 0, running: 0 });
    expect(result<ProjectInfo>(await call(handlers, 'getProject', {})).path).toBe(second.path);
    expect(events.at(-1)).toEqual({ type: 'project-opened', project: second });
    expect(sessions.backgroundProjects()).toEqual([first.store.path]);
    const listed = result<{ projects: RecentProject[] }>(await call(handlers, 'listProjects', {})).projects;
    expect(listed.map((p) => [p.name, p.current, p.activeRuns, p.exists])).toEqual([
      ['second', true, 0, true],
      ['first', false, 1, true],
    ]);
    expect(JSON.parse(readFileSync(recentFile, 'utf8'))).toHaveLength(2);

    // Events of the first project's runs no longer reach the shown project's listeners.
    const before = events.length;
    first.host.cancel(run.id);
    expect(events.length).toBe(before);

    // Once its run ended, the background project is closed (its store too).
    await expect.poll(() => sessions.backgroundProjects(), { timeout: 15_000 }).toEqual([]);
    expect(() => first.store.info()).toThrow();

    // Reopening the first project opens it afresh, with its finished run.
    const reopened = result<ProjectInfo>(await call(handlers, 'openProject', { path: first.store.path }));
    expect(reopened.counts.runs).toBe(1);
    expect(sessions.current).not.toBe(first);
    // The second project had no running job: it was closed when left.
    expect(sessions.backgroundProjects()).toEqual([]);
    await sessions.close();
  }, 60_000);

  it('reuses a background session when its project is opened again while the run still goes', async () => {
    const work = join(dir, 'again');
    mkdirSync(work);
    const a = openSession(join(work, 'a.vbproj'), { create: true });
    const sessions = new ProjectSessions(a, openSession, new RecentProjects(join(work, 'recent.json')));
    const model = await importModelInto(a.store, fixtures.model);
    const dataset = await importDatasetInto(a.store, fixtures.dataset);
    a.host.submit({
      kind: 'attack',
      method: 'badnet',
      modelId: model.id,
      datasetId: dataset.id,
      target: 'red',
      seed: 0,
      params: {},
    });
    await sessions.open(join(work, 'b.vbproj'), true);
    await sessions.open(a.store.path, false);
    expect(sessions.current).toBe(a);
    expect(activeRunsOf(a)).toBe(1);
    // Closing everything stops the held worker; its run is left interrupted (resumable).
    await sessions.close();
    const store = ProjectStore.open(a.store.path, { mustExist: true });
    expect(store.listRuns({ limit: 10, offset: 0 }).runs[0]?.status).toBe('interrupted');
    store.close();
  }, 60_000);
});

describe('exporting artifacts and opening reports', () => {
  let store: ProjectStore;
  let handlers: ApiHandlers;
  let reportId: number;
  let triggerId: number;
  let work: string;

  beforeAll(async () => {
    work = join(dir, 'export');
    mkdirSync(work);
    const session = openSession(join(work, 'ex.vbproj'), { create: true });
    store = session.store;
    const sessions = new ProjectSessions(session, openSession, new RecentProjects(join(work, 'recent.json')));
    handlers = createSessionApi(sessions, { baseRoots: [work], fileUrl: () => '/f' });
    mkdirSync(store.artifactsDir, { recursive: true });
    writeFileSync(join(store.artifactsDir, 'report-1.html'), '<p>report</p>');
    writeFileSync(join(store.artifactsDir, 'trigger.safetensors'), 'trigger bytes');
    const register = (
      relPath: string,
      kind: 'report' | 'trigger',
      mediaType: string,
      bytes: number,
    ): number =>
      store.registerArtifact({
        runId: null,
        kind,
        relPath,
        mediaType,
        sha256: '0'.repeat(64),
        bytes,
      }).id;
    reportId = register('report-1.html', 'report', 'text/html', 13);
    triggerId = register('trigger.safetensors', 'trigger', 'application/octet-stream', 13);
  });

  it('exports to the folder beside the project without overwriting, or to a named folder or file', async () => {
    const first = result<{ path: string }>(await call(handlers, 'exportArtifact', { artifactId: triggerId }));
    expect(first.path).toBe(join(work, 'ex-exports', 'project-trigger.safetensors'));
    expect(readFileSync(first.path, 'utf8')).toBe('trigger bytes');
    const second = result<{ path: string }>(
      await call(handlers, 'exportArtifact', { artifactId: triggerId }),
    );
    expect(second.path).toBe(join(work, 'ex-exports', 'project-trigger-2.safetensors'));

    mkdirSync(join(work, 'mine'));
    const intoFolder = result<{ path: string }>(
      await call(handlers, 'exportArtifact', { artifactId: reportId, path: join(work, 'mine') }),
    );
    expect(intoFolder.path).toBe(join(work, 'mine', 'project-report-1.html'));
    const named = join(work, 'mine', 'audit.html');
    expect(
      result<{ path: string }>(await call(handlers, 'exportArtifact', { artifactId: reportId, path: named }))
        .path,
    ).toBe(named);
    const again = await call(handlers, 'exportArtifact', { artifactId: reportId, path: named });
    expect(again.ok ? '' : again.error.code).toBe('file-exists');
    const noFolder = await call(handlers, 'exportArtifact', {
      artifactId: reportId,
      path: join(work, 'no', 'x.html'),
    });
    expect(noFolder.ok ? '' : noFolder.error.code).toBe('folder-not-found');
    const outside = await call(handlers, 'exportArtifact', {
      artifactId: reportId,
      path: join(dir, 'x.html'),
    });
    expect(outside.ok ? '' : outside.error.code).toBe('path-not-allowed');
    expect(existsSync(join(dir, 'x.html'))).toBe(false);
  });

  it('opens only stored reports by id in the desktop app (never a path the page names)', async () => {
    const openedPaths: string[] = [];
    const deps = { store: () => store, openPath: async (p: string) => (openedPaths.push(p), '') };
    expect(await openArtifact({ artifactId: reportId }, deps)).toEqual({
      ok: true,
      path: join(store.artifactsDir, 'report-1.html'),
    });
    expect(openedPaths).toEqual([join(store.artifactsDir, 'report-1.html')]);
    for (const bad of [
      { artifactId: triggerId },
      { artifactId: 999 },
      { artifactId: '1' },
      { path: '/etc/passwd' },
      null,
    ]) {
      const outcome = await openArtifact(bad, deps);
      expect(outcome.ok).toBe(false);
    }
    expect(openedPaths).toHaveLength(1);
    expect(
      await openArtifact({ artifactId: reportId }, { ...deps, openPath: async () => 'no viewer' }),
    ).toEqual({
      ok: false,
      message: 'The report could not be opened: no viewer',
    });
  });
});
