import { dirname } from 'node:path';
import { AllowedRoots } from './allowed-roots.js';
import { API_METHOD_NAMES } from './contract.js';
import type { ProjectSession, ProjectSessions } from './project-sessions.js';
import { createApiService, type ApiHandlers, type ServiceOptions } from './service.js';

export interface SessionApiOptions {
  /** Folders allowed whatever project is shown (home or working folder, the install, --allow-root ...). */
  readonly baseRoots: readonly string[];
  /** The install folder: readable through the API, never written (no exports or projects into it). */
  readonly installRoot?: string;
  readonly fileUrl: ServiceOptions['fileUrl'];
  /** How exported reports are printed to PDF (the app passes Electron's printToPDF; serve leaves it out). */
  readonly renderPdf?: ServiceOptions['renderPdf'];
}

/** The allowed folders while `session` is shown: the base ones, the project's folder and its artifacts. */
export function rootsFor(
  session: ProjectSession,
  baseRoots: readonly string[],
  installRoot?: string,
): AllowedRoots {
  const projectFolders = [dirname(session.store.path), session.store.artifactsDir];
  return new AllowedRoots([...baseRoots, ...projectFolders], {
    readOnly: installRoot === undefined ? [] : [installRoot],
    writable: projectFolders,
  });
}

/**
 * The API on whichever project is shown: every call goes to the service of the current session (built once
 * per session), and the project calls switch sessions. Both the desktop app and `vetbench serve` use it.
 */
export function createSessionApi(sessions: ProjectSessions, options: SessionApiOptions): ApiHandlers {
  const built = new WeakMap<ProjectSession, ApiHandlers>();
  const handlersOf = (session: ProjectSession): ApiHandlers => {
    let handlers = built.get(session);
    if (!handlers) {
      handlers = createApiService(session.store, session.host, {
        allowedRoots: rootsFor(session, options.baseRoots, options.installRoot),
        fileUrl: options.fileUrl,
        projects: { list: () => sessions.list(), open: (path, create) => sessions.open(path, create) },
        ...(options.renderPdf ? { renderPdf: options.renderPdf } : {}),
      });
      built.set(session, handlers);
    }
    return handlers;
  };
  return Object.fromEntries(
    API_METHOD_NAMES.map((name) => [
      name,
      (request: never) => (handlersOf(sessions.current)[name] as (r: never) => Promise<unknown>)(request),
    ]),
  ) as unknown as ApiHandlers;
}
