/**
 * `npm start`: opens the desktop app when the Electron binary is installed; otherwise starts serve mode
 * (`vetbench serve`), opens nothing, and says why and which URL to open in a browser.
 * Arguments after `--` go to the app or to `vetbench serve` (e.g. `npm start -- --project my.vbproj`).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../engine/paths.js';
import { findElectronBinary } from './electron-binary.js';

function run(command: string, args: readonly string[]): void {
  const child = spawn(command, args, { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

const root = projectRoot();
const args = process.argv.slice(2);
const binary =
  process.env.VETBENCH_NO_ELECTRON === '1'
    ? { found: false as const, reason: 'VETBENCH_NO_ELECTRON=1 is set' }
    : findElectronBinary();

if (binary.found) {
  run(binary.path, [join(root, 'dist', 'electron', 'app', 'main.js'), ...args]);
} else {
  process.stdout.write(`${binary.reason}; open this URL in a browser (printed by vetbench serve below):\n`);
  run(process.execPath, [join(root, 'bin', 'vetbench.js'), 'serve', ...args]);
}
