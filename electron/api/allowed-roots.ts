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
export class AllowedRoots {
  private readonly roots: string[];

  constructor(roots: readonly string[]) {
    this.roots = [...new Set(roots.filter((r) => existsSync(r)).map((r) => realpathSync(resolve(r))))];
  }

  list(): readonly string[] {
    return this.roots;
  }

  /** The resolved path when inside a root; a 'path-not-allowed' error otherwise. */
  check(path: string): string {
    const real = realish(path);
    if (this.roots.some((root) => real === root || real.startsWith(root.endsWith(sep) ? root : root + sep)))
      return resolve(path);
    throw new VetbenchError(
      'path-not-allowed',
      `${path} is outside the folders this Vetbench may read and write`,
      `Allowed: ${this.roots.join(', ')}. Start vetbench serve with --allow-root <folder> to add one.`,
    );
  }
}
