import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { SkippedFile } from './dataset.js';
import { compareText } from './ordering.js';

/** A regular file found under the root (directly or through a symbolic link that stays inside the root). */
export interface ScannedFile {
  /** Path from the root with `/` separators. */
  readonly relativePath: string;
  /** The root joined with the relative path (links are not resolved, so messages show what the user sees). */
  readonly path: string;
}

export interface FolderScan {
  readonly root: string;
  /** The root with every symbolic link resolved: the boundary no file may leave. */
  readonly realRoot: string;
  /** Files sorted by relative path; hidden ones left out. */
  readonly files: readonly ScannedFile[];
  /** Every non-hidden folder below the root (relative, `/` separators), empty ones included. */
  readonly folders: readonly string[];
  readonly skipped: readonly SkippedFile[];
  readonly ignoredHidden: number;
}

/** System clutter that is never data: macOS resource forks and Finder files, Windows and NAS thumbnails. */
const CLUTTER_NAMES = new Set([
  '__macosx',
  'thumbs.db',
  'desktop.ini',
  '@eadir',
  '$recycle.bin',
  'ehthumbs.db',
]);

/** Dot-files and system clutter, ignored everywhere (and counted, not listed). */
export function isHiddenName(name: string): boolean {
  return name.startsWith('.') || CLUTTER_NAMES.has(name.toLowerCase());
}

/** True when `child` is `parent` or below it; both must already be absolute and normalised. */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return (
    rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !/^[a-zA-Z]:/.test(rel) && rel[0] !== sep)
  );
}

/**
 * List every file below `root` without reading any. Symbolic links are followed only when their target stays
 * inside the root (a link out of it is listed as skipped and never opened); link loops are cut; special files
 * (FIFOs, sockets, devices) are skipped because opening a FIFO would block forever.
 */
export async function scanFolder(root: string): Promise<FolderScan> {
  const realRoot = await realpath(root);
  const files: ScannedFile[] = [];
  const folders: string[] = [];
  const skipped: SkippedFile[] = [];
  let ignoredHidden = 0;
  const visitedRealFolders = new Set<string>([realRoot]);

  const walk = async (relativeFolder: string, realFolder: string): Promise<void> => {
    const absoluteFolder = relativeFolder === '' ? root : join(root, relativeFolder);
    let entries: Dirent[];
    try {
      entries = await readdir(absoluteFolder, { withFileTypes: true });
    } catch (err) {
      skipped.push({
        path: `${relativeFolder}/`,
        code: 'unreadable',
        reason: `cannot list the folder (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (isHiddenName(entry.name)) {
        ignoredHidden++;
        continue;
      }
      const relativePath = relativeFolder === '' ? entry.name : `${relativeFolder}/${entry.name}`;
      const path = join(root, relativePath);
      if (entry.isSymbolicLink()) {
        const target = await resolveLink(path, realRoot);
        if ('skip' in target) {
          skipped.push({ path: relativePath, ...target.skip });
        } else if (target.isFolder) {
          if (visitedRealFolders.has(target.real)) continue; // a loop, or a second way into a folder
          visitedRealFolders.add(target.real);
          folders.push(relativePath);
          await walk(relativePath, target.real);
        } else if (target.isFile) {
          files.push({ relativePath, path });
        } else {
          skipped.push({
            path: relativePath,
            code: 'not-a-file',
            reason: 'not a regular file (link target)',
          });
        }
      } else if (entry.isDirectory()) {
        const real = join(realFolder, entry.name);
        if (visitedRealFolders.has(real)) continue;
        visitedRealFolders.add(real);
        folders.push(relativePath);
        await walk(relativePath, real);
      } else if (entry.isFile()) {
        files.push({ relativePath, path });
      } else {
        skipped.push({
          path: relativePath,
          code: 'not-a-file',
          reason: 'not a regular file (FIFO, socket or device)',
        });
      }
    }
  };
  await walk('', realRoot);
  files.sort((a, b) => compareText(a.relativePath, b.relativePath));
  folders.sort(compareText);
  return { root, realRoot, files, folders, skipped, ignoredHidden };
}

type LinkTarget =
  | { readonly real: string; readonly isFolder: boolean; readonly isFile: boolean }
  | { readonly skip: Omit<SkippedFile, 'path'> };

async function resolveLink(path: string, realRoot: string): Promise<LinkTarget> {
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    return { skip: { code: 'broken-link', reason: 'symbolic link whose target does not exist' } };
  }
  if (!isInside(realRoot, real)) {
    return {
      skip: {
        code: 'outside-root',
        reason: 'symbolic link pointing outside the dataset root (not read)',
      },
    };
  }
  try {
    const info = await stat(real);
    return { real, isFolder: info.isDirectory(), isFile: info.isFile() };
  } catch (err) {
    return {
      skip: {
        code: 'unreadable',
        reason: `cannot read the link target (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      },
    };
  }
}
