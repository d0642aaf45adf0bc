// electron-builder afterPack hook (electron-builder.yml): flips the Electron fuses in the packaged binary with
// @electron/fuses, Electron's own tool for it. electron-builder 26 can do this from its config, but it needs
// Node >= 22.12 for its rebuild tooling; this hook gives the same fuses with electron-builder 25 on Node 20.
// The settings live in build/electron-fuses.json, which test/electron-app/packaging.test.ts checks.
const path = require('node:path');
const { flipFuses, FuseVersion, FuseV1Options } = require('@electron/fuses');
const settings = require('./electron-fuses.json');

const OPTION = {
  runAsNode: FuseV1Options.RunAsNode,
  enableCookieEncryption: FuseV1Options.EnableCookieEncryption,
  enableNodeOptionsEnvironmentVariable: FuseV1Options.EnableNodeOptionsEnvironmentVariable,
  enableNodeCliInspectArguments: FuseV1Options.EnableNodeCliInspectArguments,
  enableEmbeddedAsarIntegrityValidation: FuseV1Options.EnableEmbeddedAsarIntegrityValidation,
  onlyLoadAppFromAsar: FuseV1Options.OnlyLoadAppFromAsar,
  grantFileProtocolExtraPrivileges: FuseV1Options.GrantFileProtocolExtraPrivileges,
};

/** The packaged Electron executable of each platform electron-builder builds for. */
function executable(context) {
  const name = context.packager.appInfo.productFilename;
  switch (context.electronPlatformName) {
    case 'darwin':
    case 'mas':
      return path.join(context.appOutDir, `${name}.app`);
    case 'win32':
      return path.join(context.appOutDir, `${name}.exe`);
    default:
      return path.join(context.appOutDir, context.packager.executableName);
  }
}

exports.default = async function afterPack(context) {
  const fuses = {
    version: FuseVersion.V1,
    resetAdHocDarwinSignature: context.electronPlatformName === 'darwin',
  };
  for (const [key, value] of Object.entries(settings)) {
    if (!(key in OPTION)) throw new Error(`build/electron-fuses.json: unknown fuse '${key}'`);
    fuses[OPTION[key]] = value;
  }
  await flipFuses(executable(context), fuses);
};
