import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { defaultProjectPath } from './default-project.js';
import { ProjectStore } from './project-store.js';

/** `--project <file>` or the default project in the user data folder. */
export function projectPath(option: string | undefined): string {
  return resolve(option ?? defaultProjectPath());
}

/** Opens (creating when needed) the project named by `--project`, or the default one. */
export function openProject(option: string | undefined): ProjectStore {
  return ProjectStore.open(projectPath(option));
}

/** For read-only commands: null when the project does not exist yet (nothing to list). */
export function openExistingProject(option: string | undefined): ProjectStore | null {
  const path = projectPath(option);
  if (!existsSync(path) && option === undefined) return null;
  return ProjectStore.open(path, { mustExist: true });
}
