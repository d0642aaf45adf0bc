/**
 * Picks the transport: the preload bridge inside Electron, HTTP + server-sent events in the browser
 * (`vetbench serve` prints a URL carrying ?token=...). Either way the app only ever holds an ApiClient.
 */
import { createApiClient } from '../../../electron/api/client.js';
import type { ApiClient } from '../../../electron/api/contract.js';
import { createHttpApiClient, type EventSourceLike } from '../../../electron/api/http-client.js';
import type { VetbenchBridge } from '../../../electron/app/bridge.js';

declare global {
  interface Window {
    vetbench?: VetbenchBridge;
  }
}

export interface Connection {
  readonly api: ApiClient;
  /** Present only in the desktop app: native file picker and paths of dropped files. */
  readonly bridge: VetbenchBridge | null;
  readonly mode: 'electron' | 'serve';
}

export class MissingTokenError extends Error {
  constructor() {
    super('This page was opened without its access token.');
    this.name = 'MissingTokenError';
  }
}

const TOKEN_KEY = 'vetbench-token';

export function connect(): Connection {
  const bridge = window.vetbench;
  if (bridge) {
    const api = createApiClient({
      call: (method, payload) => bridge.invoke(method, payload ?? {}),
      listen: (onEvent) => bridge.onEvent(onEvent),
    });
    return { api, bridge, mode: 'electron' };
  }
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  // Keep the token for reloads, then drop it from the address bar so it is not shared by copy and paste.
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    window.history.replaceState(null, '', url.toString());
  }
  const token = fromUrl ?? sessionStorage.getItem(TOKEN_KEY);
  if (!token) throw new MissingTokenError();
  const api = createHttpApiClient({
    baseUrl: window.location.origin,
    token,
    fetch: (target, init) => window.fetch(target, init),
    eventSource: (target) => {
      const source = new EventSource(target);
      const like: EventSourceLike = { onmessage: null, close: () => source.close() };
      source.onmessage = (message: MessageEvent<string>) => like.onmessage?.({ data: message.data });
      return like;
    },
  });
  return { api, bridge: null, mode: 'serve' };
}
