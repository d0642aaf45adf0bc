import { spawn } from 'node:child_process';

const WRAPPER = new URL('./with-max-rss.js', import.meta.url).pathname;

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  /** Stderr without the wrapper's RSS line. */
  readonly stderr: string;
  readonly maxRssBytes: number;
  readonly wallMs: number;
  readonly timedOut: boolean;
}

/** `vetbench <args>` as a child process with its peak RSS; killed after `timeoutMs` (then `timedOut`). */
export function runCli(
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<CliRun> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [WRAPPER, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const rss = /VETBENCH_MAX_RSS_KB=(\d+)\s*$/.exec(stderr);
      resolve({
        code,
        signal,
        stdout,
        stderr: stderr.replace(/\nVETBENCH_MAX_RSS_KB=\d+\s*$/, ''),
        maxRssBytes: rss ? Number(rss[1]) * 1024 : Number.NaN,
        wallMs: Date.now() - started,
        timedOut,
      });
    });
  });
}
