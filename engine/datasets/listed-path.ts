import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, posix, relative, sep } from 'node:path';
import type { SkippedFile } from './dataset.js';
import { isInside } from './scan-files.js';

export type ListedPath =
  | { readonly ok: true; readonly relativePath: string }
  | { readonly ok: false; readonly skip: Omit<SkippedFile, 'path'> };

/**
 * Turn a path written in a split file or CSV into a path relative to the dataset root, purely lexically:
 * `baseFolder` is where the listing file lives (relative to the root, '' for the root itself). Paths that climb
 * out of the root with `..`, and absolute paths outside `root`, are refused here before anything touches the
 * disk; an absolute path inside the root is accepted (manifests written by scripts often hold those).
 */
export function normalizeListedPath(raw: string, baseFolder: string, root?: string): ListedPath {
  const trimmed = raw.trim();
  if (trimmed === '') return { ok: false, skip: { code: 'bad-row', reason: 'empty path' } };
  if (trimmed.includes('\0')) {
    return { ok: false, skip: { code: 'bad-row', reason: 'path holds a NUL byte' } };
  }
  let written = trimmed.replace(/\\/g, '/');
  let base = baseFolder;
  if (isAbsolute(trimmed) || written.startsWith('/') || /^[a-zA-Z]:\//.test(written)) {
    // a drive path on a POSIX system is not absolute to `path`, but it is certainly not under the root
    const inside = root !== undefined && isAbsolute(trimmed) ? relative(root, trimmed) : null;
    if (inside === null || inside === '' || isAbsolute(inside) || inside.split(sep)[0] === '..') {
      return {
        ok: false,
        skip: {
          code: 'outside-root',
          reason: 'absolute path outside the dataset root; list paths relative to it',
        },
      };
    }
    written = inside.split(sep).join('/');
    base = '';
  }
  const relativePath = posix.normalize(posix.join(base, written)).replace(/\/+$/, '');
  if (relativePath === '..' || relativePath.startsWith('../')) {
    return {
      ok: false,
      skip: { code: 'outside-root', reason: 'path leaves the dataset root (..); not read' },
    };
  }
  if (relativePath === '.' || relativePath === '') {
    return { ok: false, skip: { code: 'bad-row', reason: 'path names the dataset root itself' } };
  }
  return { ok: true, relativePath };
}

/**
 * Check on disk that a listed path is a regular file whose real location (symbolic links resolved) is inside
 * the root. Only `stat` and `realpath` are used: the file is not opened.
 */
export async function checkListedFile(
  root: string,
  realRoot: string,
  relativePath: string,
): Promise<Omit<SkippedFile, 'path'> | null> {
  let real: string;
  try {
    real = await realpath(join(root, relativePath));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR'
      ? { code: 'missing', reason: 'no such file' }
      : { code: 'unreadable', reason: `cannot resolve the path (${code ?? String(err)})` };
  }
  if (!isInside(realRoot, real)) {
    return {
      code: 'outside-root',
      reason: 'a symbolic link on the path leads outside the dataset root; not read',
    };
  }
  try {
    if (!(await stat(real)).isFile()) return { code: 'not-a-file', reason: 'not a regular file' };
  } catch (err) {
    return {
      code: 'unreadable',
      reason: `cannot stat the file (${(err as NodeJS.ErrnoException).code ?? ''})`,
    };
  }
  return null;
}
