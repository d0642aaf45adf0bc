import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
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

describe('desktop packaging (npm run dist)', () => {
  it('sets the Electron fuses after packing (afterPack hook with @electron/fuses)', async () => {
    expect(builderConfig).toMatch(/^afterPack: build\/after-pack\.cjs$/m);
    expect(builderConfig).toMatch(/^electronDist: node_modules\/electron\/dist$/m);
    expect(JSON.parse(readFileSync(join(root, 'build', 'electron-fuses.json'), 'utf8'))).toEqual({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      enableCookieEncryption: true,
      grantFileProtocolExtraPrivileges: false,
    });
    // The hook flips exactly those fuses on the packaged executable (flipFuses stubbed: no binary here).
    const require = createRequire(import.meta.url);
    const fuses = require('@electron/fuses') as typeof import('@electron/fuses');
    const calls: [string, Record<string, unknown>][] = [];
    const real = fuses.flipFuses;
    (fuses as { flipFuses: unknown }).flipFuses = async (file: string, config: Record<string, unknown>) => {
      calls.push([file, config]);
      return 0;
    };
    try {
      const hook = require(join(root, 'build', 'after-pack.cjs')) as {
        default: (context: unknown) => Promise<void>;
      };
      await hook.default({
        electronPlatformName: 'linux',
        appOutDir: '/out',
        packager: { appInfo: { productFilename: 'Vetbench' }, executableName: 'vetbench' },
      });
    } finally {
      (fuses as { flipFuses: unknown }).flipFuses = real;
    }
    expect(calls).toHaveLength(1);
    const [file, config] = calls[0]!;
    expect(file).toBe(join('/out', 'vetbench'));
    const O = fuses.FuseV1Options;
    expect(config[O.RunAsNode]).toBe(false);
    expect(config[O.EnableNodeOptionsEnvironmentVariable]).toBe(false);
    expect(config[O.EnableNodeCliInspectArguments]).toBe(false);
    expect(config[O.EnableEmbeddedAsarIntegrityValidation]).toBe(true);
    expect(config[O.OnlyLoadAppFromAsar]).toBe(true);
    expect(config[O.EnableCookieEncryption]).toBe(true);
    expect(config[O.GrantFileProtocolExtraPrivileges]).toBe(false);
  });

  it('has a dist script behind a preflight, electron-builder as a dev dependency, no install-time downloads', () => {
    expect(pkg.scripts.dist).toMatch(
      /dist-preflight\.js && electron-builder --config electron-builder\.yml$/,
    );
    expect(pkg.devDependencies['electron-builder']).toBeDefined();
    expect(pkg.allowScripts.electron).toBe(false);
    expect(pkg.allowScripts['electron-winstaller']).toBe(false);
  });

  it('stops with one line when the Electron binary or its folder is missing', () => {
    const missing = distBlocker({ found: false, reason: "Electron's binary is not installed" }, root);
    expect(missing).toMatch(/^Electron's binary is not installed; packaging needs it$/);
    const here = mkdtempSync(join(tmpdir(), 'vetbench-dist-'));
    const binary = { found: true as const, path: join(here, 'electron') };
    const noFolder = distBlocker(binary, join(here, 'absent'));
    expect(noFolder).toMatch(/node_modules\/electron\/dist is missing/);
    expect(distBlocker(binary, here)).toBeNull();
    for (const reason of [missing, noFolder]) expect(reason).not.toContain('\n');
  });
});
