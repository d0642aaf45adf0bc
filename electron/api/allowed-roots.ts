import { existsSync, realpathSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { VetbenchError } from '../../engine/errors.js';

/** The real path of `path`, or of its nearest existing ancestor joined with the rest (for files to create). */
function realish(path: string): string {
  const full = resolve(path);
  let existing = full;
  while (!existsSync(existing)) {
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  const real = realpathSync(existing);
  return real + full.slice(existing.length);
}

/**
 * The folders API callers may name files in. Paths are compared after resolving symbolic links, so a link
 * inside an allowed folder that points outside is refused too.
 */
export interface AllowedRootsOptions {
  /**
   * Folders the API may read but never write (the install folder: its models and datasets are read, but an
   * export or a new project there could plant files the app later loads as its own).
   */
  readonly readOnly?: readonly string[];
  /** Folders writable even inside a read-only one (the open project's folder, where it was put deliberately). */
  readonly writable?: readonly string[];
}

const realRoots = (roots: readonly string[]): string[] => [
  ...new Set(roots.filter((r) => existsSync(r)).map((r) => realpathSync(resolve(r)))),
];

const within = (real: string, root: string): boolean =>
  real === root || real.startsWith(root.endsWith(sep) ? root : root + sep);

export class AllowedRoots {
  private readonly roots: string[];
  private readonly readOnly: string[];
  private readonly writable: string[];

  constructor(roots: readonly string[], options: AllowedRootsOptions = {}) {
    this.roots = realRoots(roots);
    this.readOnly = realRoots(options.readOnly ?? []);
    this.writable = realRoots(options.writable ?? []);
  }

  /** Like `check`, for a path the API will write: also refused inside a read-only folder (the install). */
  checkWritable(path: string): string {
    const resolved = this.check(path);
    const real = realish(path);
    const readOnly = this.readOnly.find((root) => within(real, root));
    if (readOnly !== undefined && !this.writable.some((root) => within(real, root))) {
      throw new VetbenchError(
        'path-not-allowed',
        `${path} is inside the Vetbench install folder (${readOnly}), which the API never writes`,
        'Export or create projects in another folder, e.g. your home or working folder.',
      );
    }
    return resolved;
  }

  list(): readonly string[] {
    return this.roots;
  }

  /** The resolved path when inside a root; a 'path-not-allowed' error otherwise. */
  check(path: string): string {
    const real = realish(path);
    if (this.roots.some((root) => within(real, root))) return resolve(path);
    throw new VetbenchError(
      'path-not-allowed',
      `${path} is outside the folders this Vetbench may read and write`,
      `Allowed: ${this.roots.join(', ')}. Start vetbench serve with --allow-root <folder> to add one.`,
    );
  }
}
