/**
 * vetbench-file://artifact/<id> and vetbench-file://dataset/<id>/<image id>: project files for <img> in the
 * app window, looked up by id in the store (the page never names a path). Dataset images are sent as PNG.
 */
import { readFile } from 'node:fs/promises';
import type { Protocol } from 'electron';
import sharp from 'sharp';
import { containedFile, decodePathPart } from '../api/contained-file.js';
import type { ProjectStore } from '../store/project-store.js';
import { FILE_SCHEME } from './content-security-policy.js';

export type ProjectFile = { artifactId: number } | { datasetId: number; imageId: string };

export function projectFileUrl(file: ProjectFile): string {
  return 'artifactId' in file
    ? `${FILE_SCHEME}://artifact/${file.artifactId}`
    : `${FILE_SCHEME}://dataset/${file.datasetId}/${encodeURIComponent(file.imageId)}`;
}

/** The request as a project file, or null when it is not one of ours. */
export function parseProjectFileUrl(url: string): ProjectFile | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== `${FILE_SCHEME}:`) return null;
  const parts = parsed.pathname.split('/').filter(Boolean);
  const id = Number(parts[0]);
  if (!Number.isSafeInteger(id) || id < 1) return null;
  if (parsed.host === 'artifact' && parts.length === 1) return { artifactId: id };
  if (parsed.host === 'dataset' && parts.length === 2) {
    const imageId = decodePathPart(parts[1]!);
    return imageId === null ? null : { datasetId: id, imageId };
  }
  return null;
}

/** An image of a dataset, a regular file inside its root only, symlinks resolved (see `containedFile`). */
export function datasetImagePath(root: string, imageId: string): string | null {
  return containedFile(root, imageId);
}

/** Serves the files of the shown project (`currentStore` follows project switches). */
export function registerFileProtocol(protocol: Protocol, currentStore: () => ProjectStore): void {
  protocol.handle(FILE_SCHEME, async (request) => {
    const file = parseProjectFileUrl(request.url);
    if (!file) return new Response('not found', { status: 404 });
    try {
      const store = currentStore();
      if ('artifactId' in file) {
        const artifact = store.getArtifact(file.artifactId);
        return new Response(await readFile(artifact.path), {
          headers: { 'content-type': artifact.mediaType },
        });
      }
      const path = datasetImagePath(store.getDataset(file.datasetId).root, file.imageId);
      if (!path) return new Response('not found', { status: 404 });
      return new Response(await sharp(path).png().toBuffer(), { headers: { 'content-type': 'image/png' } });
    } catch {
      return new Response('not found', { status: 404 });
    }
  });
}
