import { describe, expect, it } from 'vitest';
import { ApiCallError, type ProjectInfo, type RecentProject } from '../../electron/api/contract.js';
import { ProjectsState } from '../../renderer/src/state/projects.svelte.js';
import { fakeApi } from './fake-api.js';

const info = (path: string): ProjectInfo => ({
  path,
  name: path.replace(/^.*\/|\.vbproj$/g, ''),
  artifactsDir: `${path}.artifacts`,
  schemaVersion: 1,
  createdAt: 0,
  vetbenchVersion: '0.1.0',
  counts: { models: 0, datasets: 0, runs: 0, running: 0 },
});
const recent = (path: string, current: boolean, activeRuns = 0): RecentProject => ({
  path,
  name: info(path).name,
  openedAt: 1,
  exists: true,
  current,
  activeRuns,
});

describe('switching projects (renderer)', () => {
  it('opens or creates by path, then lets the app reload; shows the API error otherwise', async () => {
    let shown = '/p/a.vbproj';
    const fake = fakeApi({
      listProjects: () => ({
        projects:
          shown === '/p/a.vbproj'
            ? [recent(shown, true)]
            : [recent(shown, true), recent('/p/a.vbproj', false, 2)],
      }),
      openProject: (r) => {
        if (r.path.endsWith('.txt'))
          throw new ApiCallError({
            code: 'not-a-project',
            message: 'not a project',
            hint: 'Choose a .vbproj file.',
          });
        shown = r.path;
        return info(r.path);
      },
    });
    const switched: string[] = [];
    const projects = new ProjectsState(fake.api, async (p) => void switched.push(p.path));
    await projects.load();
    expect(projects.running).toEqual([]);

    expect(await projects.open('  /p/new.vbproj ', 'create')).toBe(true);
    expect(fake.calls.find((c) => c.method === 'openProject')?.request).toEqual({
      path: '/p/new.vbproj',
      create: true,
    });
    expect(switched).toEqual(['/p/new.vbproj']);
    // The project left behind still runs two jobs: the list says so.
    expect(projects.running.map((p) => [p.name, p.activeRuns])).toEqual([['a', 2]]);

    expect(await projects.open('/p/notes.txt')).toBe(false);
    expect(projects.error).toEqual({
      code: 'not-a-project',
      message: 'not a project',
      hint: 'Choose a .vbproj file.',
    });
    expect(switched).toHaveLength(1);
    expect(projects.busy).toBeNull();
  });
});
