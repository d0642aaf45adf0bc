import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { distBlocker } from '../../electron/app/dist-preflight.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const builderConfig = readFileSync(join(root, 'electron-builder.yml'), 'utf8');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  devDependencies: Record<string, string>;
  allowScripts: Record<string, boolean>;
};

/** The value of `key:` inside the top-level `section:` block of the YAML config. */
function setting(section: string, key: string): string | undefined {
  const block = new RegExp(`^${section}:\\n((?:[ ]+.*\\n)+)`, 'm').exec(builderConfig)?.[1] ?? '';
  return new RegExp(`^\\s+${key}:\\s*(\\S+)`, 'm').exec(block)?.[1];
}

describe('desktop packaging (npm run dist)', () => {
  it('sets the Electron fuses in the electron-builder config', () => {
    expect(setting('electronFuses', 'runAsNode')).toBe('false');
    expect(setting('electronFuses', 'enableNodeOptionsEnvironmentVariable')).toBe('false');
    expect(setting('electronFuses', 'enableNodeCliInspectArguments')).toBe('false');
    expect(setting('electronFuses', 'enableEmbeddedAsarIntegrityValidation')).toBe('true');
    expect(setting('electronFuses', 'onlyLoadAppFromAsar')).toBe('true');
    expect(setting('electronFuses', 'enableCookieEncryption')).toBe('true');
    expect(builderConfig).toMatch(/^electronDist: node_modules\/electron\/dist$/m);
  });

  it('has a dist script behind a preflight, electron-builder as a dev dependency, no install-time downloads', () => {
    expect(pkg.scripts.dist).toMatch(
      /dist-preflight\.js && electron-builder --config electron-builder\.yml$/,
    );
    expect(pkg.devDependencies['electron-builder']).toBeDefined();
    expect(pkg.allowScripts.electron).toBe(false);
    expect(pkg.allowScripts['electron-winstaller']).toBe(false);
  });

  it('stops with one line when the Electron binary, its folder or a recent enough Node is missing', () => {
    const missing = distBlocker(
      { found: false, reason: "Electron's binary is not installed" },
      '22.12.0',
      root,
    );
    expect(missing).toMatch(/^Electron's binary is not installed; packaging needs it$/);
    const here = mkdtempSync(join(tmpdir(), 'vetbench-dist-'));
    const binary = { found: true as const, path: join(here, 'electron') };
    expect(distBlocker(binary, '22.12.0', join(here, 'absent'))).toMatch(
      /node_modules\/electron\/dist is missing/,
    );
    expect(distBlocker(binary, '20.19.0', here)).toMatch(
      /needs Node 22\.12 or newer.*this is Node 20\.19\.0/,
    );
    expect(distBlocker(binary, '22.12.0', here)).toBeNull();
    for (const reason of [missing, distBlocker(binary, '20.19.0', here)]) expect(reason).not.toContain('\n');
  });
});
