/**
 * The serve-mode transport seen from the browser: POST /api/<method> with a JSON body, events from an
 * EventSource on /api/events. The token comes from the URL `vetbench serve` printed (?token=...).
 * Imports only the contract; `fetch` and `EventSource` are passed in so it also runs in Node tests.
 */
import { createApiClient } from './client.js';
import {
  HTTP_API_PREFIX,
  HTTP_EVENTS_PATH,
  TOKEN_HEADER,
  type ApiClient,
  type ApiMethodName,
} from './contract.js';

/** The part of the DOM EventSource this client uses. */
export interface EventSourceLike {
  onmessage: ((message: { data: string }) => void) | null;
  close(): void;
}

export interface HttpClientOptions {
  /** Origin of the server, e.g. "http://127.0.0.1:5178" (in the browser: location.origin). */
  baseUrl: string;
  token: string;
  fetch?: (
    url: string,
    init: { method: string; headers: Record<string, string>; body: string },
  ) => Promise<{
    json(): Promise<unknown>;
  }>;
  eventSource?: (url: string) => EventSourceLike;
}

export function createHttpApiClient(options: HttpClientOptions): ApiClient {
  const doFetch = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
  const base = options.baseUrl.replace(/\/$/, '');
  return createApiClient({
    async call(method: ApiMethodName, payload: unknown): Promise<unknown> {
      const response = await doFetch(`${base}${HTTP_API_PREFIX}${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [TOKEN_HEADER]: options.token },
        body: JSON.stringify(payload ?? {}),
      });
      return response.json();
    },
    listen(onEvent: (raw: unknown) => void): () => void {
      if (!options.eventSource) throw new Error('createHttpApiClient: no EventSource given');
      const source = options.eventSource(
        `${base}${HTTP_EVENTS_PATH}?token=${encodeURIComponent(options.token)}`,
      );
      source.onmessage = (message) => {
        try {
          onEvent(JSON.parse(message.data));
        } catch {
          // a malformed line is dropped; the next event still arrives
        }
      };
      return () => source.close();
    },
  });
}
