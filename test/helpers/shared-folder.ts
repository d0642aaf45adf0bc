import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder, wherever the clone sits and whatever it is called. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A path in the read-only `../shared` folder beside the repository (fixtures, datasets, specs). */
export function sharedPath(...parts: string[]): string {
  return join(REPO_ROOT, '..', 'shared', ...parts);
}
