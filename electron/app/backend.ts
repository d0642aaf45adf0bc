/**
 * The desktop app's back end: the API on the shown project (switchable from the Project screen), reached
 * over IPC (sender frame checked), events forwarded to the window, project files served on vetbench-file://.
 */
import { homedir } from 'node:os';
import type { IpcMain, Protocol, WebContents } from 'electron';
import { projectRoot } from '../../engine/paths.js';
import { forwardEvents, registerIpcApi, sameOriginAs } from '../api/ipc-transport.js';
import type { ProjectSessions } from '../api/project-sessions.js';
import { createSessionApi } from '../api/session-api.js';
import type { PdfRenderer } from '../report/pdf-renderer.js';
import { APP_ORIGIN } from './content-security-policy.js';
import { projectFileUrl, registerFileProtocol } from './file-protocol.js';

export interface Backend {
  /** Sends the API's events to this window until it is destroyed. */
  attach(contents: WebContents): void;
  /** Stops forwarding, stops running jobs (marked interrupted, resumable), closes every open project. */
  close(): Promise<void>;
}

export interface BackendParts {
  readonly sessions: ProjectSessions;
  readonly ipcMain: IpcMain;
  readonly protocol: Protocol;
  /** Prints exported reports to PDF (the app's Electron printToPDF renderer). */
  readonly renderPdf: PdfRenderer;
}

export function connectBackend({ sessions, ipcMain, protocol, renderPdf }: BackendParts): Backend {
  // The desktop user may import from anywhere in their home folder, besides the project and the install.
  const handlers = createSessionApi(sessions, {
    baseRoots: [homedir(), projectRoot()],
    installRoot: projectRoot(),
    fileUrl: projectFileUrl,
    renderPdf,
  });
  const unregister = registerIpcApi(ipcMain, handlers, sameOriginAs(`${APP_ORIGIN}/index.html`));
  registerFileProtocol(protocol, () => sessions.current.store);
  const detachers = new Set<() => void>();
  return {
    attach(contents) {
      const stop = forwardEvents((l) => sessions.subscribe(l), contents);
      detachers.add(stop);
      contents.once('destroyed', () => {
        stop();
        detachers.delete(stop);
      });
    },
    async close() {
      for (const stop of detachers) stop();
      unregister();
      await sessions.close();
    },
  };
}
