/**
 * Where the browser tests run the app: in Chromium against `vetbench serve`, or in the Electron app through
 * Playwright's Electron support. Each target says why it cannot run here, or opens a page on a project file.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { _electron, chromium, type Page } from 'playwright-core';
import { findElectronBinary } from '../../electron/app/electron-binary.js';
import { REPO_ROOT, startServe } from './serve-process.js';

export interface OpenedApp {
  readonly page: Page;
  close(): Promise<void>;
}

export interface AppTarget {
  readonly name: string;
  /** Prefix of this target's screenshot files ('' for the main set). */
  readonly screenshotPrefix: string;
  /** Which optional system component (Chromium, Electron's binary) is missing here, or null. */
  unavailable(): string | null;
  open(projectFile: string): Promise<OpenedApp>;
}

const CHROMIUM = process.env.VETBENCH_CHROMIUM ?? '/usr/bin/chromium';

/** A throwaway user data folder beside the project: the app's recent-projects list goes there. */
function dataHome(projectFile: string): NodeJS.ProcessEnv {
  return { XDG_DATA_HOME: join(dirname(projectFile), 'data-home') };
}

/** A missing build is no reason to skip (npm test builds first): opening the app fails with what to run. */
function requireBuild(): void {
  for (const [file, what] of [
    [join(REPO_ROOT, 'dist', 'renderer', 'index.html'), 'the renderer'],
    [join(REPO_ROOT, 'dist', 'electron', 'api', 'http-server.js'), 'serve mode'],
  ] as const)
    if (!existsSync(file)) throw new Error(`${what} is not built (npm run build): ${file} is missing`);
}

export const SERVE_TARGET: AppTarget = {
  name: 'Chromium against vetbench serve',
  screenshotPrefix: '',
  unavailable: () =>
    existsSync(CHROMIUM)
      ? null
      : `Chromium is not at ${CHROMIUM} (apt-get install chromium, or set VETBENCH_CHROMIUM)`,
  async open(projectFile) {
    requireBuild();
    const serve = await startServe(projectFile, dataHome(projectFile));
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 }, colorScheme: 'light' });
    await page.goto(serve.url);
    return {
      page,
      async close() {
        await browser.close();
        await serve.stop();
      },
    };
  },
};

export const ELECTRON_TARGET: AppTarget = {
  name: 'the Electron app',
  screenshotPrefix: 'electron-',
  unavailable: () => {
    const binary = findElectronBinary();
    return binary.found ? null : binary.reason;
  },
  async open(projectFile) {
    requireBuild();
    const main = join(REPO_ROOT, 'dist', 'electron', 'app', 'main.js');
    if (!existsSync(main)) throw new Error(`the app is not built (npm run build): ${main} is missing`);
    const binary = findElectronBinary();
    if (!binary.found) throw new Error(binary.reason);
    const app = await _electron.launch({
      executablePath: binary.path,
      args: [join(REPO_ROOT, 'dist', 'electron', 'app', 'main.js'), '--no-sandbox', '--project', projectFile],
      cwd: REPO_ROOT,
      env: { ...process.env, ...dataHome(projectFile) } as Record<string, string>,
    });
    const page = await app.firstWindow();
    await page.setViewportSize({ width: 1360, height: 900 });
    return { page, close: () => app.close() };
  },
};
