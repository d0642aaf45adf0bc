import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';

/**
 * The real path of `relativePath` under `root` when it is a regular file whose real location is inside the
 * root's real location; null otherwise. Symbolic links are resolved on both sides before the check, so a
 * link inside a dataset that points outside it is refused, as the dataset import refuses it (a lexical check
 * would follow the link). Used by serve mode's /files/dataset/... and the app's vetbench-file:// alike.
 */
export function containedFile(root: string, relativePath: string): string | null {
  try {
    const realRoot = realpathSync(root);
    const target = realpathSync(resolve(realRoot, relativePath));
    const inside = relative(realRoot, target);
    if (inside === '' || isAbsolute(inside) || inside === '..' || inside.startsWith(`..${sep}`)) return null;
    return statSync(target).isFile() ? target : null;
  } catch {
    return null;
  }
}

/** `decodeURIComponent`, or null for a malformed percent-escape (a 400, not a crash). */
export function decodePathPart(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}
