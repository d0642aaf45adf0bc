/**
 * app://vetbench/... serves the built renderer (dist/renderer/) with the strict CSP as a header. Files are
 * resolved inside that folder only; anything else is 404. Registered as a standard, secure scheme so the
 * page gets a real origin ('self' in the CSP) instead of file://.
 */
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, relative, isAbsolute } from 'node:path';
import type { Protocol } from 'electron';
import { containedFile, decodePathPart } from '../api/contained-file.js';
import { APP_HOST, APP_SCHEME, CONTENT_SECURITY_POLICY } from './content-security-policy.js';

const MEDIA_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** The file a request maps to, or null when it lies outside the renderer folder or names another host. */
export function resolveAppFile(rendererDir: string, requestUrl: string): string | null {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return null;
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return null;
  const path = decodePathPart(url.pathname);
  if (path === null) return null;
  const target = normalize(join(rendererDir, path === '/' ? 'index.html' : path));
  const inside = relative(rendererDir, target);
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) return null;
  return target;
}

export function registerAppProtocol(protocol: Protocol, rendererDir: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const lexical = resolveAppFile(rendererDir, request.url);
    // Then with symlinks resolved: only regular files really inside the renderer folder.
    const file = lexical && containedFile(rendererDir, relative(rendererDir, lexical));
    if (!file) return new Response('not found', { status: 404 });
    try {
      const body = await readFile(file);
      return new Response(body, {
        headers: {
          'content-type': MEDIA_TYPES[extname(file)] ?? 'application/octet-stream',
          'content-security-policy': CONTENT_SECURITY_POLICY,
          'x-content-type-options': 'nosniff',
          'cross-origin-opener-policy': 'same-origin',
        },
      });
    } catch {
      return new Response('not found', { status: 404 });
    }
  });
}
