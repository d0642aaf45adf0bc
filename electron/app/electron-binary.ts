/**
 * Where the Electron binary is, or why there is none. package.json's `allowScripts` denies the `electron`
 * package its download script (npm installs stay offline-safe), so the package is there for its types and
 * the binary is fetched on request: `node node_modules/electron/install.js` where the internet is reachable.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const BINARY_MISSING =
  "Electron's binary is not installed (npm installs skip its download; with internet access run `node node_modules/electron/install.js`)";

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
      reason: missingPackage ? 'Electron is not installed (run npm ci)' : BINARY_MISSING,
    };
  }
  if (typeof path !== 'string' || !existsSync(path)) return { found: false, reason: BINARY_MISSING };
  return { found: true, path };
}
