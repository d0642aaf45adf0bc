/**
 * The preload script of the app window. It runs sandboxed (CommonJS, only `electron` may be required), so it
 * imports nothing of ours at run time: the channel names below must equal IPC_CHANNEL_PREFIX and
 * IPC_EVENT_CHANNEL in electron/api/contract.ts and PICK_PATH_CHANNEL, OPEN_ARTIFACT_CHANNEL in bridge.ts (a test checks this).
 * It exposes exactly the VetbenchBridge: no ipcRenderer, no Node, no raw events.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a sandboxed preload is CommonJS
import electron = require('electron');
import type { IpcRendererEvent } from 'electron';
import type { ApiMethodName } from '../api/contract.js';
import type { OpenArtifactResult, PickPathRequest, VetbenchBridge } from './bridge.js';

const { contextBridge, ipcRenderer, webUtils } = electron;

const CHANNEL_PREFIX = 'vetbench:';
const EVENT_CHANNEL = 'vetbench:event';
const PICK_CHANNEL = 'vetbench-app:pick-path';
const OPEN_ARTIFACT_CHANNEL = 'vetbench-app:open-artifact';
/** API call names are plain identifiers; anything else never reaches ipcRenderer. */
const CALL_NAME = /^[a-zA-Z]{1,64}$/;

const bridge: VetbenchBridge = {
  invoke(call: ApiMethodName, payload: unknown): Promise<unknown> {
    if (typeof call !== 'string' || !CALL_NAME.test(call))
      return Promise.resolve({
        ok: false,
        error: {
          code: 'bad-request',
          message: `'${String(call)}' is not an API call`,
          hint: 'Use a call of ApiClient.',
        },
      });
    return ipcRenderer.invoke(`${CHANNEL_PREFIX}${call}`, payload);
  },
  onEvent(listener: (raw: unknown) => void): () => void {
    // The page never sees the IpcRendererEvent (it would expose `sender`): only the payload.
    const wrapped = (_event: IpcRendererEvent, raw: unknown): void => listener(raw);
    ipcRenderer.on(EVENT_CHANNEL, wrapped);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, wrapped);
    };
  },
  pathForFile(file: File): string {
    try {
      return webUtils.getPathForFile(file);
    } catch {
      return '';
    }
  },
  pickPath(request: PickPathRequest): Promise<string | null> {
    return ipcRenderer.invoke(PICK_CHANNEL, {
      directory: request.directory === true,
      title: String(request.title),
      extensions: Array.isArray(request.extensions) ? request.extensions.map(String) : [],
      save: request.save === true,
    }) as Promise<string | null>;
  },
  openArtifact(artifactId: number): Promise<OpenArtifactResult> {
    // Only an id crosses: the main process looks the path up and opens reports only.
    return ipcRenderer.invoke(OPEN_ARTIFACT_CHANNEL, {
      artifactId: Number(artifactId),
    }) as Promise<OpenArtifactResult>;
  },
};

contextBridge.exposeInMainWorld('vetbench', bridge);
