import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | null = null;

/** The Vetbench install folder (holding package.json, models/, datasets/), from source or from dist/. */
export function projectRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'vetbench') {
      cachedRoot = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the Vetbench folder (package.json named "vetbench")');
    dir = parent;
  }
}

export function vetbenchVersion(): string {
  return (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string })
    .version;
}

const requireFromHere = createRequire(import.meta.url);

/** The installed version of an npm package, or null when it is not installed (optional packages). */
export function packageVersion(name: string): string | null {
  try {
    return (requireFromHere(`${name}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
}
