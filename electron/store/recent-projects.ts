import { existsSync, readFileSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { userDataFolder } from './default-project.js';

/** One project file opened before. */
export interface RecentEntry {
  readonly path: string;
  readonly openedAt: number;
}

/** How many project files the list keeps. */
export const RECENT_LIMIT = 12;

/** The recent-projects file of this user (beside the default project). */
export function recentProjectsFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(userDataFolder(env), 'recent-projects.json');
}

/** The project's display name: its file name without `.vbproj`. */
export function projectNameOf(path: string): string {
  return basename(path, extname(path));
}

function parseEntries(text: string): RecentEntry[] {
  const raw: unknown = JSON.parse(text);
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((e: unknown) => {
    const entry = e as Partial<RecentEntry> | null;
    return entry && typeof entry.path === 'string' && typeof entry.openedAt === 'number'
      ? [{ path: entry.path, openedAt: entry.openedAt }]
      : [];
  });
}

/**
 * The list of project files opened in the app, newest first, kept in a small JSON file in the user data
 * folder. A damaged or missing file reads as an empty list: the list is a convenience, never a reason to fail.
 */
export class RecentProjects {
  constructor(private readonly file: string = recentProjectsFile()) {}

  list(): RecentEntry[] {
    if (!existsSync(this.file)) return [];
    try {
      return parseEntries(readFileSync(this.file, 'utf8'));
    } catch {
      return [];
    }
  }

  /** Puts the project first (once), keeping at most RECENT_LIMIT entries. */
  async remember(path: string, at = Date.now()): Promise<RecentEntry[]> {
    const full = resolve(path);
    const entries = [{ path: full, openedAt: at }, ...this.list().filter((e) => e.path !== full)].slice(
      0,
      RECENT_LIMIT,
    );
    try {
      await writeFileAtomic(this.file, `${JSON.stringify(entries, null, 2)}\n`);
    } catch {
      // a read-only data folder loses the list, not the project
    }
    return entries;
  }
}
