/**
 * The API over Electron IPC, main-process side: one `ipcMain.handle` per call on `vetbench:<call>`, the
 * sender frame checked against the app's own page before anything runs, the payload validated by `dispatch`.
 * Events go to the window on `vetbench:event`. Electron is referenced by type only, so this compiles and its
 * tests run without the Electron binary.
 */
import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import {
  API_METHOD_NAMES,
  IPC_CHANNEL_PREFIX,
  IPC_EVENT_CHANNEL,
  type ClientEvent,
  type ApiReply,
} from './contract.js';
import { dispatch, type ApiHandlers } from './service.js';

/** Decides whether a frame URL is the app's own page (e.g. same origin as app://vetbench/index.html). */
export type FrameValidator = (frameUrl: string) => boolean;

/** Accepts frames whose origin (scheme + host) equals that of the app page URL. */
export function sameOriginAs(appUrl: string): FrameValidator {
  const expected = new URL(appUrl);
  return (frameUrl) => {
    try {
      const u = new URL(frameUrl);
      // file: URLs have an opaque origin ("null"): compare scheme and path prefix instead.
      if (expected.protocol === 'file:') return u.protocol === 'file:' && u.pathname === expected.pathname;
      return u.protocol === expected.protocol && u.host === expected.host;
    } catch {
      return false;
    }
  };
}

/**
 * True when the message comes from the top-level frame of the window that sent it (not an iframe, even one of
 * our own origin) and that frame shows the app's page. Every IPC channel of the app checks this.
 */
export function isMainFrameOfSender(
  event: Pick<IpcMainInvokeEvent, 'senderFrame' | 'sender'>,
  isTrustedFrame: FrameValidator,
): boolean {
  const frame = event.senderFrame;
  if (!frame || frame.parent !== null) return false;
  const mainFrame = (event.sender as Partial<Pick<WebContents, 'mainFrame'>> | undefined)?.mainFrame;
  return mainFrame !== undefined && frame === mainFrame && isTrustedFrame(frame.url);
}

/** The part of IpcMain used here (tests pass a fake). */
export type IpcMainLike = Pick<IpcMain, 'handle' | 'removeHandler'>;

const FORBIDDEN: ApiReply = {
  ok: false,
  error: {
    code: 'forbidden-sender',
    message: 'API calls are only accepted from the Vetbench window',
    hint: 'This page is not the Vetbench app.',
  },
};

/** Registers every API call; returns a function that removes them again. */
export function registerIpcApi(
  ipcMain: IpcMainLike,
  handlers: ApiHandlers,
  isTrustedFrame: FrameValidator,
): () => void {
  for (const method of API_METHOD_NAMES) {
    ipcMain.handle(`${IPC_CHANNEL_PREFIX}${method}`, async (event: IpcMainInvokeEvent, payload: unknown) => {
      if (!isMainFrameOfSender(event, isTrustedFrame)) return FORBIDDEN;
      return (await dispatch(handlers, method, payload)).reply;
    });
  }
  return () => {
    for (const method of API_METHOD_NAMES) ipcMain.removeHandler(`${IPC_CHANNEL_PREFIX}${method}`);
  };
}

/** Sends every event to the window while it exists; returns the unsubscribe function. */
export function forwardEvents(
  subscribe: (listener: (event: ClientEvent) => void) => () => void,
  webContents: Pick<WebContents, 'send' | 'isDestroyed'>,
): () => void {
  const unsubscribe = subscribe((event) => {
    if (!webContents.isDestroyed()) webContents.send(IPC_EVENT_CHANNEL, event);
  });
  return unsubscribe;
}
