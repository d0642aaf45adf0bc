/**
 * `npm run dist` checks this first: electron-builder packages the Electron binary that
 * `node node_modules/electron/install.js` fetched (electron-builder.yml `electronDist`), the one step that
 * needs the network. Without it, packaging stops here with one line saying what to do, instead of a download
 * error or a stack deep inside electron-builder.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../../engine/paths.js';
import { findElectronBinary } from './electron-binary.js';

/** Why packaging cannot start here, or null when it can. */
export function distBlocker(
  binary = findElectronBinary(),
  electronDist = join(projectRoot(), 'node_modules', 'electron', 'dist'),
): string | null {
  if (!binary.found) return `${binary.reason}; packaging needs it`;
  if (!existsSync(electronDist)) {
    return `the Electron distribution folder node_modules/electron/dist is missing; run \`node node_modules/electron/install.js\` with internet access`;
  }
  return null;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const blocker = distBlocker();
  if (blocker) {
    console.error(`npm run dist: ${blocker}.`);
    process.exit(1);
  }
}
