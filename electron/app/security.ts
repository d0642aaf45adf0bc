/**
 * Electron's security checklist (docs/tutorial/security.md) in one place: the window's web preferences,
 * permission requests denied, navigation and new windows blocked, <webview> refused, and the check that an
 * IPC message comes from the app's own top-level page.
 */
import type { IpcMainInvokeEvent, Session, WebContents, WebFrameMain, WebPreferences } from 'electron';
import { isMainFrameOfSender } from '../api/ipc-transport.js';
import { APP_ORIGIN } from './content-security-policy.js';

/** Web preferences of every app window: isolated, sandboxed, no Node in the page, preload only. */
export function secureWebPreferences(preloadPath: string): WebPreferences {
  return {
    preload: preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    spellcheck: false,
    devTools: !isPackaged(),
  };
}

function isPackaged(): boolean {
  return process.env.VETBENCH_DEVTOOLS !== '1' && !process.defaultApp;
}

/** True when the URL is a page of the app itself (app://vetbench/...). */
export function isAppUrl(url: string): boolean {
  try {
    // URL.origin is "null" for custom schemes outside the browser: compare scheme and host.
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}` === APP_ORIGIN;
  } catch {
    return false;
  }
}

/**
 * IPC sender check: the message must come from the main frame of one of our windows, showing our page.
 * A subframe, another origin or a frame that navigated away is refused.
 */
export function isTrustedSender(frame: Pick<WebFrameMain, 'url' | 'parent'> | null): boolean {
  return frame !== null && frame.parent === null && isAppUrl(frame.url);
}

/**
 * The check every IPC channel of the shell makes: the sender frame is the main frame of its window
 * (`event.senderFrame === event.sender.mainFrame`), has no parent, and shows the app's page.
 */
export function isTrustedIpcEvent(event: Pick<IpcMainInvokeEvent, 'senderFrame' | 'sender'>): boolean {
  return isMainFrameOfSender(event, isAppUrl) && isTrustedSender(event.senderFrame);
}

/** No camera, microphone, notifications, geolocation, HID ...: the app needs none. */
export function denyAllPermissions(session: Session): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
  session.setDisplayMediaRequestHandler((_request, callback) => callback({}));
}

/** The page can neither navigate away nor open windows nor embed webviews. */
export function lockNavigation(contents: WebContents): void {
  contents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}
