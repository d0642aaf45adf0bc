/**
 * The Electron main process: one sandboxed window showing the renderer from app://vetbench, the API service on
 * the project store with jobs in utilityProcess workers, and the IPC transport to the window. Runs only inside
 * Electron (`npm start` picks serve mode where the binary is missing); it compiles from Electron's types alone.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  protocol,
  session,
  shell,
  utilityProcess,
} from 'electron';
import { projectRoot } from '../../engine/paths.js';
import { ProjectSessions, sessionOpener } from '../api/project-sessions.js';
import { JobHost } from '../jobs/job-host.js';
import { utilityProcessLauncher } from '../jobs/utility-process-launcher.js';
import { openProject } from '../store/open-project.js';
import { RecentProjects } from '../store/recent-projects.js';
import { OPEN_ARTIFACT_CHANNEL, PICK_PATH_CHANNEL, type PickPathRequest } from './bridge.js';
import { openArtifact } from './open-artifact.js';
import { registerAppProtocol } from './app-protocol.js';
import { APP_ORIGIN, APP_SCHEME, FILE_SCHEME } from './content-security-policy.js';
import { connectBackend, type Backend } from './backend.js';
import { createElectronPdfRenderer, guardPdfSession, REPORT_PDF_PARTITION } from './electron-pdf.js';
import { denyAllPermissions, isTrustedIpcEvent, lockNavigation, secureWebPreferences } from './security.js';

const here = dirname(fileURLToPath(import.meta.url));

// Before `ready`: our schemes get real origins (so 'self' in the CSP means the app) and fetch support.
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  { scheme: FILE_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);
app.enableSandbox();

/** `--project <file>` after the app's own arguments, as in `npm start -- --project my.vbproj`. */
function projectArgument(argv: readonly string[]): string | undefined {
  const at = argv.indexOf('--project');
  return at >= 0 ? argv[at + 1] : undefined;
}

// Every web contents, present or future: no navigation away, no new windows, no <webview>.
app.on('web-contents-created', (_event, contents) => lockNavigation(contents));

let backend: Backend | null = null;

async function createWindow(): Promise<BrowserWindow> {
  const window = new BrowserWindow({
    width: 1360,
    height: 900,
    minWidth: 960,
    minHeight: 640,
    title: 'Vetbench',
    show: false,
    backgroundColor: '#14171c',
    webPreferences: secureWebPreferences(join(here, 'preload.cjs')),
  });
  window.once('ready-to-show', () => window.show());
  backend?.attach(window.webContents);
  await window.loadURL(`${APP_ORIGIN}/index.html`);
  return window;
}

function registerPicker(): void {
  ipcMain.handle(PICK_PATH_CHANNEL, async (event, raw: unknown) => {
    if (!isTrustedIpcEvent(event)) return null;
    const request = raw as Partial<PickPathRequest> | null;
    const owner = BrowserWindow.fromWebContents(event.sender);
    const options = {
      title: typeof request?.title === 'string' ? request.title.slice(0, 200) : 'Choose',
      properties: [request?.directory === true ? ('openDirectory' as const) : ('openFile' as const)],
      filters:
        request?.directory !== true && Array.isArray(request?.extensions) && request.extensions.length > 0
          ? [{ name: 'Allowed files', extensions: request.extensions.map(String) }]
          : [],
    };
    if (request?.save === true && request.directory !== true) {
      // A file to create (a new project): the save dialog; the API still checks the folder is allowed.
      const saveOptions = { title: options.title, filters: options.filters };
      const saved = owner
        ? await dialog.showSaveDialog(owner, saveOptions)
        : await dialog.showSaveDialog(saveOptions);
      return saved.canceled || !saved.filePath ? null : saved.filePath;
    }
    const result = owner ? await dialog.showOpenDialog(owner, options) : await dialog.showOpenDialog(options);
    return result.canceled ? null : (result.filePaths[0] ?? null);
  });
}

/** "Open the report": the page names an artifact id; the main process opens that stored report only. */
function registerOpenArtifact(sessions: ProjectSessions): void {
  ipcMain.handle(OPEN_ARTIFACT_CHANNEL, async (event, raw: unknown) => {
    if (!isTrustedIpcEvent(event)) return { ok: false, message: 'Not the Vetbench window.' };
    return openArtifact(raw, {
      store: () => sessions.current.store,
      openPath: (path) => shell.openPath(path),
    });
  });
}

async function main(): Promise<void> {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  await app.whenReady();
  denyAllPermissions(session.defaultSession);
  registerAppProtocol(protocol, join(projectRoot(), 'dist', 'renderer'));
  Menu.setApplicationMenu(null);

  const hostOptions = { launcher: utilityProcessLauncher(utilityProcess) };
  const store = openProject(projectArgument(process.argv));
  const host = new JobHost(store, hostOptions);
  host.start();
  const sessions = new ProjectSessions({ store, host }, sessionOpener(hostOptions), new RecentProjects());
  // Export report prints with Electron itself, in hidden windows of a session that reaches nothing but the report.
  const pdf = createElectronPdfRenderer({ openWindow: (options) => new BrowserWindow(options) });
  guardPdfSession(session.fromPartition(REPORT_PDF_PARTITION), (url) => pdf.allows(url));
  backend = connectBackend({ sessions, ipcMain, protocol, renderPdf: pdf.renderPdf });
  registerPicker();
  registerOpenArtifact(sessions);

  let window = await createWindow();
  app.on('second-instance', () => {
    if (window.isMinimized()) window.restore();
    window.focus();
  });
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) void createWindow().then((w) => (window = w));
  });
  app.on('window-all-closed', () => app.quit());
  app.on('will-quit', (event) => {
    if (!backend) return;
    // Running jobs get their cooperative cancel; the store is closed once they are gone.
    event.preventDefault();
    const closing = backend;
    backend = null;
    void closing.close().finally(() => app.exit(0));
  });
}

main().catch((error: unknown) => {
  dialog.showErrorBox('Vetbench could not start', error instanceof Error ? error.message : String(error));
  app.exit(1);
});
