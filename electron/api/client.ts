/**
 * Builds an `ApiClient` from two transport primitives: send one call, and listen to events. Replies and
 * events are validated against the contract here, so a transport only moves JSON. Imports only the contract
 * (the renderer bundles it).
 */
import {
  API_METHOD_NAMES,
  API_METHODS,
  ApiCallError,
  ApiReplySchema,
  ClientEventSchema,
  describeIssues,
  type ApiClient,
  type ClientEventListener,
  type ApiMethodName,
} from './contract.js';

export interface ApiTransport {
  /** Sends one call and resolves with the raw reply envelope ({ ok, result } or { ok, error }). */
  call(method: ApiMethodName, payload: unknown): Promise<unknown>;
  /** Delivers raw event payloads until the returned function is called. */
  listen(onEvent: (raw: unknown) => void): () => void;
}

function unwrap(method: ApiMethodName, raw: unknown): unknown {
  const reply = ApiReplySchema.safeParse(raw);
  if (!reply.success)
    throw new ApiCallError({
      code: 'api-bad-reply',
      message: `${method}: the reply is not an API reply (${describeIssues(reply.error)})`,
      hint: 'The app and its back end are from different versions; restart Vetbench.',
    });
  if (!reply.data.ok) throw new ApiCallError(reply.data.error);
  const parsed = API_METHODS[method].response.safeParse(reply.data.result);
  if (!parsed.success)
    throw new ApiCallError({
      code: 'api-bad-reply',
      message: `${method}: unexpected reply (${describeIssues(parsed.error)})`,
      hint: 'The app and its back end are from different versions; restart Vetbench.',
    });
  return parsed.data;
}

export function createApiClient(transport: ApiTransport): ApiClient {
  const listeners = new Set<ClientEventListener>();
  let stopListening: (() => void) | null = null;
  const methods = Object.fromEntries(
    API_METHOD_NAMES.map((method) => [
      method,
      async (request: unknown) => unwrap(method, await transport.call(method, request)),
    ]),
  );
  return {
    ...(methods as Omit<ApiClient, 'subscribe'>),
    subscribe(listener: ClientEventListener): () => void {
      listeners.add(listener);
      stopListening ??= transport.listen((raw) => {
        const event = ClientEventSchema.safeParse(raw);
        if (!event.success) return; // an event type this client does not know: newer back end
        for (const l of listeners) l(event.data);
      });
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && stopListening) {
          stopListening();
          stopListening = null;
        }
      };
    },
  };
}
