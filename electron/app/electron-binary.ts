/**
 * Where the Electron binary is, or why there is none. The `electron` npm package is an optional dependency:
 * an offline install (no download of the binary) leaves the package without its executable.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

export type ElectronBinary = { found: true; path: string } | { found: false; reason: string };

export function findElectronBinary(): ElectronBinary {
  const require = createRequire(import.meta.url);
  let path: unknown;
  try {
    // The package's main export is the path of the executable; it throws when the download never happened.
    path = require('electron');
  } catch (e) {
    const missingPackage = (e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND';
    return {
      found: false,
      reason: missingPackage
        ? 'Electron is not installed (it is an optional dependency)'
        : "Electron's binary is not installed (offline install)",
    };
  }
  if (typeof path !== 'string' || !existsSync(path))
    return { found: false, reason: "Electron's binary is not installed (offline install)" };
  return { found: true, path };
}
