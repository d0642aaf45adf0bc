import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { VetbenchError } from '../errors.js';

/**
 * Opens a file that is expected to be a regular file, and refuses anything else: a named pipe given as
 * weights would block the reader forever, and a device (/dev/zero, /dev/urandom) never ends. O_NONBLOCK makes
 * opening a FIFO return at once (it has no effect on regular files), then fstat says what the path is.
 * Symlinks are followed: a link to a regular file is a regular file.
 */
const OPEN_FLAGS = constants.O_NONBLOCK === undefined ? 'r' : constants.O_RDONLY | constants.O_NONBLOCK;

export interface OpenRegularFileOptions {
  /** What the file is, for messages ("weights", "array"); default "file". */
  readonly what?: string;
  /** Refuse files larger than this many bytes (checked from fstat, before anything is read). */
  readonly maxBytes?: number;
  /** What to do about a file above `maxBytes`. */
  readonly tooLargeHint?: string;
}

function describeKind(stats: {
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
}): string {
  if (stats.isFIFO()) return 'a named pipe';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The errors of opening `path`, as advice. */
export function openError(path: string, error: unknown): VetbenchError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT')
    return new VetbenchError('file-not-found', `${path} does not exist`, 'Check the path.');
  if (code === 'EISDIR') {
    return new VetbenchError('file-is-directory', `${path} is a folder`, 'Pass the file inside it.');
  }
  return new VetbenchError(
    'file-unreadable',
    `cannot read ${path}: ${(error as Error).message}`,
    'Check the path and the file permissions.',
  );
}

/** Opens `path` for reading if it is a regular file; the caller closes the handle. */
export async function openRegularFile(
  path: string,
  options: OpenRegularFileOptions = {},
): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (e) {
    throw openError(path, e);
  }
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) {
      throw new VetbenchError('file-is-directory', `${path} is a folder`, 'Pass the file inside it.');
    }
    if (!stats.isFile()) {
      throw new VetbenchError(
        'file-not-regular',
        `${path} is ${describeKind(stats)}, not a regular file${options.what ? ` of ${options.what}` : ''}`,
        'Pass a regular file (copy the data to a file first).',
      );
    }
    if (options.maxBytes !== undefined && stats.size > options.maxBytes) {
      throw new VetbenchError(
        'file-too-large',
        `${path} has ${stats.size} bytes, more than the ${options.maxBytes} a${options.what ? ` ${options.what}` : ' file'} may have`,
        options.tooLargeHint ?? 'Check that this is the right file.',
      );
    }
    return handle;
  } catch (e) {
    await handle.close();
    if (e instanceof VetbenchError) throw e;
    throw openError(path, e);
  }
}

/** Reads a whole regular file (see `openRegularFile`). */
export async function readRegularFile(path: string, options: OpenRegularFileOptions = {}): Promise<Buffer> {
  const handle = await openRegularFile(path, options);
  try {
    return await handle.readFile();
  } catch (e) {
    throw openError(path, e);
  } finally {
    await handle.close();
  }
}

/** Reads a whole regular file as UTF-8 text. */
export async function readRegularTextFile(
  path: string,
  options: OpenRegularFileOptions = {},
): Promise<string> {
  return (await readRegularFile(path, options)).toString('utf8');
}
