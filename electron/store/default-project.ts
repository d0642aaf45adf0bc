import { homedir } from 'node:os';
import { join } from 'node:path';

/** The per-user data folder: XDG_DATA_HOME (Linux), APPDATA (Windows), Application Support (macOS). */
export function userDataFolder(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Vetbench');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Vetbench');
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'vetbench');
}

/** The project used when no --project is given. */
export function defaultProjectPath(
  env: NodeJS.ProcessEnv = process.env,
  platform = process.platform,
): string {
  return join(userDataFolder(env, platform), 'default.vbproj');
}
