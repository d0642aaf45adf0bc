/**
 * "Open the report" inside the desktop app: the page may not navigate anywhere (security.ts), so it asks the
 * main process to open a stored report with the operating system's default viewer. The page names only an
 * artifact id; the path comes from the project store, and only report files (HTML, PDF) are opened, so a
 * compromised page can neither name an arbitrary file nor launch an executable.
 */
import { existsSync } from 'node:fs';
import type { ProjectStore } from '../store/project-store.js';
import type { OpenArtifactResult } from './bridge.js';

/** The artifact kinds the bridge opens. */
const OPENABLE_KINDS: readonly string[] = ['report'];
const OPENABLE_TYPES: readonly string[] = ['text/html', 'application/pdf'];

export interface OpenArtifactDeps {
  readonly store: () => ProjectStore;
  /** Electron's shell.openPath: resolves with '' on success, an error message otherwise. */
  readonly openPath: (path: string) => Promise<string>;
}

function refuse(message: string): OpenArtifactResult {
  return { ok: false, message };
}

/** Validates the page's request (an artifact id) and opens that report; never throws. */
export async function openArtifact(raw: unknown, deps: OpenArtifactDeps): Promise<OpenArtifactResult> {
  const artifactId = (raw as { artifactId?: unknown } | null)?.artifactId;
  if (typeof artifactId !== 'number' || !Number.isSafeInteger(artifactId) || artifactId < 1)
    return refuse('The request names no artifact id.');
  let artifact: ReturnType<ProjectStore['getArtifact']>;
  try {
    artifact = deps.store().getArtifact(artifactId);
  } catch {
    return refuse(`There is no artifact ${artifactId} in this project.`);
  }
  const mediaType = artifact.mediaType.split(';')[0]!.trim();
  if (!OPENABLE_KINDS.includes(artifact.kind) || !OPENABLE_TYPES.includes(mediaType))
    return refuse(`Artifact ${artifactId} is a ${artifact.kind} (${mediaType}); only reports are opened.`);
  if (!existsSync(artifact.path)) return refuse(`The report file ${artifact.path} is gone.`);
  const failure = await deps.openPath(artifact.path);
  return failure ? refuse(`The report could not be opened: ${failure}`) : { ok: true, path: artifact.path };
}
