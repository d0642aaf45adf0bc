import { VetbenchError } from '../../engine/errors.js';

/** The SQLite result codes better-sqlite3 puts on `SqliteError.code` that a user can do something about. */
function sqliteCode(e: unknown): string | null {
  if (e && typeof e === 'object' && 'code' in e && typeof e.code === 'string' && e.code.startsWith('SQLITE_'))
    return e.code;
  return null;
}

/** Turns SQLite and file-system failures on a project file into errors that say what to do. */
export function storeError(e: unknown, path: string): unknown {
  if (e instanceof VetbenchError) return e;
  const code = sqliteCode(e) ?? (e as { code?: string } | null)?.code ?? null;
  if (!code) return e;
  if (code.startsWith('SQLITE_FULL') || code === 'ENOSPC')
    return new VetbenchError(
      'disk-full',
      `the disk holding ${path} is full; the last change was not saved`,
      'Free disk space (old runs can be deleted with their artifacts), then retry; the project itself is intact.',
    );
  if (code.startsWith('SQLITE_READONLY') || code === 'EROFS' || code === 'EACCES' || code === 'EPERM')
    return new VetbenchError(
      'project-read-only',
      `the project file ${path} cannot be written (${code})`,
      'Make the file and its folder writable, or copy the project to a writable folder and open the copy.',
    );
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT'))
    return new VetbenchError(
      'project-corrupt',
      `${path} is not a readable Vetbench project (${code})`,
      'Restore it from a backup, or open or create another project with --project <file>.',
    );
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))
    return new VetbenchError(
      'project-busy',
      `${path} is locked by another program for too long (${code})`,
      'Close other programs using this project (another `vetbench serve`?), then retry.',
    );
  if (code.startsWith('SQLITE_CANTOPEN'))
    return new VetbenchError(
      'project-cannot-open',
      `cannot open the project file ${path} (${code})`,
      'Check that the folder exists and is writable.',
    );
  return e;
}
