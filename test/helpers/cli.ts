import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const run = promisify(execFile);
export const VETBENCH_BIN = new URL('../../bin/vetbench.js', import.meta.url).pathname;
/** Runs the CLI records go to a throwaway project of this test process, never the user's default one. */
export const TEST_DATA_HOME = mkdtempSync(join(tmpdir(), 'vetbench-test-data-'));

/** `vetbench <args>` as a child process (the built dist/), with its exit code and output instead of a throw. */
export function cliRunner(
  options: { readonly timeoutMs?: number } = {},
): (args: string[], env?: Record<string, string>) => Promise<CliResult> {
  return async (args, env = {}) => {
    try {
      const { stdout, stderr } = await run('node', [VETBENCH_BIN, ...args], {
        timeout: options.timeoutMs ?? 120_000,
        env: { ...process.env, XDG_DATA_HOME: TEST_DATA_HOME, ...env },
      });
      return { code: 0, stdout, stderr };
    } catch (e) {
      const err = e as CliResult;
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  };
}
