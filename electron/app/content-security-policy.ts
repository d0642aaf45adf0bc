/**
 * The one Content-Security-Policy of the app window: only the app's own files, no eval, no inline script or
 * style, no remote anything. Sent as a response header by the app:// protocol (renderer/index.html carries
 * the same policy in a meta tag for serve mode).
 */

/** Scheme that serves the renderer's files inside Electron. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'vetbench';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

/** Scheme that serves project files (dataset images, artifacts) to <img> inside Electron. */
export const FILE_SCHEME = 'vetbench-file';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  `img-src 'self' data: blob: ${FILE_SCHEME}:`,
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "frame-src 'none'",
  "worker-src 'none'",
].join('; ');
