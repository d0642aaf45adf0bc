import { mkdirSync, mkdtempSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { IPC_CHANNEL_PREFIX, IPC_EVENT_CHANNEL } from '../../electron/api/contract.js';
import { resolveAppFile } from '../../electron/app/app-protocol.js';
import { OPEN_ARTIFACT_CHANNEL, PICK_PATH_CHANNEL } from '../../electron/app/bridge.js';
import { CONTENT_SECURITY_POLICY } from '../../electron/app/content-security-policy.js';
import { datasetImagePath, parseProjectFileUrl, projectFileUrl } from '../../electron/app/file-protocol.js';
import {
  isAppUrl,
  isTrustedIpcEvent,
  isTrustedSender,
  secureWebPreferences,
} from '../../electron/app/security.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('Electron shell security', () => {
  it('uses the checklist web preferences for every window', () => {
    expect(secureWebPreferences('/p/preload.cjs')).toMatchObject({
      preload: '/p/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
  });

  it('trusts only the main frame of the app page', () => {
    expect(isTrustedSender({ url: 'app://vetbench/index.html', parent: null })).toBe(true);
    expect(isTrustedSender({ url: 'https://example.com/', parent: null })).toBe(false);
    expect(isTrustedSender({ url: 'file:///etc/passwd', parent: null })).toBe(false);
    const top = { url: 'app://vetbench/index.html', parent: null };
    expect(isTrustedSender({ url: 'app://vetbench/index.html', parent: top as never })).toBe(false);
    expect(isTrustedSender(null)).toBe(false);
    expect(isAppUrl('app://other/index.html')).toBe(false);
  });

  it("checks on every shell IPC channel that the sender is its window's main frame", () => {
    const main = { url: 'app://vetbench/index.html', parent: null };
    const event = (senderFrame: unknown, mainFrame: unknown) =>
      ({ senderFrame, sender: { mainFrame } }) as never;
    expect(isTrustedIpcEvent(event(main, main))).toBe(true);
    expect(isTrustedIpcEvent(event({ ...main }, main))).toBe(false); // same URL, another frame
    expect(isTrustedIpcEvent(event({ url: main.url, parent: main }, main))).toBe(false);
    expect(isTrustedIpcEvent(event(null, main))).toBe(false);
    const evil = { url: 'https://evil.example/', parent: null };
    expect(isTrustedIpcEvent(event(evil, evil))).toBe(false);
    // Both shell channels and the API transport go through the check.
    const mainSource = readFileSync(join(root, 'electron', 'app', 'main.ts'), 'utf8');
    const handlers = [...mainSource.matchAll(/ipcMain\.handle\(/g)].length;
    expect(handlers).toBeGreaterThan(0);
    expect([...mainSource.matchAll(/if \(!isTrustedIpcEvent\(event\)\)/g)].length).toBe(handlers);
  });

  it('serves only files inside the renderer folder', () => {
    expect(resolveAppFile('/r', 'app://vetbench/')).toBe('/r/index.html');
    expect(resolveAppFile('/r', 'app://vetbench/assets/index.js')).toBe('/r/assets/index.js');
    expect(resolveAppFile('/r', 'app://vetbench/..%2F..%2Fetc%2Fpasswd')).toBeNull();
    expect(resolveAppFile('/r', 'app://evil/index.html')).toBeNull();
    expect(resolveAppFile('/r', 'https://vetbench/index.html')).toBeNull();
    expect(resolveAppFile('/r', 'app://vetbench/%E0%A4%A')).toBeNull();
  });

  it('names project files by id and keeps dataset images inside their root', () => {
    const url = projectFileUrl({ datasetId: 3, imageId: 'train/cat/a b.png' });
    expect(parseProjectFileUrl(url)).toEqual({ datasetId: 3, imageId: 'train/cat/a b.png' });
    expect(parseProjectFileUrl(projectFileUrl({ artifactId: 9 }))).toEqual({ artifactId: 9 });
    expect(parseProjectFileUrl('vetbench-file://artifact/0')).toBeNull();
    expect(parseProjectFileUrl('app://vetbench/index.html')).toBeNull();
    expect(parseProjectFileUrl('vetbench-file://dataset/3/%E0%A4%A')).toBeNull();
    // Real paths: a regular file inside the root; a symlink out of it, a folder or a missing file is refused.
    const d = mkdtempSync(join(tmpdir(), 'vetbench-dataset-'));
    const outside = mkdtempSync(join(tmpdir(), 'vetbench-outside-'));
    mkdirSync(join(d, 'train', 'cat'), { recursive: true });
    writeFileSync(join(d, 'train', 'cat', '1.png'), 'x');
    writeFileSync(join(outside, 'secret.png'), 'x');
    symlinkSync(join(outside, 'secret.png'), join(d, 'train', 'cat', 'link.png'));
    symlinkSync(outside, join(d, 'escape'));
    const real = realpathSync(d);
    expect(datasetImagePath(d, 'train/cat/1.png')).toBe(join(real, 'train', 'cat', '1.png'));
    expect(datasetImagePath(d, '../secret.png')).toBeNull();
    expect(datasetImagePath(d, 'train/cat/link.png')).toBeNull();
    expect(datasetImagePath(d, 'escape/secret.png')).toBeNull();
    expect(datasetImagePath(d, 'train')).toBeNull();
    expect(datasetImagePath(d, 'train/cat/2.png')).toBeNull();
  });

  it('has a CSP without eval, inline code or remote sources', () => {
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-(eval|inline)|https?:|\*/);
    const meta = readFileSync(join(root, 'renderer', 'index.html'), 'utf8');
    expect(meta).toContain("script-src 'self'");
    expect(meta).not.toMatch(/unsafe-(eval|inline)/);
  });

  it('preload channel names equal the contract (the sandboxed preload cannot import them)', () => {
    const preload = readFileSync(join(root, 'electron', 'app', 'preload.cts'), 'utf8');
    expect(preload).toContain(`const CHANNEL_PREFIX = '${IPC_CHANNEL_PREFIX}';`);
    expect(preload).toContain(`const EVENT_CHANNEL = '${IPC_EVENT_CHANNEL}';`);
    expect(preload).toContain(`const PICK_CHANNEL = '${PICK_PATH_CHANNEL}';`);
    expect(preload).toContain(`const OPEN_ARTIFACT_CHANNEL = '${OPEN_ARTIFACT_CHANNEL}';`);
    // openArtifact sends an id only, never a path.
    expect(preload).toMatch(/invoke\(OPEN_ARTIFACT_CHANNEL, \{\s*artifactId: Number\(artifactId\),?\s*\}\)/);
    // Only `electron` is required at run time; everything else is a type import.
    const runtimeImports = [...preload.matchAll(/^import (?!type )[^\n]*$/gm)].map((m) => m[0]);
    expect(runtimeImports).toEqual(["import electron = require('electron');"]);
  });
});
