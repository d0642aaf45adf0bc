/**
 * The desktop app's back end: the API service on the project store and job host, reached over IPC (sender
 * frame checked), events forwarded to the window, project files served on vetbench-file://.
 */
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import type { IpcMain, Protocol, WebContents } from 'electron';
import { projectRoot } from '../../engine/paths.js';
import { AllowedRoots } from '../api/allowed-roots.js';
import { forwardEvents, registerIpcApi, sameOriginAs } from '../api/ipc-transport.js';
import { createApiService } from '../api/service.js';
import type { JobHost } from '../jobs/job-host.js';
import type { ProjectStore } from '../store/project-store.js';
import { APP_ORIGIN } from './content-security-policy.js';
import { projectFileUrl, registerFileProtocol } from './file-protocol.js';

export interface Backend {
  /** Sends the API's events to this window until it is destroyed. */
  attach(contents: WebContents): void;
  /** Stops forwarding, lets running jobs stop cooperatively, closes the store. */
  close(): Promise<void>;
}

export interface BackendParts {
  readonly store: ProjectStore;
  readonly host: JobHost;
  readonly ipcMain: IpcMain;
  readonly protocol: Protocol;
}

export function connectBackend({ store, host, ipcMain, protocol }: BackendParts): Backend {
  // The desktop user may import from anywhere in their home folder, besides the project and the install.
  const allowedRoots = new AllowedRoots([homedir(), dirname(store.path), store.artifactsDir, projectRoot()]);
  const handlers = createApiService(store, host, { allowedRoots, fileUrl: projectFileUrl });
  const unregister = registerIpcApi(ipcMain, handlers, sameOriginAs(`${APP_ORIGIN}/index.html`));
  registerFileProtocol(protocol, store);
  const detachers = new Set<() => void>();
  return {
    attach(contents) {
      const stop = forwardEvents((l) => host.subscribe(l), contents);
      detachers.add(stop);
      contents.once('destroyed', () => {
        stop();
        detachers.delete(stop);
      });
    },
    async close() {
      for (const stop of detachers) stop();
      unregister();
      await host.close();
      store.close();
    },
  };
}
