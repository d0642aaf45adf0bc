/**
 * The one object the preload script puts on `window.vetbench` (contextBridge): the whole surface the page
 * has into the main process. Types only, so the renderer can import it without pulling in Electron.
 */
import type { ApiMethodName } from '../api/contract.js';

/** What the file picker should offer. */
export interface PickPathRequest {
  readonly directory: boolean;
  readonly title: string;
  /** File extensions without dots, e.g. ["safetensors"]; ignored for folders. */
  readonly extensions?: readonly string[];
  /** A file to create (the save dialog), e.g. a new project; ignored for folders. */
  readonly save?: boolean;
}

export interface VetbenchBridge {
  /** One API call; resolves with the reply envelope ({ ok, result } or { ok, error }). */
  invoke(call: ApiMethodName, payload: unknown): Promise<unknown>;
  /** Raw API events until the returned function is called. */
  onEvent(listener: (raw: unknown) => void): () => void;
  /** The absolute path of a dropped or picked File (Electron's webUtils.getPathForFile), "" when unknown. */
  pathForFile(file: File): string;
  /** The native open dialog; resolves with the chosen path, or null when cancelled. */
  pickPath(request: PickPathRequest): Promise<string | null>;
  /**
   * Opens a stored report (HTML or PDF artifact of the shown project) in the system's viewer. Optional: a
   * preload from an older build lacks it.
   */
  openArtifact?(artifactId: number): Promise<OpenArtifactResult>;
}

/** The outcome of openArtifact: where the opened file lies, or why nothing was opened. */
export type OpenArtifactResult = { ok: true; path: string } | { ok: false; message: string };

/** IPC channel of the native file picker (not an API call: it only exists in the desktop app). */
export const PICK_PATH_CHANNEL = 'vetbench-app:pick-path';

/** IPC channel of openArtifact (desktop app only). */
export const OPEN_ARTIFACT_CHANNEL = 'vetbench-app:open-artifact';
